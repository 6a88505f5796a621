"""Team x KPI taxonomy: team, KPI, connections, inspiration and campaign pages.

The end-to-end tests build one small corpus whose every count is known (see `corpus`);
the unit tests call `storyhub.taxonomy` on hand-made stories.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from conftest import Built, Project
from storyhub import taxonomy
from storyhub.model import Campaign, Credit, Kpi, Registry, Story, Team

# --- The known corpus -------------------------------------------------------------------
#
# KPI owners (conftest): nps -> marketing; csat, ticket-volume -> support; turnover -> hr;
# cpa -> finance. Campaign spring: briefing 2026-02-01, launch 2026-03-01, end 2026-05-31.
#
#  slug       team       kpis                      inspired_by       campaign  featuring
#  blog       marketing  nps, ticket-volume        support           spring    support
#  brief      marketing  nps                       -                 spring
#  faq        support    csat, ticket-volume, nps  marketing         spring
#  team       support    csat                      -                 -
#  hiring     hr         csat, turnover            support, support  spring    support
#  wrap       hr         nps                       support           spring
#  plain      marketing  -                         -                 -
#
# Matrix (teller -> owner): marketing->marketing 2, marketing->support 1, support->support 2,
# support->marketing 1, hr->support 1, hr->hr 1, hr->marketing 1; finance told nothing and
# nobody moved cpa. Inspiration: support->marketing 1, marketing->support 1, support->hr 2.


def corpus(project: Project) -> None:
    project.story("marketing", "2026-01-10-blog", title="Blog from tickets", authors=["ana"],
                  kpis=["nps", "ticket-volume"], featuring=["support"], campaign="spring",
                  inspired_by=[{"team": "support", "note": "The ticket digest."}],
                  results={"ticket-volume": "-12% how-to tickets"}, audience="all")
    project.story("marketing", "2026-02-15-brief", title="Spring briefing", authors=["ana"],
                  kpis=["nps"], campaign="spring", audience="employees")
    project.story("support", "2026-03-05-faq", title="FAQ rewrite", authors=["ben"],
                  kpis=["csat", "ticket-volume", "nps"], campaign="spring",
                  inspired_by=[{"team": "marketing", "note": "Their style guide."}],
                  results={"nps": "NPS +3"})
    project.story("support", "2026-04-01-team", title="Support team day", authors=["ben"],
                  kpis=["csat"])
    project.story("hr", "2026-04-10-hiring", title="Hiring from support", authors=["chloe"],
                  kpis=["csat", "turnover"], featuring=["support"], campaign="spring",
                  inspired_by=[{"team": "support", "note": "Coaching."},
                               {"team": "support", "note": "Career levels."}],
                  results={"csat": "CSAT 90%"})
    project.story("hr", "2026-06-15-wrap", title="Spring wrap-up", authors=["chloe"],
                  kpis=["nps"], campaign="spring", audience="managers",
                  inspired_by=[{"team": "support"}])
    project.story("marketing", "2026-06-01-plain", title="Plain news", authors=["ana"])


@pytest.fixture
def built(project: Project) -> Built:
    corpus(project)
    return project.build()


def texts(elements: list[Any]) -> list[str]:
    return [" ".join(e.text_content().split()) for e in elements]


def titles(tree: Any, scope: str = ".") -> list[str]:
    """Story titles linked from rows (`sh-row__title`) under an XPath scope."""
    return [a.text for a in tree.xpath(f"{scope}//a[@class='sh-row__title']")]


# --- Connections matrix -----------------------------------------------------------------

def cell(tree: Any, teller: str, owner: str) -> Any:
    columns = [th.get("id")[4:] for th in tree.xpath("//table[@class='sh-matrix']/thead//th[@id]")]
    row = tree.xpath(f"//tr[@id='row-{teller}']")[0]
    return row.xpath("./td")[columns.index(owner)]


def test_matrix_counts_and_links_every_cell(built: Built) -> None:
    page = built.html("kpis/connections/")
    heads = page.xpath("//table[@class='sh-matrix']/thead//th[@id]")
    assert [th.get("id") for th in heads] == ["col-marketing", "col-support", "col-hr", "col-finance"]
    assert [th.xpath(".//abbr")[0].get("title") for th in heads] == [
        "Marketing", "Customer Support", "People & HR", "Finance"]
    rows = [tr.get("id") for tr in page.xpath("//table[@class='sh-matrix']/tbody/tr")]
    assert rows == ["row-marketing", "row-support", "row-hr", "row-finance"]
    expected = {("marketing", "marketing"): 2, ("marketing", "support"): 1,
                ("support", "support"): 2, ("support", "marketing"): 1,
                ("hr", "support"): 1, ("hr", "hr"): 1, ("hr", "marketing"): 1}
    for teller in ("marketing", "support", "hr", "finance"):
        for owner in ("marketing", "support", "hr", "finance"):
            td = cell(page, teller, owner)
            links = td.xpath("./a")
            count = expected.get((teller, owner), 0)
            assert ("sh-cell--own" in td.get("class")) == (teller == owner)
            assert ("sh-cell--cross" in td.get("class")) == (teller != owner)
            if count:
                assert links[0].text == str(count), (teller, owner)
                assert links[0].get("href") == f"{teller}/{owner}/"
            else:
                assert not links, (teller, owner)
                assert "sh-cell--empty" in td.get("class")
    # Cross totals: stories that moved another team's KPI (hr's hiring and wrap are two).
    totals = {tr.get("id"): tr.xpath("./td")[-1].text
              for tr in page.xpath("//table[@class='sh-matrix']/tbody/tr")}
    assert totals == {"row-marketing": "1", "row-support": "1", "row-hr": "2", "row-finance": "0"}
    moved_by_others = texts(page.xpath("//table[@class='sh-matrix']/tfoot//td"))[:4]
    assert moved_by_others == ["2", "2", "0", "0"]


def test_matrix_cell_page_lists_the_stories_with_their_kpis_and_results(built: Built) -> None:
    page = built.html("kpis/connections/marketing/support/")
    assert titles(page) == ["Blog from tickets"]
    row = page.xpath("//li[@class='sh-row']")[0]
    assert [a.text for a in row.xpath(".//a[contains(@class,'sh-chip')]")] == ["Ticket volume"]
    assert texts(row.xpath(".//p[@class='sh-row__result']")) == ["Ticket volume: -12% how-to tickets"]
    back = page.xpath("//a[contains(text(),'KPI connections')]")[0].get("href")
    assert back == "../../#row-marketing"
    own = built.html("kpis/connections/support/support/")
    assert titles(own) == ["Support team day", "FAQ rewrite"]
    assert "moving its own KPIs" in own.xpath("//h1")[0].text_content()
    assert not built.exists("kpis/connections/finance/finance/")
    assert not built.exists("kpis/connections/support/hr/")


def test_matrix_lists_strongest_cross_team_connections(built: Built) -> None:
    page = built.html("kpis/connections/")
    items = page.xpath("//ol[@class='sh-strongest']/li")
    pairs = [(li.xpath("./a[@class='sh-team']")[0].text, li.xpath("./a[@class='sh-team']")[1].text,
              li.xpath("./a[not(@class)]")[0].text) for li in items]
    assert pairs == [
        ("Marketing", "Customer Support", "1 story"), ("Customer Support", "Marketing", "1 story"),
        ("People & HR", "Marketing", "1 story"), ("People & HR", "Customer Support", "1 story")]


# --- Inspiration ------------------------------------------------------------------------

def test_inspiration_counts_each_pair_once_per_story(built: Built) -> None:
    page = built.html("inspiration/")
    assert texts(page.xpath("//ul[contains(@class,'sh-stats')]/li")) == ["4 credits", "2 teams credited"]
    sections = page.xpath("//section[contains(@class,'sh-inspired')]")
    found = {}
    for section in sections:
        credited = section.xpath("./h2/a[@class='sh-team']")[0].text
        for pair in section.xpath(".//li[@class='sh-pair']"):
            crediting = pair.xpath(".//p[@class='sh-pair__head']/a[@class='sh-team']")[0].text
            count = pair.xpath(".//a[@class='sh-pair__count']")[0]
            stories = [a.text for a in pair.xpath(".//ul[@class='sh-pair__stories']/li/a")]
            found[(credited, crediting)] = (count.text, count.get("href"), stories)
    assert found == {
        ("Customer Support", "People & HR"): (
            "2 credits", "support/hr/", ["Spring wrap-up", "Hiring from support"]),
        ("Customer Support", "Marketing"): ("1 credit", "support/marketing/", ["Blog from tickets"]),
        ("Marketing", "Customer Support"): ("1 credit", "marketing/support/", ["FAQ rewrite"]),
    }
    # The most credited team comes first.
    assert [s.xpath("./h2/a")[0].text for s in sections] == ["Customer Support", "Marketing"]
    assert "Coaching. Career levels." in page.text_content()


def test_inspiration_pair_page(built: Built) -> None:
    page = built.html("inspiration/support/hr/")
    assert titles(page) == ["Spring wrap-up", "Hiring from support"]
    assert texts(page.xpath("//blockquote[@class='sh-row__note']")) == ["Coaching. Career levels."]
    back = page.xpath("//a[contains(text(),'Inspiration')]")[0].get("href")
    assert back == "../../#support__hr"
    assert built.html("inspiration/").xpath("//li[@id='support__hr']")
    assert not built.exists("inspiration/hr/support/")


# --- KPIs -------------------------------------------------------------------------------

def test_kpi_overview_groups_by_owner(built: Built) -> None:
    page = built.html("kpis/")
    owners = [h.get("id") for h in page.xpath("//section/h2")]
    assert owners == ["owner-marketing", "owner-support", "owner-hr", "owner-finance"]
    support = page.xpath("//section[h2[@id='owner-support']]//article")
    assert [a.xpath(".//h3/a")[0].get("href") for a in support] == ["csat/", "ticket-volume/"]
    counts = {a.get("id"): " ".join(a.xpath(".//p[@class='sh-kpi-card__count']")[0]
                                    .text_content().split())
              for a in page.xpath("//article[@class='sh-kpi-card']")}
    assert counts == {
        "kpi-nps": "4 stories, 2 from other teams", "kpi-csat": "3 stories, 1 from other teams",
        "kpi-ticket-volume": "2 stories, 1 from other teams", "kpi-turnover": "1 story, 0 from other teams",
        "kpi-cpa": "0 stories"}
    links = page.xpath("//ul[contains(@class,'sh-stats--links')]//a/@href")
    assert links == ["connections/", "../inspiration/"]


def test_kpi_page_groups_stories_by_team_with_results(built: Built) -> None:
    page = built.html("kpis/nps/")
    assert page.xpath("//h1")[0].text.strip() == "Net Promoter Score"
    facts = {dt.text: " ".join(dd.text_content().split())
             for dt, dd in zip(page.xpath("//dl[@class='sh-facts']//dt"),
                               page.xpath("//dl[@class='sh-facts']//dd"), strict=True)}
    assert facts == {"Owner": "Marketing", "Unit": "points", "Direction": "Higher is better ↑",
                     "Stories": "4 (2 from other teams)"}
    groups = page.xpath("//section[contains(@class,'sh-group')]")
    assert [g.xpath("./h2")[0].get("id") for g in groups] == ["team-marketing", "team-support", "team-hr"]
    assert titles(groups[0]) == ["Spring briefing", "Blog from tickets"]
    assert "owner" in groups[0].xpath("./h2")[0].text_content()
    assert titles(groups[1]) == ["FAQ rewrite"]
    assert texts(groups[1].xpath(".//p[contains(@class,'sh-row__result')]")) == ["Result: NPS +3"]
    assert texts(groups[2].xpath(".//p[contains(@class,'sh-row__result')]")) == ["No result reported"]
    assert texts(groups[2].xpath(".//span[@class='sh-audience-pill']")) == ["for managers"]
    assert page.xpath("//p[@class='sh-by-team']//span[@class='sh-count']/text()") == ["2", "1", "1"]


def test_kpi_down_direction_and_cross_result(built: Built) -> None:
    page = built.html("kpis/ticket-volume/")
    assert "Lower is better" in page.xpath("//dl[@class='sh-facts']")[0].text_content()
    marketing = page.xpath("//section[h2[@id='team-marketing']]")[0]
    assert texts(marketing.xpath(".//p[@class='sh-row__result']")) == ["Result: -12% how-to tickets"]


def test_kpi_of_a_team_without_stories_still_has_its_page(built: Built) -> None:
    page = built.html("kpis/cpa/")
    assert page.xpath("//h1")[0].text.strip() == "Cost per acquisition"
    assert texts(page.xpath("//p[@class='sh-empty']")) == ["No story has moved Cost per acquisition yet."]
    finance = built.html("teams/finance/")
    kpis = finance.xpath("//section[h2[@id='kpis']]//article")
    assert [a.get("id") for a in kpis] == ["kpi-cpa"]
    assert "Moved by other teams in 0 stories" in kpis[0].text_content()
    assert texts(finance.xpath("//p[@class='sh-empty']"))[:3] == [
        "Finance has not told a story yet.", "No other team's story features Finance yet.",
        "No story credits Finance as its inspiration yet."]


# --- Team pages -------------------------------------------------------------------------

def test_team_page_shows_every_section(built: Built) -> None:
    page = built.html("teams/support/")
    assert page.xpath("//div[@class='sh-grid']//h3/a/text()") == ["Support team day", "FAQ rewrite"]
    stats = texts(page.xpath("//ul[@class='sh-stats']/li"))
    assert stats == ["2 told", "2 featuring Customer Support", "3 inspired", "2 KPIs owned"]
    assert titles(page, "//section[h2[@id='featuring']]") == ["Hiring from support", "Blog from tickets"]
    inspired = page.xpath("//section[h2[@id='inspired']]")[0]
    assert titles(inspired) == ["Spring wrap-up", "Hiring from support", "Blog from tickets"]
    assert texts(inspired.xpath(".//blockquote")) == ["Coaching. Career levels.", "The ticket digest."]
    kpis = page.xpath("//section[h2[@id='kpis']]//article")
    assert [k.get("id") for k in kpis] == ["kpi-csat", "kpi-ticket-volume"]
    # Only other teams' stories: support's own FAQ rewrite and team day are not listed here.
    assert titles(kpis[0]) == ["Hiring from support"]
    assert texts(kpis[0].xpath(".//p[contains(@class,'sh-row__result')]")) == ["Result: CSAT 90%"]
    assert titles(kpis[1]) == ["Blog from tickets"]
    assert kpis[0].xpath(".//h3/a")[0].get("href") == "../../kpis/csat/"
    banner = page.xpath("//header[@class='sh-banner']")[0].text_content()
    assert "support@example.com" in banner and "@acme/support" in banner


def test_team_subpages_list_featuring_and_inspired(built: Built) -> None:
    assert titles(built.html("teams/support/featuring/")) == ["Hiring from support", "Blog from tickets"]
    assert titles(built.html("teams/support/inspired/")) == [
        "Spring wrap-up", "Hiring from support", "Blog from tickets"]
    assert titles(built.html("teams/marketing/inspired/")) == ["FAQ rewrite"]


def test_teams_overview_shows_owned_kpis(built: Built) -> None:
    page = built.html("teams/")
    support = page.xpath("//article[contains(@class,'sh-team-card')][.//h2/a[@href='support/']]")[0]
    assert [a.text for a in support.xpath(".//a[contains(@class,'sh-chip')]")] == [
        "Customer satisfaction", "Ticket volume"]
    assert "inspired 3" in support.text_content()


# --- Campaigns --------------------------------------------------------------------------

def test_campaign_timeline_in_date_order_with_milestones_and_marks(built: Built) -> None:
    page = built.html("campaigns/spring/")
    entries = page.xpath("//ol[@class='sh-timeline']/li")
    seen = []
    for li in entries:
        if "sh-timeline__milestone" in li.get("class"):
            seen.append(li.xpath("./span")[0].text)
        else:
            title = li.xpath(".//p[@class='sh-timeline__title']/a[not(@class)]")[0].text
            early = bool(li.xpath(".//span[@class='sh-early']"))
            seen.append(f"{title}{' (early)' if early else ''}")
    assert seen == ["Blog from tickets (early)", "Employee briefing", "Spring briefing (early)",
                    "Launch", "FAQ rewrite", "Hiring from support", "End", "Spring wrap-up"]
    phases = [li.get("class").split()[-1] for li in entries if "sh-timeline__story" in li.get("class")]
    assert phases == ["sh-phase--before-briefing", "sh-phase--internal", "sh-phase--live",
                      "sh-phase--live", "sh-phase--after"]
    stats = texts(page.xpath("//ul[contains(@class,'sh-stats')]/li"))
    assert stats == ["5 stories", "2 shared with employees before launch", "2 during the campaign",
                     "1 after it ended"]
    assert page.xpath("//span[contains(@class,'sh-status')]")[0].text == "Ended"


def test_campaign_overview(built: Built) -> None:
    page = built.html("campaigns/")
    card = page.xpath("//article[@class='sh-campaign-card']")[0]
    assert card.xpath(".//h2/a")[0].get("href") == "spring/"
    meta = " ".join(card.xpath(".//p[@class='sh-campaign-card__meta']")[0].text_content().split())
    assert meta == "5 stories · 2 shared with employees before launch · for customers"
    milestones = texts(card.xpath(".//ol[@class='sh-milestones']/li"))
    assert milestones == ["Briefing 1 February 2026", "Launch 1 March 2026", "End 31 May 2026"]


def test_campaign_without_stories_says_so(project: Project) -> None:
    project.story("hr", "2026-01-05-x", title="Unrelated", authors=["chloe"])
    built = project.build()
    page = built.html("campaigns/spring/")
    assert texts(page.xpath("//p[@class='sh-empty']")) == ["No story has been told about Spring launch yet."]
    milestones = page.xpath("//li[contains(@class,'sh-timeline__milestone')]/span/text()")
    assert milestones == ["Employee briefing", "Launch", "End"]


def test_audience_on_cards_and_story_pages(built: Built) -> None:
    card = built.html("teams/hr/").xpath("//article[@class='sh-card'][.//a[text()='Spring wrap-up']]")[0]
    assert "for managers" in card.xpath(".//p[@class='sh-card__meta']")[0].text_content()
    story = built.html("stories/wrap/")
    assert story.xpath("//span[@class='sh-audience']")[0].text == "For managers"


def test_feed_paths_of_taxonomy_pages(project: Project) -> None:
    from storyhub import taxonomy_pages

    corpus(project)
    site = _site_of(project)
    feeds = {spec.path: spec.feed for build in taxonomy_pages.BUILDERS for spec in build(site)}
    assert feeds["kpis/nps/"] == "feeds/kpis/nps/"
    assert feeds["campaigns/spring/"] == "feeds/campaigns/spring/"
    assert feeds["teams/hr/"] == "feeds/teams/hr/"


def _site_of(project: Project) -> Any:
    from zoneinfo import ZoneInfo

    from storyhub.catalog import build_catalog
    from storyhub.load import load_all
    from storyhub.pages import Site
    from storyhub.render import Rendered
    from storyhub.validate import validate

    stories = project.root / "stories"
    checked = validate(load_all(stories, project.root), stories, project.root, ZoneInfo("UTC"))
    catalog = build_catalog(checked.registry, checked.stories, datetime.now(UTC))
    rendered = {s.slug: Rendered(html="", summary="", words=1, images=()) for s in catalog.stories}
    return Site(catalog=catalog, rendered=rendered, site_name="Test", directory_urls=True,
                now=datetime.now(UTC), preview=False, media_url=lambda path: path)


# --- Pagination boundaries ----------------------------------------------------------------

@pytest.mark.parametrize("count", [0, 1, 2, 3])
def test_taxonomy_pages_paginate_past_page_size(project: Project, count: int) -> None:
    project.config(page_size=2)
    for day in range(1, count + 1):
        project.story("hr", f"2026-04-0{day}-s{day}", title=f"Story {day}", authors=["chloe"],
                      kpis=["turnover", "csat"], campaign="spring", featuring=["support"],
                      inspired_by=[{"team": "support"}])
    built = project.build()
    newest = [f"Story {day}" for day in range(count, 0, -1)]
    second = count > 2
    for base in ("teams/hr/", "kpis/turnover/", "teams/support/featuring/",
                 "teams/support/inspired/", "campaigns/spring/"):
        assert built.exists(base)
        assert built.exists(f"{base}page/2/") == second, base
        assert not built.exists(f"{base}page/3/")
    for base in ("kpis/connections/hr/hr/", "kpis/connections/hr/support/",
                 "inspiration/support/hr/"):
        assert built.exists(base) == bool(count), base
        assert built.exists(f"{base}page/2/") == second, base
    assert built.html("teams/hr/").xpath("//div[@class='sh-grid']//h3/a/text()") == newest[:2]
    assert titles(built.html("kpis/turnover/")) == newest[:2]
    # The campaign timeline runs forward in time: page 1 holds the oldest stories.
    timeline = "//p[@class='sh-timeline__title']/a[not(@class)]/text()"
    assert built.html("campaigns/spring/").xpath(timeline) == newest[::-1][:2]
    if second:
        assert built.html("teams/hr/page/2/").xpath("//div[@class='sh-grid']//h3/a/text()") == ["Story 1"]
        assert titles(built.html("kpis/turnover/page/2/")) == ["Story 1"]
        assert titles(built.html("kpis/connections/hr/support/page/2/")) == ["Story 1"]
        assert titles(built.html("inspiration/support/hr/page/2/")) == ["Story 1"]
        assert built.html("campaigns/spring/page/2/").xpath(timeline) == ["Story 3"]
        # The end milestone comes after the last story, on the last page.
        end = built.html("campaigns/spring/page/2/").xpath(
            "//li[contains(@class,'sh-timeline__milestone')]/span/text()")
        assert end == ["End"]
        pager = built.html("kpis/turnover/").xpath("//nav[@class='sh-pager']/a[@rel='next']")
        assert pager[0].get("href") == "page/2/"
        later = built.html("campaigns/spring/").xpath("//nav[@class='sh-pager']/a[@rel='next']")
        assert later[0].text == "Later →"
        assert built.html("kpis/turnover/page/2/").xpath("//h1")[0].text_content().split() == [
            "Employee", "turnover", "page", "2"]
    else:
        assert not built.html("kpis/turnover/").xpath("//nav[@class='sh-pager']")
    if not count:
        assert texts(built.html("kpis/turnover/").xpath("//p[@class='sh-empty']")) == [
            "No story has moved Employee turnover yet."]


# --- Unit tests of taxonomy.py ---------------------------------------------------------

TEAMS = {t.id: t for t in (Team("mkt", "Marketing"), Team("sup", "Customer Support"),
                           Team("hr", "People & HR"), Team("fin", "Finance"))}
KPIS = {k.id: k for k in (Kpi("nps", "NPS", "mkt"), Kpi("csat", "CSAT", "sup"),
                          Kpi("tv", "Tickets", "sup"), Kpi("cpa", "CPA", "fin"))}
REGISTRY = Registry(teams=TEAMS, kpis=KPIS)


def make(slug: str, team: str, day: str, **keys: Any) -> Story:
    when = datetime.fromisoformat(day).replace(tzinfo=UTC)
    return Story(path=f"stories/{team}/{day}-{slug}.md", slug=slug, title=slug, date=when,
                 team=team, authors=("a",), body="", **keys)


def test_connection_matrix_counts_a_story_once_per_owner() -> None:
    stories = [make("b", "mkt", "2026-02-01", kpis=("csat", "tv", "nps")),
               make("a", "mkt", "2026-01-01", kpis=("csat",)),
               make("c", "hr", "2026-01-05", kpis=())]
    matrix = taxonomy.connection_matrix(stories, REGISTRY)
    assert matrix.rows == ("mkt", "sup", "hr", "fin")
    assert matrix.columns == ("mkt", "sup", "fin")  # hr owns no KPI
    assert [s.slug for s in matrix.cell("mkt", "sup")] == ["b", "a"]
    assert matrix.count("mkt", "mkt") == 1
    assert matrix.kpis_of("mkt", "sup", stories[0]) == ("csat", "tv")
    assert matrix.cross_of_row("mkt") == 2
    assert matrix.cross_of_column("sup") == 2
    assert matrix.cross_of_column("mkt") == 0
    assert matrix.busiest_cross == 2
    assert matrix.strongest(5) == [("mkt", "sup", 2)]


def test_inspiration_pairs_and_grouping() -> None:
    stories = [make("c", "hr", "2026-03-01", inspired_by=(Credit("sup", "x"), Credit("sup", "y"))),
               make("b", "mkt", "2026-02-01", inspired_by=(Credit("sup"), Credit("hr", "z"))),
               make("a", "mkt", "2026-01-01", inspired_by=(Credit("sup"),))]
    pairs = taxonomy.inspiration_pairs(stories, REGISTRY)
    assert [(p.credited, p.crediting, p.count) for p in pairs] == [
        ("sup", "mkt", 2), ("sup", "hr", 1), ("hr", "mkt", 1)]
    assert pairs[1].note_of(stories[0]) == "x y"
    assert [(team, [p.crediting for p in group]) for team, group in taxonomy.pairs_by_credited(pairs)] \
        == [("sup", ["mkt", "hr"]), ("hr", ["mkt"])]


def test_group_by_team_puts_the_owner_first() -> None:
    stories = [make("c", "hr", "2026-03-01"), make("b", "sup", "2026-02-01"),
               make("a", "hr", "2026-01-01")]
    groups = taxonomy.group_by_team(stories, REGISTRY, first="sup")
    assert [(team, [s.slug for s in told]) for team, told in groups] == [("sup", ["b"]), ("hr", ["c", "a"])]
    assert taxonomy.count_by_team(stories, REGISTRY) == [("sup", 1), ("hr", 2)]  # registry order
    assert taxonomy.moved_by_others(stories, "hr") == [stories[1]]
    assert [t.id for t, kpis in taxonomy.kpis_by_owner(REGISTRY)] == ["mkt", "sup", "fin"]
    assert [k.id for k in taxonomy.owned_kpis(REGISTRY, "sup")] == ["csat", "tv"]


SPRING = Campaign("spring", "Spring", "mkt", date(2026, 2, 1), date(2026, 3, 1), date(2026, 5, 31))


@pytest.mark.parametrize(("day", "phase"), [
    ("2026-01-31", "before-briefing"), ("2026-02-01", "internal"), ("2026-02-28", "internal"),
    ("2026-03-01", "live"), ("2026-05-31", "live"), ("2026-06-01", "after")])
def test_phase_boundaries(day: str, phase: str) -> None:
    assert taxonomy.phase_of(SPRING, date.fromisoformat(day)) == phase


def test_phase_without_some_dates() -> None:
    no_launch = Campaign("x", "X", "mkt", briefing=date(2026, 2, 1))
    assert taxonomy.phase_of(no_launch, date(2026, 3, 1)) == "internal"
    assert taxonomy.shared_before_launch(no_launch, [make("a", "mkt", "2026-01-01")]) == []
    assert taxonomy.phase_of(Campaign("y", "Y", "mkt"), date(2026, 3, 1)) == "undated"
    assert taxonomy.milestones(no_launch) == [taxonomy.Milestone("briefing", date(2026, 2, 1))]


def test_timeline_order_on_milestone_days_and_pages() -> None:
    stories = [make("end-day", "mkt", "2026-05-31"), make("launch-day", "mkt", "2026-03-01"),
               make("early", "mkt", "2026-01-15")]
    timeline = taxonomy.campaign_timeline(SPRING, stories)

    def label(entry: taxonomy.Entry) -> str:
        return entry.kind if isinstance(entry, taxonomy.Milestone) else entry.story.slug

    assert [label(e) for e in timeline] == ["early", "briefing", "launch", "launch-day",
                                            "end-day", "end"]
    moments = [e for e in timeline if isinstance(e, taxonomy.Moment)]
    assert [m.before_launch for m in moments] == [True, False, False]
    pages = taxonomy.timeline_pages(timeline, 2)
    assert [[label(e) for e in page] for page in pages] == [
        ["early", "briefing", "launch", "launch-day"], ["end-day", "end"]]
    assert [[label(e) for e in page] for page in taxonomy.timeline_pages(timeline, 3)] == [
        [label(e) for e in timeline]]
    only_milestones = taxonomy.campaign_timeline(SPRING, [])
    assert taxonomy.timeline_pages(only_milestones, 2) == [only_milestones]


def test_campaign_status_and_scale() -> None:
    assert taxonomy.campaign_status(SPRING, date(2026, 1, 1)) == "planned"
    assert taxonomy.campaign_status(SPRING, date(2026, 2, 1)) == "briefed"
    assert taxonomy.campaign_status(SPRING, date(2026, 3, 1)) == "live"
    assert taxonomy.campaign_status(SPRING, date(2026, 6, 1)) == "ended"
    scale = taxonomy.campaign_scale(SPRING, [make("late", "mkt", "2026-06-30")])
    assert scale is not None
    assert (scale.start, scale.end) == (date(2026, 2, 1), date(2026, 6, 30))
    assert scale.at(date(2026, 2, 1)) == 0.0
    assert scale.at(date(2026, 6, 30)) == 100.0
    assert taxonomy.campaign_scale(Campaign("y", "Y", "mkt"), []) is None


def test_campaigns_newest_first() -> None:
    registry = Registry(teams=TEAMS, campaigns={
        "old": Campaign("old", "Old", "mkt", launch=date(2025, 1, 1)),
        "none": Campaign("none", "Undated", "mkt"),
        "new": Campaign("new", "New", "mkt", briefing=date(2026, 1, 1))})
    assert [c.id for c in taxonomy.campaigns_newest_first(registry)] == ["new", "old", "none"]


def test_abbreviations_are_short_and_unique() -> None:
    teams = [Team("mkt", "Marketing"), Team("sup", "Customer Support"), Team("hr", "People & HR"),
             Team("sales", "Sales"), Team("fin", "Finance"), Team("finland", "Finland office"),
             Team("fo", "Field Operations"), Team("fo2", "Fleet Optimisation"),
             Team("it", "IT"), Team("legal", "Legal"), Team("eng", "Engineering"),
             Team("ic", "Internal Communications")]
    short = taxonomy.abbreviations(teams)
    assert short["mkt"] == "Mar."
    assert short["sup"] == "CS"
    assert short["hr"] == "HR"
    assert short["sales"] == "Sales"
    assert short["ic"] == "IC"
    assert len(set(short.values())) == 12
    assert all(len(s) <= 5 for s in short.values())


def test_kpi_id_of_the_connections_page_is_reserved(project: Project) -> None:
    from conftest import KPIS

    project.registry("kpis", [*KPIS, {"id": "connections", "name": "Links", "owner": "hr"}])
    error = project.build_error()
    assert "stories/kpis.yml:" in error
    assert "KPI id 'connections' is reserved for the page /kpis/connections/ " \
        "(choose another id, e.g. 'kpi-connections')" in error
