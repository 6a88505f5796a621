"""Team badges, KPI chips, status badges and audience pills, as listings show them."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import jinja2

from storyhub import badges
from storyhub.model import Kpi, Registry, Team

REGISTRY = Registry(
    teams={"hr": Team("hr", 'People & "HR"', color="#6a1b9a"), "ops": Team("ops", "Ops")},
    kpis={"nps": Kpi("nps", "NPS <score>", "hr"), "orphan": Kpi("orphan", "Orphan", "gone")})


def render(source: str, page_depth: int, **context: object) -> str:
    env = jinja2.Environment(autoescape=True)
    badges.Badges().install(env)
    up = "../" * page_depth
    return env.from_string(source).render(registry=REGISTRY, url=lambda target: up + target,
                                          site=SimpleNamespace(now=datetime(2026, 3, 1, tzinfo=UTC)),
                                          **context)


def story(**fields: object) -> SimpleNamespace:
    values = {"team": "ops", "draft": False, "date": datetime(2026, 2, 1, tzinfo=UTC),
              "audience": None, **fields}
    return SimpleNamespace(**values)


def test_a_team_badge_links_the_team_from_the_page_and_escapes_its_name() -> None:
    badge = ('<a class="sh-team" href="../../teams/hr/" style="--sh-team: #6a1b9a">'
             "People &amp; &#34;HR&#34;</a>")
    assert render("{{ team_badge('hr') }}|{{ team_badge('hr') }}", 2) == f"{badge}|{badge}"


def test_badges_made_once_still_follow_the_page_they_are_on() -> None:
    env = jinja2.Environment(autoescape=True)
    badges.Badges().install(env)
    template = env.from_string("{{ team_badge('hr') }} {{ kpi_chip('nps') }}")
    links = [template.render(registry=REGISTRY, url=lambda t, up=up: up + t) for up in
             ("../", "../../", "../")]
    assert ['href="../teams/hr/"' in links[0], 'href="../../teams/hr/"' in links[1]] == [True, True]
    assert 'href="../../kpis/nps/"' in links[1] and 'href="../kpis/nps/"' in links[2]


def test_a_kpi_chip_marks_a_story_of_another_team_and_names_the_owner() -> None:
    own, cross = render("{{ kpi_chip('nps', a) }}|{{ kpi_chip('nps', b) }}", 1,
                        a=story(team="hr"), b=story(team="ops")).split("|")
    plain = render("{{ kpi_chip('nps') }}", 1)
    assert own == plain == ('<a class="sh-chip" href="../kpis/nps/" style="--sh-team: #6a1b9a" '
                            'title="NPS &lt;score&gt;, owned by People &amp; &#34;HR&#34;">'
                            "NPS &lt;score&gt;</a>")
    assert cross == own.replace('class="sh-chip"', 'class="sh-chip sh-chip--cross"')
    assert render("{{ kpi_chip('orphan', story) }}", 1, story=story()) == (
        '<a class="sh-chip" href="../kpis/orphan/">Orphan</a>')


def test_status_badges_and_audience() -> None:
    source = "[{{ status_badges(story) }}][{{ audience(story) }}]"
    assert render(source, 1, story=story()) == "[][]"
    assert render(source, 1, story=story(draft=True, date=datetime(2026, 4, 1, tzinfo=UTC),
                                         audience="new <joiners>")) == (
        '[<span class="sh-badge sh-badge--draft">Draft</span>'
        '<span class="sh-badge sh-badge--scheduled">Scheduled</span>]'
        '[<span class="sh-audience-pill" title="Audience">for new &lt;joiners&gt;</span>]')
