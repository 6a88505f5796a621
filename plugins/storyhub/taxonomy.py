"""How teams, KPIs and campaigns connect: the matrix, inspiration pairs, groupings, timelines.

Pure functions over the story model; the pages that show them live in `taxonomy_pages.py`.
Every list of stories they return keeps the newest-first order it was given, unless it
says otherwise (campaign timelines run in date order).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from .model import Campaign, Kpi, Registry, Story, Team

# Words that carry no meaning in an abbreviation ("People & HR" -> "HR", not "P&H").
_FILLER = {"and", "of", "the", "for", "&", "+"}


# --- KPIs and the teams that own them ---------------------------------------------------

def kpis_by_owner(registry: Registry) -> list[tuple[Team, list[Kpi]]]:
    """Teams that own at least one KPI, in registry order, each with its KPIs."""
    owned: dict[str, list[Kpi]] = {}
    for kpi in registry.kpis.values():
        owned.setdefault(kpi.owner, []).append(kpi)
    return [(team, owned[team.id]) for team in registry.teams.values() if team.id in owned]


def owned_kpis(registry: Registry, team: str) -> list[Kpi]:
    """The KPIs a team is accountable for, in registry order."""
    return [kpi for kpi in registry.kpis.values() if kpi.owner == team]


def moved_by_others(stories: Iterable[Story], owner: str) -> list[Story]:
    """Stories told by any team other than `owner` (e.g. of a KPI's stories)."""
    return [s for s in stories if s.team != owner]


def group_by_team(stories: Iterable[Story], registry: Registry,
                  first: str | None = None) -> list[tuple[str, list[Story]]]:
    """Stories grouped by telling team: `first` (e.g. the KPI owner), then registry order.

    Teams without stories are left out; each group keeps the order it was given.
    """
    groups: dict[str, list[Story]] = {}
    for story in stories:
        groups.setdefault(story.team, []).append(story)
    order = list(registry.teams)
    if first in groups:
        order.remove(first)
        order.insert(0, first)
    return [(team, groups[team]) for team in order if team in groups]


def count_by_team(stories: Iterable[Story], registry: Registry,
                  first: str | None = None) -> list[tuple[str, int]]:
    """How many of the stories each telling team told, in `group_by_team` order."""
    return [(team, len(told)) for team, told in group_by_team(stories, registry, first)]


# --- The connections matrix ---------------------------------------------------------------

@dataclass(frozen=True)
class Matrix:
    """Telling teams (rows) x KPI owner teams (columns).

    A cell holds the stories a row team told that carry at least one KPI owned by the
    column team, each story once per cell, newest first.
    """

    rows: tuple[str, ...]
    columns: tuple[str, ...]
    cells: dict[tuple[str, str], list[Story]] = field(hash=False, compare=False)
    # KPIs of the column team that each story of a cell carries, keyed (teller, owner, slug).
    cell_kpis: dict[tuple[str, str, str], tuple[str, ...]] = field(hash=False, compare=False)

    def cell(self, teller: str, owner: str) -> list[Story]:
        return self.cells.get((teller, owner), [])

    def count(self, teller: str, owner: str) -> int:
        return len(self.cell(teller, owner))

    def kpis_of(self, teller: str, owner: str, story: Story) -> tuple[str, ...]:
        return self.cell_kpis.get((teller, owner, story.slug), ())

    def cross_of_row(self, teller: str) -> int:
        """Stories a team told that moved at least one KPI owned by another team."""
        slugs = {s.slug for owner in self.columns if owner != teller
                 for s in self.cell(teller, owner)}
        return len(slugs)

    def cross_of_column(self, owner: str) -> int:
        """Stories by other teams that moved at least one of `owner`'s KPIs."""
        slugs = {s.slug for teller in self.rows if teller != owner
                 for s in self.cell(teller, owner)}
        return len(slugs)

    @property
    def busiest_cross(self) -> int:
        """The largest count of a cross-team cell (the scale of the heat shading)."""
        return max((len(s) for (t, o), s in self.cells.items() if t != o), default=0)

    def strongest(self, limit: int) -> list[tuple[str, str, int]]:
        """The busiest cross-team cells, (teller, owner, count), most stories first."""
        cross = [(t, o, len(s)) for (t, o), s in self.cells.items() if t != o]
        position = {team: i for i, team in enumerate(self.rows)}
        cross.sort(key=lambda cell: (-cell[2], position[cell[0]], position.get(cell[1], 0)))
        return cross[:limit]


def connection_matrix(stories: Iterable[Story], registry: Registry) -> Matrix:
    """Count, for every telling team and KPI owner, the stories that connect them.

    Rows are every team of the registry (a team that told nothing shows an empty row);
    columns are the teams that own at least one KPI.
    """
    cells: dict[tuple[str, str], list[Story]] = {}
    cell_kpis: dict[tuple[str, str, str], tuple[str, ...]] = {}
    for story in stories:
        per_owner: dict[str, list[str]] = {}
        for kpi_id in story.kpis:
            kpi = registry.kpis.get(kpi_id)
            if kpi is not None:
                per_owner.setdefault(kpi.owner, []).append(kpi_id)
        for owner, kpi_ids in per_owner.items():
            cells.setdefault((story.team, owner), []).append(story)
            cell_kpis[(story.team, owner, story.slug)] = tuple(kpi_ids)
    columns = tuple(team.id for team, _ in kpis_by_owner(registry))
    return Matrix(tuple(registry.teams), columns, cells, cell_kpis)


# --- Inspiration: who credited whom ------------------------------------------------------

@dataclass(frozen=True)
class Pair:
    """Stories told by `crediting` that credit `credited` in `inspired_by`, newest first."""

    credited: str
    crediting: str
    stories: list[Story] = field(hash=False, compare=False)

    @property
    def count(self) -> int:
        return len(self.stories)

    def note_of(self, story: Story) -> str:
        return credit_note(story, self.credited)


def credit_note(story: Story, team: str) -> str:
    """What a story says about `team` in inspired_by; several credits of it are joined."""
    return " ".join(c.note for c in story.inspired_by if c.team == team and c.note)


def inspiration_pairs(stories: Iterable[Story], registry: Registry) -> list[Pair]:
    """Every (credited team -> crediting team) pair with the stories behind it.

    A story counts once per team it credits, however many credits name that team. Pairs
    are ordered by credited team in registry order, then by count, then crediting team.
    """
    found: dict[tuple[str, str], list[Story]] = {}
    for story in stories:
        for credited in dict.fromkeys(c.team for c in story.inspired_by):
            found.setdefault((credited, story.team), []).append(story)
    position = {team: i for i, team in enumerate(registry.teams)}
    keys = sorted(found, key=lambda k: (position.get(k[0], len(position)), -len(found[k]),
                                        position.get(k[1], len(position))))
    return [Pair(credited, crediting, found[(credited, crediting)]) for credited, crediting in keys]


def pairs_by_credited(pairs: Sequence[Pair]) -> list[tuple[str, list[Pair]]]:
    """Pairs grouped by the credited team, the most credited team first."""
    groups: dict[str, list[Pair]] = {}
    for pair in pairs:
        groups.setdefault(pair.credited, []).append(pair)
    ordered = sorted(groups.items(), key=lambda item: -sum(p.count for p in item[1]))
    return ordered


# --- Campaign timelines ------------------------------------------------------------------

MILESTONE_LABELS = {"briefing": "Employee briefing", "launch": "Launch", "end": "End"}
# Within one day: briefing and launch happen first, then that day's stories; the campaign
# ends after the stories of its last day.
_DAY_ORDER = {"briefing": 0, "launch": 0, "story": 1, "end": 2}


@dataclass(frozen=True)
class Milestone:
    kind: str  # "briefing", "launch" or "end"
    day: date

    @property
    def label(self) -> str:
        return MILESTONE_LABELS[self.kind]


@dataclass(frozen=True)
class Moment:
    """A story on a campaign timeline, with the campaign phase it falls in."""

    story: Story
    phase: str  # "before-briefing", "internal" (briefed, not launched), "live", "after"
    before_launch: bool  # shared with employees before the campaign went public

    @property
    def day(self) -> date:
        return self.story.date.date()


Entry = Milestone | Moment

PHASE_LABELS = {
    "before-briefing": "Before the briefing",
    "internal": "Briefed, before launch",
    "live": "During the campaign",
    "after": "After the campaign",
    "undated": "",
}


def milestones(campaign: Campaign) -> list[Milestone]:
    """The campaign's dated milestones in order (a missing date is left out)."""
    days = (("briefing", campaign.briefing), ("launch", campaign.launch), ("end", campaign.end))
    return [Milestone(kind, day) for kind, day in days if day is not None]


def phase_of(campaign: Campaign, day: date) -> str:
    """Which phase of the campaign a day falls in; 'undated' if the campaign has no dates."""
    if campaign.end is not None and day > campaign.end:
        return "after"
    if campaign.launch is not None and day >= campaign.launch:
        return "live"
    if campaign.briefing is not None and day < campaign.briefing:
        return "before-briefing"
    if campaign.launch is not None or campaign.briefing is not None:
        return "internal"
    return "live" if campaign.end is not None else "undated"


def campaign_timeline(campaign: Campaign, stories: Iterable[Story]) -> list[Entry]:
    """Milestones and stories of a campaign in date order (oldest first)."""
    entries: list[tuple[date, int, str, Entry]] = []
    for milestone in milestones(campaign):
        entries.append((milestone.day, _DAY_ORDER[milestone.kind], "", milestone))
    for story in stories:
        day = story.date.date()
        before = campaign.launch is not None and day < campaign.launch  # as shared_before_launch
        moment = Moment(story, phase_of(campaign, day), before)
        # Slug breaks ties so that two stories of one day keep a stable order.
        entries.append((day, _DAY_ORDER["story"], f"{story.date.isoformat()} {story.slug}", moment))
    entries.sort(key=lambda e: (e[0], e[1], e[2]))
    return [entry for *_, entry in entries]


def timeline_pages(entries: Sequence[Entry], size: int) -> list[list[Entry]]:
    """Split a timeline into pages of at most `size` stories.

    A milestone goes on the page of the story that follows it; milestones after the last
    story go on the last page. There is always at least one page.
    """
    pages: list[list[Entry]] = [[]]
    waiting: list[Entry] = []
    stories_on_page = 0
    for entry in entries:
        if isinstance(entry, Milestone):
            waiting.append(entry)
            continue
        if stories_on_page == size:
            pages.append([])
            stories_on_page = 0
        pages[-1] += [*waiting, entry]
        waiting = []
        stories_on_page += 1
    pages[-1] += waiting
    return pages


def shared_before_launch(campaign: Campaign, stories: Iterable[Story]) -> list[Story]:
    """The stories employees saw before the campaign launched (none without a launch date)."""
    if campaign.launch is None:
        return []
    launch = campaign.launch
    return [s for s in stories if s.date.date() < launch]


def campaign_status(campaign: Campaign, today: date) -> str:
    """Where the campaign stands today: 'planned', 'briefed', 'live' or 'ended'."""
    if campaign.end is not None and today > campaign.end:
        return "ended"
    if campaign.launch is not None and today >= campaign.launch:
        return "live"
    if campaign.briefing is not None and today >= campaign.briefing:
        return "briefed"
    return "planned" if campaign.launch or campaign.briefing else "live"


@dataclass(frozen=True)
class Scale:
    """Maps days to a 0-100 position on a campaign's timeline bar."""

    start: date
    end: date

    def at(self, day: date) -> float:
        span = (self.end - self.start).days
        if span <= 0:
            return 0.0
        return round(100 * min(max((day - self.start).days / span, 0.0), 1.0), 2)


def campaign_scale(campaign: Campaign, stories: Iterable[Story]) -> Scale | None:
    """The span the timeline bar covers: the milestones and every story's day."""
    days = [m.day for m in milestones(campaign)] + [s.date.date() for s in stories]
    if not days:
        return None
    return Scale(min(days), max(days))


def campaigns_newest_first(registry: Registry) -> list[Campaign]:
    """Campaigns by launch (else briefing, else end) date, newest first; undated last."""
    def key(campaign: Campaign) -> tuple[int, date]:
        day = campaign.launch or campaign.briefing or campaign.end
        return (1, day) if day is not None else (0, date.min)
    return sorted(registry.campaigns.values(), key=key, reverse=True)


# --- Short team names for narrow table headers --------------------------------------------

def abbreviations(teams: Iterable[Team], length: int = 4) -> dict[str, str]:
    """A short, unique label per team: an acronym in the name ("People & HR" -> "HR"),
    else initials ("Customer Support" -> "CS"), else a short word ("Sales") or its start ("Mar.").
    """
    result: dict[str, str] = {}
    used: set[str] = set()
    for team in teams:
        words = [w for w in re.split(r"[\s/,-]+", team.name) if w and w.lower() not in _FILLER]
        acronyms = [w for w in words if w.isupper() and 2 <= len(w) <= length]
        if acronyms:
            short = acronyms[-1]
        elif len(words) >= 2:
            short = "".join(w[0] for w in words if w[0].isalnum()).upper()[:length]
        else:
            word = words[0] if words else team.id
            # Short words stay whole; longer ones become "Mar." (the full name is in the title).
            short = word.capitalize() if len(word) <= length + 1 else word[:length - 1].capitalize() + "."
        if short in used or not short:
            short = team.id[:length].capitalize()
        base, number = short, 2
        while short in used:
            short = f"{base[:length - 1]}{number}"
            number += 1
        used.add(short)
        result[team.id] = short
    return result
