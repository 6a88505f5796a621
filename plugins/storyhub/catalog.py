"""Which stories are published, and every index the pages and feeds are made from."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from .model import Registry, Story

RELATED_COUNT = 3
# Related stories are chosen among the nearest stories in time of each shared key, so the
# cost per story stays constant as the corpus grows.
RELATED_WINDOW = 40


def is_published(story: Story, now: datetime, preview: bool) -> bool:
    """Drafts and future stories are only shown in preview (`mkdocs serve`)."""
    if preview:
        return True
    return not story.draft and story.date <= now


def newest_first(stories: Iterable[Story]) -> list[Story]:
    return sorted(stories, key=lambda s: (s.date, s.slug), reverse=True)


@dataclass
class Catalog:
    registry: Registry
    stories: list[Story]  # published, newest first
    by_slug: dict[str, Story] = field(default_factory=dict)
    told_by: dict[str, list[Story]] = field(default_factory=lambda: defaultdict(list))
    featuring: dict[str, list[Story]] = field(default_factory=lambda: defaultdict(list))
    inspired_by: dict[str, list[Story]] = field(default_factory=lambda: defaultdict(list))
    by_kpi: dict[str, list[Story]] = field(default_factory=lambda: defaultdict(list))
    by_campaign: dict[str, list[Story]] = field(default_factory=lambda: defaultdict(list))
    by_author: dict[str, list[Story]] = field(default_factory=lambda: defaultdict(list))
    by_tag: dict[str, list[Story]] = field(default_factory=lambda: defaultdict(list))
    by_month: dict[str, list[Story]] = field(default_factory=lambda: defaultdict(list))
    related: dict[str, list[Story]] = field(default_factory=dict)

    def team_stories(self, team: str) -> list[Story]:
        """Stories a team told or is featured in (the team feed), newest first."""
        seen = {s.slug for s in self.told_by.get(team, [])}
        extra = [s for s in self.featuring.get(team, []) if s.slug not in seen]
        return newest_first([*self.told_by.get(team, []), *extra])

    def newsletter_stories(self, letter_id: str) -> list[Story]:
        letter = self.registry.newsletters[letter_id]
        picked: dict[str, Story] = {}
        for team in letter.teams:
            for story in self.team_stories(team):
                picked[story.slug] = story
        for kpi in letter.kpis:
            for story in self.by_kpi.get(kpi, []):
                picked[story.slug] = story
        for campaign in letter.campaigns:
            for story in self.by_campaign.get(campaign, []):
                picked[story.slug] = story
        return newest_first(picked.values())

    @property
    def featured(self) -> list[Story]:
        return [s for s in self.stories if s.featured]


def _related(story: Story, catalog: Catalog, position: dict[str, int]) -> list[Story]:
    scores: dict[str, float] = defaultdict(float)
    keyed: list[tuple[list[Story], float]] = []
    if story.campaign:
        keyed.append((catalog.by_campaign[story.campaign], 3.0))
    keyed += [(catalog.by_kpi[k], 2.0) for k in story.kpis]
    keyed += [(catalog.by_tag[t], 1.0) for t in story.tags]
    keyed += [(catalog.told_by[t], 1.0) for t in story.featuring]
    keyed.append((catalog.told_by[story.team], 0.5))
    for stories, weight in keyed:
        here = _index_in(stories, story, position)
        low = max(0, here - RELATED_WINDOW // 2)
        for other in stories[low: low + RELATED_WINDOW]:
            if other.slug != story.slug:
                scores[other.slug] += weight
    ranked = sorted(scores, key=lambda slug: (-scores[slug], position[slug]))
    return [catalog.by_slug[slug] for slug in ranked[:RELATED_COUNT]]


def _index_in(stories: list[Story], story: Story, position: dict[str, int]) -> int:
    """Where `story` sits in a newest-first list, by binary search on global position."""
    target = position[story.slug]
    low, high = 0, len(stories)
    while low < high:
        mid = (low + high) // 2
        if position[stories[mid].slug] < target:
            low = mid + 1
        else:
            high = mid
    return low


def _relation_key(stories: list[Story]) -> tuple[tuple[object, ...], ...]:
    """Everything `_related` reads, in catalog order."""
    return tuple((s.slug, s.team, s.campaign, s.kpis, s.tags, s.featuring) for s in stories)


def build_catalog(registry: Registry, stories: Iterable[Story], now: datetime,
                  preview: bool = False, previous: Catalog | None = None) -> Catalog:
    """Index the published stories (all stories in preview) newest first.

    With the `previous` catalog (a preview rebuild), related stories are taken from it
    when nothing they are chosen by changed (an edited title or body, say).
    """
    published = newest_first(s for s in stories if is_published(s, now, preview))
    catalog = Catalog(registry, published)
    for story in published:
        catalog.by_slug[story.slug] = story
        catalog.told_by[story.team].append(story)
        for team in story.featuring:
            catalog.featuring[team].append(story)
        for team in dict.fromkeys(c.team for c in story.inspired_by):
            catalog.inspired_by[team].append(story)
        for kpi in story.kpis:
            catalog.by_kpi[kpi].append(story)
        if story.campaign:
            catalog.by_campaign[story.campaign].append(story)
        for author in story.authors:
            catalog.by_author[author].append(story)
        for tag in story.tags:
            catalog.by_tag[tag].append(story)
        catalog.by_month[story.date.strftime("%Y-%m")].append(story)
    if previous is not None and _relation_key(previous.stories) == _relation_key(published):
        catalog.related = {slug: [catalog.by_slug[s.slug] for s in others]
                           for slug, others in previous.related.items()}
        return catalog
    position = {s.slug: i for i, s in enumerate(published)}
    for story in published:
        catalog.related[story.slug] = _related(story, catalog, position)
    return catalog
