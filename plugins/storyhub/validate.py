"""Every rule about registries and stories, shared by the build and `storyhub check`.

Each function returns problems instead of raising, so that all mistakes of all files
can be shown at once.
"""

from __future__ import annotations

import difflib
import functools
import html
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, tzinfo
from pathlib import Path
from typing import Any

from .load import Entry, Loaded, StorySource
from .model import Author, Campaign, Credit, ImageRef, Kpi, Newsletter, Problem, Registry, Story, Team

ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
FILE_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})-(.+)\.md$")
COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
# KPI pages live at /kpis/<id>/, beside the generated /kpis/connections/ matrix.
RESERVED_KPI_IDS = ("connections",)
MAX_TITLE = 200
STORY_KEYS = (
    "title", "date", "team", "authors", "kpis", "featuring", "inspired_by", "campaign",
    "audience", "results", "summary", "cover", "cover_alt", "tags", "featured", "draft", "slug",
)
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif")


@dataclass
class Validated:
    registry: Registry
    stories: list[Story]
    problems: list[Problem]
    # Every image a story names (also those of stories with errors), for `images.check`.
    images: list[ImageRef] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]


def shown(value: str) -> str:
    """A value as problems print it: invisible characters (U+200B, U+202E...) escaped.

    An RTL override printed as-is would reverse the rest of the message in a terminal.
    """
    return "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in value)


def _odd_characters(value: str) -> str:
    """A note naming the first characters of an id that are not plain ASCII, or ''."""
    odd = list(dict.fromkeys(c for c in value if not (c.isascii() and c.isprintable())))[:2]
    if not odd:
        return ""
    names = ", ".join(f"U+{ord(c):04X} {unicodedata.name(c, 'unnamed character')}" for c in odd)
    return f" It contains {names}; ids use only a-z, 0-9 and '-'."


