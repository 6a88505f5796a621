"""Shared fixtures: tiny StoryHub projects built for real in a temporary folder."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lxml.html
import pytest
import yaml
from mkdocs.commands.build import build
from mkdocs.config import load_config
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import Abort, PluginError

os.environ.setdefault("NO_MKDOCS_2_WARNING", "true")

TEAMS = [
    {"id": "marketing", "name": "Marketing", "color": "#9c2b00", "owners": ["@acme/mkt"],
     "contact": "mkt@example.com", "description": "Brand and campaigns."},
    {"id": "support", "name": "Customer Support", "color": "#00695c", "owners": ["@acme/support"],
     "contact": "support@example.com", "description": "Helps customers."},
    {"id": "hr", "name": "People & HR", "color": "#6a1b9a", "owners": ["@acme/hr"],
     "contact": "hr@example.com", "description": "Hiring and culture."},
    {"id": "finance", "name": "Finance", "color": "#37474f", "owners": ["@acme/finance"],
     "contact": "fin@example.com", "description": "Numbers."},
]
KPIS = [
    {"id": "nps", "name": "Net Promoter Score", "owner": "marketing", "unit": "points",
     "better": "up", "description": "Would customers recommend us."},
    {"id": "csat", "name": "Customer satisfaction", "owner": "support", "unit": "%",
     "better": "up", "description": "Happy after a ticket."},
    {"id": "ticket-volume", "name": "Ticket volume", "owner": "support", "unit": "count",
     "better": "down", "description": "Tickets per week."},
    {"id": "turnover", "name": "Employee turnover", "owner": "hr", "unit": "%",
     "better": "down", "description": "People who leave per year."},
    {"id": "cpa", "name": "Cost per acquisition", "owner": "finance", "unit": "EUR",
     "better": "down", "description": "Spend per new customer."},
]
AUTHORS = [
    {"id": "ana", "name": "Ana Lima", "team": "marketing", "title": "Content lead"},
    {"id": "ben", "name": "Ben Okafor", "team": "support", "title": "Support manager"},
    {"id": "chloe", "name": "Chloe Martin", "team": "hr", "title": "HR business partner"},
]
CAMPAIGNS = [
    {"id": "spring", "name": "Spring launch", "owner": "marketing", "briefing": "2026-02-01",
     "launch": "2026-03-01", "end": "2026-05-31", "audience": "customers",
     "description": "The spring product launch."},
]
NEWSLETTERS = [
    {"id": "support-digest", "title": "Support digest", "description": "Support news.",
     "teams": ["support"], "kpis": ["csat"], "campaigns": [], "cadence": "weekly"},
]

SITE_URL = "https://intranet.example.com/stories/"
MKDOCS_YML = """\
site_name: Test Stories
site_url: """ + SITE_URL + """
theme:
  name: material
  font: false
