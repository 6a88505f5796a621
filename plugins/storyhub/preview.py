"""What `mkdocs serve` shows while the input has errors: the rest of the site, and the problems.

`mkdocs build` stops at the first invalid input. A preview must not: a contributor in the
middle of an edit needs the list of mistakes in the page they are looking at, and needs the
site back the moment the mistakes are fixed, without restarting anything.
"""

from __future__ import annotations

import jinja2

from .model import Problem, Registry, Story
from .report import ordered
from .validate import Validated


def usable(checked: Validated, registry_files: set[str]) -> tuple[Registry, list[Story]]:
    """The part of the input that can be shown: every story without errors, or nothing when a
    registry has errors, because then ids and cross-references cannot be trusted."""
    errors = checked.errors
    if any(p.path in registry_files for p in errors):
        return Registry(), []
    broken = {p.path for p in errors}
    return checked.registry, [s for s in checked.stories if s.path not in broken]


def log_text(errors: list[Problem]) -> str:
    lines = [f"StoryHub found {len(errors)} problem(s); the preview shows them on every page and "
             "leaves the stories concerned out until they are fixed:"]
    return "\n".join([*lines, *(f"  {p}" for p in ordered(errors))])


def banner(env: jinja2.Environment, problems: list[Problem], guide_url: str) -> str:
    """The problem list shown at the top of every page of the preview."""
    return env.get_template("problems.html").render(
        problems=ordered(problems), errors=sum(p.severity == "error" for p in problems),
        guide_url=guide_url,
    )
