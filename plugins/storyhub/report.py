"""Problems as text for people and as annotations for GitHub Actions."""

from __future__ import annotations

from collections.abc import Iterable

from .model import Problem


def ordered(problems: Iterable[Problem]) -> list[Problem]:
    """By file, then line: the order in which someone fixes them."""
    return sorted(problems, key=lambda p: (p.path, p.line))


def build_failure(problems: Iterable[Problem]) -> str:
    """The error that stops a build: every error, by file and line like `storyhub check`,
    whichever check found it."""
    errors = ordered(p for p in problems if p.severity == "error")
    lines = [f"StoryHub found {len(errors)} problem(s) in the stories; nothing was built:"]
    return "\n".join([*lines, *(f"  {p}" for p in errors)])


def as_text(problem: Problem) -> str:
    """`path:line: message (hint)`, with warnings marked so they are not mistaken for errors."""
    if problem.severity == "warning":
        hint = f" ({problem.hint})" if problem.hint else ""
        return f"{problem.path}:{problem.line}: warning: {problem.message}{hint}"
    return str(problem)


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def as_github(problem: Problem) -> str:
    """A GitHub Actions workflow command that annotates the line in the pull request."""
    level = "warning" if problem.severity == "warning" else "error"
    message = problem.message + (f" ({problem.hint})" if problem.hint else "")
    return (f"::{level} file={_escape_property(problem.path)},line={problem.line},"
            f"title=StoryHub::{_escape_data(message)}")


def summary(problems: list[Problem], stories: int, scoped: bool = False) -> str:
    """The last line of `storyhub check`; `scoped` when only some files' problems are shown."""
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    if not problems:
        where = "the given files" if scoped else f"{stories} {'story' if stories == 1 else 'stories'}"
        return f"No problems in {where} and the registries."
    counts = [_count(n, noun) for n, noun in ((errors, "error"), (warnings, "warning")) if n]
    return ", ".join(counts) + "."


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")