def suggest(value: str, known: Iterable[str]) -> str:
    """A hint naming the closest known id, or listing the known ids."""
    known = list(known)
    # Full-width letters and invisible characters look like the id they imitate.
    plain = "".join(c for c in unicodedata.normalize("NFKC", value)
                    if c.isprintable() and not c.isspace()).casefold()
    close = [plain] if plain in known else difflib.get_close_matches(plain, known, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?{_odd_characters(value)}"
    # Part of an id, as people type it: 'nadia' for 'nadia-karimi', 'volume' for 'ticket-volume'.
    partial = [k for k in known if plain and (k.startswith(plain) or plain in k.split("-"))]
    if 0 < len(partial) <= 3:
        options = " or ".join(f"'{k}'" for k in partial)
        return f"did you mean {options}?{_odd_characters(value)}"
    listed = ", ".join(known[:12]) + (", ..." if len(known) > 12 else "")
    hint = f"known ids: {listed}" if known else "the registry is empty"
    return hint + ("." + _odd_characters(value) if _odd_characters(value) else "")


def parse_when(value: Any, tz: tzinfo) -> datetime | None:
    """A front-matter date or datetime, made timezone-aware with `tz` when naive."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time())
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    else:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)


def parse_day(value: Any) -> date | None:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


SUMMARY_LIMIT = 600


def summary_of(entry: Entry) -> str | None:
    """A story's summary as `build_story` reads it, without its problems."""
    return _Checker(entry, []).text("summary", limit=SUMMARY_LIMIT) or None


class _Checker:
    """Collects problems while reading typed values out of one Entry."""

    def __init__(self, entry: Entry, problems: list[Problem]):
        self.entry = entry
        self.problems = problems

    def add(self, key: str, message: str, hint: str = "", severity: str = "error") -> None:
        self.problems.append(
            Problem(self.entry.path, self.entry.line_of(key), message, hint, severity)
        )

    def text(self, key: str, required: bool = False, limit: int = 2000) -> str:
        value = self.entry.data.get(key)
        if value is None or value == "":
            if required:
                self.problems.append(Problem(
                    self.entry.path, self.entry.line, f"missing required key '{key}'",
                    f"add '{key}: ...'",
                ))
            return ""
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.add(key, f"'{key}' must be text", f"write '{key}: some text'")
            return ""
        text = str(value).strip()
        if len(text) > limit:
            self.add(key, f"'{key}' is {len(text)} characters long, over {limit}", "shorten it")
            return text[:limit]
        return text

    def words(self, key: str) -> tuple[str, ...]:
        value = self.entry.data.get(key)
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(
            isinstance(v, str | int) and not isinstance(v, bool) for v in value
        ):
            self.add(key, f"'{key}' must be a list of ids", f"write '{key}: [first, second]'")
            return ()
        return tuple(str(v).strip() for v in value)

    def ids(self, key: str, known: dict[str, Any], kind: str, registry_file: str) -> tuple[str, ...]:
        found = []
        for index, value in enumerate(self.words(key)):
            if value in known:
                if value not in found:
                    found.append(value)
            else:
                self.problems.append(Problem(
                    self.entry.path, self.entry.key_lines.get(f"{key}[{index}]", self.entry.line_of(key)),
                    f"unknown {kind} '{shown(value)}'",
                    f"{suggest(value, known)} Known {kind}s are listed in {registry_file}",
                ))
        return tuple(found)

    def one_id(self, key: str, known: dict[str, Any], kind: str, registry_file: str) -> str | None:
        value = self.text(key)
        if not value:
            return None
        if value not in known:
            self.add(key, f"unknown {kind} '{shown(value)}'",
                     f"{suggest(value, known)} Known {kind}s are listed in {registry_file}")
            return None
        return value

    def flag(self, key: str) -> bool:
        value = self.entry.data.get(key, False)
        if not isinstance(value, bool):
            self.add(key, f"'{key}' must be true or false", f"write '{key}: true'")
            return False
        return value


def _ids_of(entries: list[Entry], kind: str, problems: list[Problem]) -> list[tuple[str, Entry]]:
    seen: dict[str, Entry] = {}
    result = []
    for entry in entries:
        value = entry.data.get("id")
        if not isinstance(value, str) or not ID_RE.match(value):
            problems.append(Problem(
                entry.path, entry.line_of("id"), f"{kind} id {value!r} is missing or not a valid id",
                "use lowercase letters, digits and hyphens, e.g. 'customer-support'"
                + ("." + _odd_characters(value) if isinstance(value, str) and _odd_characters(value)
                   else ""),
            ))
            continue
        if value in seen:
            problems.append(Problem(
                entry.path, entry.line_of("id"), f"duplicate {kind} id '{value}'",
                f"it is already defined on line {seen[value].line_of('id')}",
            ))
            continue
        seen[value] = entry
        result.append((value, entry))
    return result


def build_registry(entries: dict[str, list[Entry]]) -> tuple[Registry, list[Problem]]:
    """Turn registry entries into typed records, checking every cross-reference."""
    problems: list[Problem] = []
    teams: dict[str, Team] = {}
    for team_id, entry in _ids_of(entries.get("teams", []), "team", problems):
        c = _Checker(entry, problems)
        color = c.text("color") or "#3f51b5"
        if not COLOR_RE.match(color):
            c.add("color", f"color {color!r} is not a hex colour", "write it like '#1e6fd9'")
            color = "#3f51b5"
        teams[team_id] = Team(team_id, c.text("name", required=True) or team_id, c.text("description"),
                              color, c.words("owners"), c.text("contact"))
    kpis: dict[str, Kpi] = {}
    for kpi_id, entry in _ids_of(entries.get("kpis", []), "KPI", problems):
        c = _Checker(entry, problems)
        owner = c.one_id("owner", teams, "team", "stories/teams.yml")
        if "owner" not in entry.data:
            c.add("id", f"KPI '{kpi_id}' has no owner", "add 'owner: <team id>'")
        if kpi_id in RESERVED_KPI_IDS:
            c.add("id", f"KPI id '{kpi_id}' is reserved for the page /kpis/{kpi_id}/",
                  "choose another id, e.g. 'kpi-connections'")
        better = c.text("better") or "up"
        if better not in ("up", "down"):
            c.add("better", f"better must be 'up' or 'down', not {better!r}", "write 'better: up'")
            better = "up"
        kpis[kpi_id] = Kpi(kpi_id, c.text("name", required=True) or kpi_id, owner or "",
                           c.text("description"), c.text("unit"), better)
    authors: dict[str, Author] = {}
    for author_id, entry in _ids_of(entries.get("authors", []), "author", problems):
        c = _Checker(entry, problems)
        team = c.one_id("team", teams, "team", "stories/teams.yml") or ""
        authors[author_id] = Author(author_id, c.text("name", required=True) or author_id, team,
                                    c.text("title"), c.text("avatar"))
    campaigns: dict[str, Campaign] = {}
    for campaign_id, entry in _ids_of(entries.get("campaigns", []), "campaign", problems):
        c = _Checker(entry, problems)
        days = {}
        for key in ("briefing", "launch", "end"):
            raw = entry.data.get(key)
            days[key] = parse_day(raw) if raw is not None else None
            if raw is not None and days[key] is None:
                c.add(key, f"{key} {raw!r} is not a valid date", "write it as YYYY-MM-DD")
        ordered = [d for d in (days["briefing"], days["launch"], days["end"]) if d]
        if ordered != sorted(ordered):
            c.add("launch", "campaign dates are out of order", "briefing <= launch <= end")
        campaigns[campaign_id] = Campaign(
            campaign_id, c.text("name", required=True) or campaign_id,
            c.one_id("owner", teams, "team", "stories/teams.yml") or "",
            days["briefing"], days["launch"], days["end"], c.text("audience"), c.text("description"),
        )
    newsletters: dict[str, Newsletter] = {}
    for letter_id, entry in _ids_of(entries.get("newsletters", []), "newsletter", problems):
        c = _Checker(entry, problems)
        cadence = c.text("cadence") or "monthly"
        if cadence not in ("weekly", "monthly"):
            c.add("cadence", f"cadence must be 'weekly' or 'monthly', not {cadence!r}",
                  "write 'cadence: monthly'")
            cadence = "monthly"
        newsletters[letter_id] = Newsletter(
            letter_id, c.text("title", required=True) or letter_id, c.text("description"),
            c.ids("teams", teams, "team", "stories/teams.yml"),
            c.ids("kpis", kpis, "KPI", "stories/kpis.yml"),
            c.ids("campaigns", campaigns, "campaign", "stories/campaigns.yml"),
            cadence,
        )
    return Registry(teams, kpis, authors, campaigns, newsletters), problems


def resolve_image(value: str, story_dir: Path, stories_dir: Path,
                  root: Path) -> tuple[str | None, str, str]:
    """An image path relative to the story, resolved to a path relative to `root`.

    Returns (path, "", "") or (None, message, hint) when the path may not be published:
    absolute, leaving stories/, a symbolic link, missing or not an image.
    """
    if value.startswith(("/", "\\")) or re.match(r"^[a-zA-Z]:", value) or "://" in value:
        return None, f"image path {value!r} must be relative to the story", \
            "put the image in the team's images/ folder and write 'images/name.jpg'"
    target = story_dir / value
    try:
        resolved = target.resolve(strict=False)
        resolved.relative_to(stories_dir.resolve())
    except (ValueError, OSError):
        return None, f"image path {value!r} leaves the stories folder", \
            "keep images inside stories/<team>/images/"
    if any(part.is_symlink() for part in [target, *target.parents] if part != stories_dir
           and stories_dir in part.parents):
        return None, f"image {value!r} is a symbolic link", "copy the image file in instead"
    if not target.is_file():
        return None, f"image {value!r} does not exist", \
            f"add the file at {target.relative_to(root)}" if root in target.parents \
            else "check the path"
    if target.suffix.lower() not in IMAGE_SUFFIXES:
        return None, f"image {value!r} is not a supported format", \
            "use a .jpg, .png, .webp or .gif image"
    return resolved.relative_to(root.resolve()).as_posix(), "", ""


def _image(c: _Checker, key: str, value: str, story_dir: Path, stories_dir: Path,
           root: Path) -> str | None:
    """Check an image path relative to the story; return it relative to `root`."""
    path, message, hint = resolve_image(value, story_dir, stories_dir, root)
    if path is None:
        c.add(key, message, hint)
    return path


_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_CODE_SPAN = re.compile(r"(`+).*?\1")
_MD_IMAGE = re.compile(
    r"!\[(?P<alt>(?:[^\]\\]|\\.)*)\]\(\s*(?:<(?P<angled>[^>]*)>|(?P<plain>[^\s)]+))"
    r"(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^)]*\)))?\s*\)"
)
_HTML_IMG = re.compile(r"<img\b[^>]*>", re.I)
_HTML_ATTR = re.compile(r"""([a-zA-Z_:][-\w:.]*)\s*=\s*("[^"]*"|'[^']*'|[^\s"'>]+)""")
_REMOTE = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*:|//)")


# Remembered across the rebuilds of `mkdocs serve`, where only edited stories have new bodies
# (scanning every body took a tenth of a second of each rebuild at 2,000 stories).
@functools.lru_cache(maxsize=8192)
def body_images(body: str, first_line: int = 1) -> tuple[tuple[int, str, str | None], ...]:
    """(line, path, alt text or None) of every image in a Markdown body, outside code.

    Finds `![alt](path "title")` and `<img src=... alt=...>`; `first_line` is the file line
    of the body's first line.
    """
    found: list[tuple[int, str, str | None]] = []
    fence = ""
    for number, line in enumerate(body.splitlines(), start=first_line):
        opening = _FENCE.match(line)
        if fence:
            if opening and opening.group(1)[0] == fence[0] and len(opening.group(1)) >= len(fence):
                fence = ""
            continue
        if opening:
            fence = opening.group(1)
            continue
        text = _CODE_SPAN.sub("", line)
        for match in _MD_IMAGE.finditer(text):
            path = match.group("angled") if match.group("angled") is not None \
                else match.group("plain")
            found.append((number, path, match.group("alt")))
        for tag in _HTML_IMG.finditer(text):
            attrs = {k.lower(): v.strip("\"'") for k, v in _HTML_ATTR.findall(tag.group(0))}
            if "src" in attrs:
                found.append((number, html.unescape(attrs["src"]),
                              html.unescape(attrs["alt"]) if "alt" in attrs else None))
    return tuple(found)


def check_body_images(source: StorySource, story_dir: Path, stories_dir: Path,
                      root: Path) -> tuple[list[ImageRef], list[Problem]]:
    """Inline images of a story: each must be a file inside stories/ and have alt text."""
    refs: list[ImageRef] = []
    problems: list[Problem] = []
    where = source.entry.path
    for line, written, alt in body_images(source.body, source.body_line):
        if _REMOTE.match(written) or written.startswith("#"):
            continue  # remote images become links when the story is rendered
        if not alt or not alt.strip():
            problems.append(Problem(where, line, f"image {written!r} has no alt text",
                                    "describe what it shows: ![what the image shows](path)"))
        path_part = written.split("#", 1)[0].split("?", 1)[0]
        path, message, hint = resolve_image(path_part, story_dir, stories_dir, root)
        if path is None:
            problems.append(Problem(where, line, message, hint))
        else:
            refs.append(ImageRef(where, line, path, written))
    return refs, problems


def build_story(source: StorySource, registry: Registry, stories_dir: Path, root: Path,
                tz: tzinfo) -> tuple[Story | None, list[Problem]]:
    """Check one story against the rules and the registries."""
    problems: list[Problem] = []
    entry = source.entry
    c = _Checker(entry, problems)
    data = entry.data
    for key in data:
        if key not in STORY_KEYS:
            close = difflib.get_close_matches(key, STORY_KEYS, n=1)
            c.add(key, f"unknown front-matter key '{key}'",
                  f"did you mean '{close[0]}'?" if close else "remove it; it is ignored",
                  severity="warning")

    match = FILE_RE.match(source.file_name)
    if not match:
        problems.append(Problem(entry.path, 1, "file name must look like YYYY-MM-DD-slug.md",
                                "rename it, e.g. 2026-03-02-new-onboarding.md"))
    elif parse_day(match.group(1)) is None:
        problems.append(Problem(entry.path, 1, f"file name date {match.group(1)} is not a valid date",
                                "rename the file with the story's real date"))
    title = c.text("title", required=True, limit=MAX_TITLE)

    raw_date = data.get("date")
    when = None
    if raw_date is None:
        c.text("date", required=True)
    else:
        when = parse_when(raw_date, tz)
        if when is None:
            c.add("date", f"date {raw_date!r} is not a valid date",
                  "write it as YYYY-MM-DD or 'YYYY-MM-DD HH:MM:SS+01:00'")

    folder = source.team_folder
    team = folder
    if folder not in registry.teams:
        problems.append(Problem(entry.path, 1, f"folder '{shown(folder)}' is not a team id",
                                f"{suggest(folder, registry.teams)} Move the story to "
                                "stories/<team-id>/"))
        team = ""
    if "team" in data:
        given = c.text("team")
        if given and given != folder:
            c.add("team", f"team '{shown(given)}' disagrees with the folder '{folder}'",
                  f"move the file to stories/{given}/ or remove the 'team' key")

    authors: tuple[str, ...] = ()
    if not data.get("authors"):
        c.text("authors", required=True)
    else:
        authors = c.ids("authors", registry.authors, "author", "stories/authors.yml")
    kpis = c.ids("kpis", registry.kpis, "KPI", "stories/kpis.yml")
    featuring = tuple(t for t in c.ids("featuring", registry.teams, "team", "stories/teams.yml")
                      if t != team)
    campaign = c.one_id("campaign", registry.campaigns, "campaign", "stories/campaigns.yml")
    audience = c.text("audience", limit=60) or None

    credits: list[Credit] = []
    raw_credits = data.get("inspired_by") or []
    if not isinstance(raw_credits, list):
        c.add("inspired_by", "'inspired_by' must be a list",
              "write '- team: support' and '  note: ...' under it")
        raw_credits = []
    for index, item in enumerate(raw_credits):
        line = entry.key_lines.get(f"inspired_by[{index}]", entry.line_of("inspired_by"))
        if isinstance(item, str):
            item = {"team": item}
        if not isinstance(item, dict) or not isinstance(item.get("team"), str):
            problems.append(Problem(entry.path, line, "inspired_by entry needs a team",
                                    "write '- team: <team id>' with an optional 'note:'"))
            continue
        if item["team"] not in registry.teams:
            problems.append(Problem(entry.path, line, f"unknown team '{shown(item['team'])}' in inspired_by",
                                    f"{suggest(item['team'], registry.teams)} Known teams are listed "
                                    "in stories/teams.yml"))
            continue
        note = item.get("note", "")
        credits.append(Credit(item["team"], str(note).strip()[:500] if note else ""))

    results: list[tuple[str, str]] = []
    raw_results = data.get("results") or {}
    if not isinstance(raw_results, dict):
        c.add("results", "'results' must map KPI ids to outcomes", "write '  nps: NPS +6 in Q3'")
        raw_results = {}
    for kpi, outcome in raw_results.items():
        key = f"results.{kpi}"
        if str(kpi) not in registry.kpis:
            c.add(key, f"unknown KPI '{shown(str(kpi))}' in results",
                  f"{suggest(str(kpi), registry.kpis)} Known KPIs are listed in stories/kpis.yml")
            continue
        if str(kpi) not in kpis:
            c.add(key, f"result for KPI '{kpi}' which is not in the story's kpis",
                  f"add '{kpi}' to kpis")
        if not isinstance(outcome, str | int | float) or isinstance(outcome, bool):
            c.add(key, f"result for '{kpi}' must be text", f"write '{kpi}: NPS +6 in Q3'")
            continue
        results.append((str(kpi), str(outcome).strip()[:300]))

    cover = cover_alt = None
    if data.get("cover"):
        story_dir = stories_dir / folder
        cover = _image(c, "cover", c.text("cover"), story_dir, stories_dir, root)
        cover_alt = c.text("cover_alt", limit=300)
        if not cover_alt:
            c.add("cover", "cover has no cover_alt", "add 'cover_alt: what the image shows'")
    elif data.get("cover_alt"):
        c.add("cover_alt", "cover_alt without a cover", "add 'cover: images/...' or remove it",
              severity="warning")

    slug = c.text("slug")
    if not slug:
        if "slug" in data and isinstance(data["slug"], str | None) and match:
            # An empty `slug:` would otherwise leave the story without a URL, silently.
            c.add("slug", "slug is empty", f"the file name's '{match.group(2)}' is used; "
                  "write a slug or remove the line", severity="warning")
        slug = match.group(2) if match else ""
    if slug and not SLUG_RE.match(slug):
        c.add("slug" if "slug" in data else "title", f"slug {slug!r} is not a valid URL slug",
              "use lowercase letters, digits and single hyphens, e.g. 'new-onboarding'")
        slug = ""

    summary = c.text("summary", limit=SUMMARY_LIMIT) or None
    tags = tuple(t.lower() for t in c.words("tags"))
    featured = c.flag("featured")
    draft = c.flag("draft")

    if any(p.severity == "error" for p in problems) or when is None or not slug or not team:
        return None, problems
    return Story(
        path=entry.path, slug=slug, title=title, date=when, team=team, authors=authors,
        body=source.body, kpis=kpis, featuring=featuring, inspired_by=tuple(credits),
        campaign=campaign, audience=audience, results=tuple(results), summary=summary,
        cover=cover, cover_alt=cover_alt, tags=tags, featured=featured, draft=draft,
        body_line=source.body_line,
    ), problems


def slug_key(slug: str) -> str:
    return unicodedata.normalize("NFKC", slug).casefold()


def check_unique_slugs(stories: list[Story], lines: Callable[[Story], int]) -> list[Problem]:
    by_key: dict[str, list[Story]] = {}
    for story in stories:
        by_key.setdefault(slug_key(story.slug), []).append(story)
    problems = []
    for group in by_key.values():
        if len(group) > 1:
            for story in group:
                others = ", ".join(s.path for s in group if s is not story)
                problems.append(Problem(story.path, lines(story), f"duplicate slug '{story.slug}'",
                                        f"also used by {others}; set a different 'slug:'"))
    return problems


def story_images(source: StorySource, stories_dir: Path,
                 root: Path) -> tuple[list[ImageRef], list[Problem]]:
    """The cover (if its path is valid; build_story reports it otherwise) and inline images."""
    story_dir = stories_dir / source.team_folder
    refs, problems = check_body_images(source, story_dir, stories_dir, root)
    cover = source.entry.data.get("cover")
    if isinstance(cover, str) and cover.strip():
        path, _, _ = resolve_image(cover.strip(), story_dir, stories_dir, root)
        if path is not None:
            refs.insert(0, ImageRef(source.entry.path, source.entry.line_of("cover"), path,
                                    cover.strip(), "cover"))
    return refs, problems


class StoryMemo:
    """build_story's results for the story files that did not change, kept between the
    rebuilds of `mkdocs serve` (load.ParseMemo hands back the same StorySource for an
    unchanged file): checking 2,000 stories took a tenth of every rebuild.

    A result is reused while the registries, folders and timezone are equal to the last
    rebuild's and the story's cover resolves as it did: the cover is the only file
    build_story looks at.
    """

    def __init__(self) -> None:
        self.context: tuple[Any, ...] | None = None
        self.entries: dict[int, tuple[StorySource, Any, tuple[Story | None, list[Problem]]]] = {}

    def checker(self, registry: Registry, stories_dir: Path, root: Path,
                tz: tzinfo) -> Callable[[StorySource], tuple[Story | None, list[Problem]]]:
        """build_story for this rebuild, forgetting the files it is not asked about."""
        context = (registry, stories_dir, root, tz)
        last = self.entries if context == self.context else {}
        self.context, self.entries = context, {}

        def check(source: StorySource) -> tuple[Story | None, list[Problem]]:
            cover = source.entry.data.get("cover")
            state = resolve_image(cover.strip(), stories_dir / source.team_folder, stories_dir,
                                  root) if isinstance(cover, str) and cover.strip() else None
            known = last.get(id(source))
            if known is not None and known[0] is source and known[1] == state:
                result = known[2]
            else:
                result = build_story(source, registry, stories_dir, root, tz)
            self.entries[id(source)] = (source, state, result)
            return result[0], list(result[1])

        return check


def validate(loaded: Loaded, stories_dir: Path, root: Path, tz: tzinfo,
             memo: StoryMemo | None = None) -> Validated:
    """Check everything that was loaded; stories with errors are left out of `stories`.
    With `memo` (a preview's), unchanged story files are not checked again."""
    registry, problems = build_registry(loaded.registries)
    problems = loaded.problems + problems
    stories: list[Story] = []
    slug_lines: dict[str, int] = {}
    images: list[ImageRef] = []
    check = memo.checker(registry, stories_dir, root, tz) if memo is not None else \
        (lambda source: build_story(source, registry, stories_dir, root, tz))
    for source in loaded.stories:
        story, found = check(source)
        problems.extend(found)
        refs, found = story_images(source, stories_dir, root)
        images.extend(refs)
        problems.extend(found)
        if story is not None:
            stories.append(story)
            slug_lines[story.path] = source.entry.line_of("slug")
    problems.extend(check_unique_slugs(stories, lambda s: slug_lines.get(s.path, 1)))
    return Validated(registry, stories, problems, images)
