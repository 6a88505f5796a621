"""`storyhub new`: the file name, front matter and body template of a new story."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from . import validate
from .load import Loaded
from .model import Registry

MAX_SLUG = 60

BODY = """\
Start with one or two sentences: what happened, and why other teams should care. They become
the summary on cards and in feeds.

<!-- more -->

## What we did

Tell it in your own words, for colleagues who do not know your team's jargon.

## What changed

Which numbers moved, by how much and over what period? Link each KPI in `kpis` and put a
short outcome per KPI in `results`.

## Thanks

Credit the people and teams who helped, and add their team to `inspired_by` or `featuring`.
"""

# Optional keys, commented out, so contributors see what exists without opening the guide.
OPTIONAL_KEYS = """\
# Optional (remove the '# ' to use; ids are listed on the site's "Write a story" page):
# featuring: [other-team-id]
# inspired_by:
#   - team: other-team-id
#     note: What their work gave us.
# campaign: campaign-id
# results:
#   kpi-id: Short outcome, e.g. "NPS +6 in Q3"
# summary: One or two sentences for cards and feeds.
# cover: images/cover.jpg
# cover_alt: What the cover image shows
# tags: [word, another]
# audience: all
# draft: true
"""


class ScaffoldError(Exception):
    """The request cannot become a valid story: the message says what to change."""


@dataclass(frozen=True)
class NewStory:
    team: str
    title: str
    authors: tuple[str, ...]
    day: date
    kpis: tuple[str, ...] = ()
    slug: str = ""

    @property
    def file_slug(self) -> str:
        return self.slug or slugify(self.title)

    def relative_path(self) -> str:
        """Path under the stories folder: '<team>/<YYYY-MM-DD>-<slug>.md'."""
        return f"{self.team}/{self.day.isoformat()}-{self.file_slug}.md"


def slugify(title: str, limit: int = MAX_SLUG) -> str:
    """'Ça va: 10 tips!' -> 'ca-va-10-tips', cut at a word boundary."""
    ascii_text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(slug) > limit:
        slug = slug[:limit].rsplit("-", 1)[0] if "-" in slug[:limit] else slug[:limit]
    return slug


def id_problems(values: tuple[str, ...], known: Mapping[str, object], kind: str) -> list[str]:
    return [f"unknown {kind} '{value}' ({validate.suggest(value, known)})"
            for value in values if value not in known]


def check_request(story: NewStory, registry: Registry) -> list[str]:
    """Everything wrong with the request, each with a fix, before any file is written."""
    problems = id_problems((story.team,), registry.teams, "team")
    problems += id_problems(story.authors, registry.authors, "author")
    problems += id_problems(story.kpis, registry.kpis, "KPI")
    title = story.title.strip()
    if not title:
        problems.append("the title is empty (write a headline, e.g. --title \"Tickets became our blog\")")
    elif len(title) > validate.MAX_TITLE or "\n" in title:
        problems.append(f"the title must be one line of at most {validate.MAX_TITLE} characters")
    if not story.authors:
        problems.append("a story needs at least one author (--author <id>)")
    if not story.file_slug:
        problems.append("the title gives no URL slug (pass --slug, e.g. --slug new-onboarding)")
    elif not validate.SLUG_RE.match(story.file_slug):
        problems.append(f"slug '{story.file_slug}' is not a valid URL slug (use lowercase letters, "
                        "digits and single hyphens)")
    return problems


def existing_slugs(loaded: Loaded) -> dict[str, str]:
    """Slug -> path of every story on disk, valid or not, so `new` never makes a duplicate."""
    slugs = {}
    for source in loaded.stories:
        given = source.entry.data.get("slug")
        match = validate.FILE_RE.match(source.file_name)
        slug = given if isinstance(given, str) else match.group(2) if match else ""
        if slug:
            slugs[validate.slug_key(slug)] = source.entry.path
    return slugs


def story_text(story: NewStory) -> str:
    """Front matter with the required keys, the optional ones commented out, and a body template."""
    # JSON strings are valid YAML double-quoted scalars: any title is written safely.
    lines = [
        "---",
        f"title: {json.dumps(story.title.strip(), ensure_ascii=False)}",
        f"date: {story.day.isoformat()}",
        f"authors: [{', '.join(story.authors)}]",
    ]
    if story.kpis:
        lines.append(f"kpis: [{', '.join(story.kpis)}]")
    front = "\n".join(lines) + "\n" + OPTIONAL_KEYS + "---\n\n"
    return front + BODY


def write_story(story: NewStory, stories_dir: Path) -> Path:
    """Create the file; never overwrite one."""
    path = stories_dir / story.relative_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("x", encoding="utf-8", newline="\n") as handle:
            handle.write(story_text(story))
    except FileExistsError as error:
        shown = f"{stories_dir.name}/{story.relative_path()}"
        raise ScaffoldError(f"{shown} already exists; pick another title or pass --slug") from error
    return path
