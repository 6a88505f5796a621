"""The story model: plain, frozen data shared by every other module."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True)
class Team:
    id: str
    name: str
    description: str = ""
    color: str = "#3f51b5"
    owners: tuple[str, ...] = ()
    contact: str = ""


@dataclass(frozen=True)
class Kpi:
    id: str
    name: str
    owner: str
    description: str = ""
    unit: str = ""
    better: str = "up"


@dataclass(frozen=True)
class Author:
    id: str
    name: str
    team: str
    title: str = ""
    avatar: str = ""


@dataclass(frozen=True)
class Campaign:
    id: str
    name: str
    owner: str
    briefing: date | None = None
    launch: date | None = None
    end: date | None = None
    audience: str = ""
    description: str = ""


@dataclass(frozen=True)
class Newsletter:
    id: str
    title: str
    description: str = ""
    teams: tuple[str, ...] = ()
    kpis: tuple[str, ...] = ()
    campaigns: tuple[str, ...] = ()
    cadence: str = "monthly"


@dataclass(frozen=True)
class Registry:
    """Every registry of `stories/`, each keyed by id in file order."""

    teams: dict[str, Team] = field(default_factory=dict)
    kpis: dict[str, Kpi] = field(default_factory=dict)
    authors: dict[str, Author] = field(default_factory=dict)
    campaigns: dict[str, Campaign] = field(default_factory=dict)
    newsletters: dict[str, Newsletter] = field(default_factory=dict)


@dataclass(frozen=True)
class Credit:
    """An `inspired_by` entry: the team whose work inspired a story."""

    team: str
    note: str = ""


@dataclass(frozen=True)
class Story:
    path: str  # relative to the project folder, e.g. "stories/hr/2026-03-02-onboarding.md"
    slug: str
    title: str
    date: datetime  # always timezone-aware
    team: str
    authors: tuple[str, ...]
    body: str
    kpis: tuple[str, ...] = ()
    featuring: tuple[str, ...] = ()
    inspired_by: tuple[Credit, ...] = ()
    campaign: str | None = None
    audience: str | None = None
    results: tuple[tuple[str, str], ...] = ()
    summary: str | None = None
    cover: str | None = None  # path relative to the project folder
    cover_alt: str | None = None
    tags: tuple[str, ...] = ()
    featured: bool = False
    draft: bool = False
    body_line: int = 1  # line of the file where the Markdown body starts

    @property
    def url(self) -> str:
        """Site-relative URL of the story page."""
        return f"stories/{self.slug}/"

    def result_for(self, kpi: str) -> str | None:
        return dict(self.results).get(kpi)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, located to a file and line."""

    path: str
    line: int
    message: str
    hint: str = ""
    severity: str = "error"  # or "warning"

    def __str__(self) -> str:
        hint = f" ({self.hint})" if self.hint else ""
        return f"{self.path}:{self.line}: {self.message}{hint}"


@dataclass(frozen=True)
class ImageRef:
    """An image a story uses, and where the story names it (for error messages)."""

    story: str  # story file, e.g. 'stories/hr/2026-03-02-x.md'
    line: int
    path: str  # project-relative image file, e.g. 'stories/hr/images/a.jpg'
    written: str  # the path as the story wrote it
    what: str = "image"  # 'cover' or 'image'