plugins:
  - storyhub:
      timezone: Europe/Berlin
      cache_dir: {cache_dir}
{extra_plugin}
"""


def story_text(title: str = "A story", date: str = "2026-03-02", authors: Any = ("ana",),
               body: str = "First paragraph of the story.\n\nSecond paragraph.", **keys: Any) -> str:
    """Front matter plus body, keys given as Python values."""
    data: dict[str, Any] = {"title": title, "date": date, "authors": list(authors)}
    data.update(keys)
    front = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    return f"---\n{front}---\n{body}\n"


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under `folder` by relative path, with the sha256 of its bytes."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def differences(first: Path, second: Path) -> list[str]:
    """Relative paths of the files that differ between two folders (or exist in one only)."""
    a, b = snapshot(first), snapshot(second)
    return sorted(name for name in a.keys() | b.keys() if a.get(name) != b.get(name))


@dataclass
class Built:
    site: Path
    plugin: Any = None  # the StoryHub plugin instance that built the site

    def path(self, url: str) -> Path:
        target = self.site / url.strip("/")
        return target / "index.html" if not url or url.endswith("/") else target

    def exists(self, url: str) -> bool:
        return self.path(url).is_file()

    def html(self, url: str) -> Any:
        """The page at a site URL such as 'stories/my-slug/', parsed with lxml."""
        return lxml.html.fromstring(self.path(url).read_bytes())

    def text(self, url: str) -> str:
        return self.path(url).read_text("utf-8")


@dataclass
class Project:
    root: Path
    stories: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        (self.root / "docs").mkdir(parents=True, exist_ok=True)
        self.registry("teams", TEAMS)
        self.registry("kpis", KPIS)
        self.registry("authors", AUTHORS)
        self.registry("campaigns", CAMPAIGNS)
        self.registry("newsletters", NEWSLETTERS)
        self.config()

    def config(self, extra_plugin: str = "", text: str | None = None, **options: Any) -> None:
        """Write mkdocs.yml; `options` become extra storyhub plugin options."""
        # JSON is YAML, and unlike yaml.safe_dump it writes a scalar without a '...' end marker.
        extra = "".join(f"      {k}: {json.dumps(v)}\n" for k, v in options.items())
        body = text or MKDOCS_YML.format(cache_dir=self.root / ".cache", extra_plugin=extra_plugin)
        if extra:
            body = body.replace("      timezone: Europe/Berlin\n",
                                "      timezone: Europe/Berlin\n" + extra)
        (self.root / "mkdocs.yml").write_text(body, "utf-8")

    def registry(self, name: str, entries: Any) -> None:
        (self.root / "stories").mkdir(exist_ok=True)
        text = entries if isinstance(entries, str) else yaml.safe_dump(entries, sort_keys=False)
        (self.root / "stories" / f"{name}.yml").write_text(text, "utf-8")

    def add(self, relpath: str, text: str | bytes) -> Path:
        """Add a file under stories/, e.g. add('hr/2026-03-02-x.md', story_text(...))."""
        path = self.root / "stories" / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(textwrap.dedent(text) if text.startswith("\n") else text, "utf-8")
        return path

    def story(self, team: str, name: str, **keys: Any) -> Path:
        """Add a story `stories/<team>/<name>.md` built with story_text(**keys).

        The date defaults to the one in the file name.
        """
        keys.setdefault("date", name[:10])
        return self.add(f"{team}/{name}.md", story_text(**keys))

    def build(self, strict: bool = True, site_dir: Path | None = None,
              dirty: bool = False) -> Built:
        site = site_dir or self.root / "site"
        config = load_config(str(self.root / "mkdocs.yml"), strict=strict, site_dir=str(site))
        config.plugins.on_startup(command="build", dirty=dirty)
        try:
            build(config, dirty=dirty)
        finally:
            config.plugins.on_shutdown()
        return Built(site, config.plugins.get("storyhub"))

    def build_error(self) -> str:
        """Build, expecting it to fail; return what MkDocs logged as errors."""
        errors: list[str] = []
        handler = logging.Handler(logging.ERROR)
        handler.emit = lambda record: errors.append(record.getMessage())  # type: ignore[method-assign]
        logging.getLogger("mkdocs").addHandler(handler)
        try:
            with pytest.raises((PluginError, Abort)) as info:
                self.build()
        finally:
            logging.getLogger("mkdocs").removeHandler(handler)
        return "\n".join([*errors, str(info.value)])


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path / "project")


class WarningGuard(logging.Handler):
    """Fails a test on any warning it did not declare with `expect`."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []
        self.expected: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        # Errors end a build and are asserted by the tests that expect them.
        if record.levelno == logging.WARNING:
            self.records.append(record)

    def expect(self, fragment: str) -> None:
        self.expected.append(fragment)

    def unexpected(self) -> list[str]:
        messages = [r.getMessage() for r in self.records]
        return [m for m in messages if not any(e in m for e in self.expected)]


@contextmanager
def guarding_warnings() -> Iterator[WarningGuard]:
    """Watch MkDocs' log for the block; fail if it logged a warning nobody expected."""
    guard = WarningGuard()
    logger = logging.getLogger("mkdocs")
    logger.addHandler(guard)
    try:
        yield guard
    finally:
        logger.removeHandler(guard)
    leftover = guard.unexpected()
    if leftover:
        pytest.fail("unexpected warnings:\n" + "\n".join(leftover))


@pytest.fixture(autouse=True)
def warnings_guard() -> Iterator[WarningGuard]:
    with guarding_warnings() as guard:
        yield guard


def new_mkdocs_process() -> None:
    """Forget the plugin instance MkDocs keeps for `mkdocs serve`, as a new process would."""
    dict(MkDocsConfig._schema)["plugins"].plugin_cache.clear()
