"""The small links and labels that listings repeat for every story: team badges, KPI chips,
draft and scheduled badges, audience pills.

They were Jinja macros, called about 45,000 times in a 1,000-story build at 14 us a call
(a macro call builds a frame, a context and its arguments). As functions of the page's
context they take about 6 us, and a badge or chip is made once per build for each target
link: listings link the same teams and KPIs many times from pages in the same folder.

They read only fields of a story that decide where it is listed (team, draft, date,
audience), which page_reuse.py compares for every page anyway: a page need not note the
stories they read.
"""

from __future__ import annotations

from typing import Any

import jinja2
from markupsafe import Markup, escape

from .model import Story

DRAFT = '<span class="sh-badge sh-badge--draft">Draft</span>'
SCHEDULED = '<span class="sh-badge sh-badge--scheduled">Scheduled</span>'


def team_badge_html(name: str, color: str, href: str) -> Markup:
    return Markup(f'<a class="sh-team" href="{escape(href)}" style="--sh-team: {escape(color)}">'
                  f"{escape(name)}</a>")


def kpi_chip_html(name: str, href: str, cross: bool, owner_name: str | None,
                  owner_color: str | None) -> Markup:
    owned = (f' style="--sh-team: {escape(owner_color)}" title="{escape(name)}, owned by '
             f'{escape(owner_name)}"' if owner_name is not None else "")
    return Markup(f'<a class="sh-chip{" sh-chip--cross" if cross else ""}" href="{escape(href)}"'
                  f"{owned}>{escape(name)}</a>")


def status_badges_html(draft: bool, scheduled: bool) -> Markup:
    return Markup((DRAFT if draft else "") + (SCHEDULED if scheduled else ""))


def audience_html(audience: str | None) -> Markup:
    return Markup(f'<span class="sh-audience-pill" title="Audience">for {escape(audience)}</span>'
                  if audience else "")


class Badges:
    """The template functions, remembering each badge and chip by its link for one build
    (one environment: pages.make_environment)."""

    def __init__(self) -> None:
        self.made: dict[tuple[Any, ...], Markup] = {}

    def install(self, env: jinja2.Environment) -> None:
        env.globals.update(team_badge=self.team_badge, kpi_chip=self.kpi_chip,
                           status_badges=status_badges, audience=audience)

    @jinja2.pass_context
    def team_badge(self, context: Any, team_id: str) -> Markup:
        href = context["url"](f"teams/{team_id}/")
        key = ("team", team_id, href)
        made = self.made.get(key)
        if made is None:
            team = context["registry"].teams[team_id]
            made = self.made[key] = team_badge_html(team.name, team.color, href)
        return made

    @jinja2.pass_context
    def kpi_chip(self, context: Any, kpi_id: str, story: Story | None = None) -> Markup:
        registry = context["registry"]
        kpi = registry.kpis[kpi_id]
        owner = registry.teams.get(kpi.owner)
        cross = bool(story and owner and owner.id != story.team)
        href = context["url"](f"kpis/{kpi_id}/")
        key = ("kpi", kpi_id, cross, href)
        made = self.made.get(key)
        if made is None:
            made = self.made[key] = kpi_chip_html(
                kpi.name, href, cross, owner.name if owner else None,
                owner.color if owner else None)
        return made


@jinja2.pass_context
def status_badges(context: Any, story: Story) -> Markup:
    return status_badges_html(story.draft, story.date > context["site"].now)


def audience(story: Story) -> Markup:
    return audience_html(story.audience)
