"""Conservation: every published story is on its page, in its listings, feeds, sitemap and
search index exactly once, and unpublished stories are nowhere; otherwise the build fails."""

from __future__ import annotations

import re
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from conftest import Built, Project
from storyhub import conservation
from storyhub.catalog import Catalog, build_catalog
from storyhub.load import load_all
from storyhub.model import Story
from storyhub.validate import validate

SITE_URL = "https://intranet.example.com/stories/"


def corpus(project: Project) -> None:
    """Stories over several teams, KPIs and a campaign; pages and feeds of two items."""
    project.config(page_size=2, feed_size=2)
    project.story("marketing", "2026-02-10-briefing", title="Briefing", authors=["ana"],
                  campaign="spring", kpis=["nps"])
    project.story("marketing", "2026-03-05-launch", title="Launch", authors=["ana"],
                  campaign="spring", kpis=["nps", "csat"], featuring=["support"])
    project.story("marketing", "2026-04-01-results", title="Results", authors=["ana"],
                  campaign="spring", kpis=["nps"], inspired_by=[{"team": "support", "note": "tickets"}])
    project.story("support", "2026-01-20-tickets", title="Tickets", authors=["ben"],
                  kpis=["csat", "ticket-volume"])
    project.story("support", "2025-12-01-old", title="Old one", authors=["ben"], kpis=["csat"])
    project.story("hr", "2026-03-10-people", title="People", authors=["chloe"], kpis=["turnover"],
                  featuring=["marketing", "support"])
    project.story("hr", "2026-03-11-draft", title="Draft", authors=["chloe"], kpis=["turnover"],
                  draft=True, campaign="spring")
    project.story("support", "2099-01-01-future", title="Future", authors=["ben"], kpis=["csat"])


def catalog_of(project: Project) -> tuple[Catalog, list[Story]]:
    """The catalog and the unpublished stories, computed like the build does."""
    stories_dir = project.root / "stories"
    checked = validate(load_all(stories_dir, project.root), stories_dir, project.root,
                       ZoneInfo("Europe/Berlin"))
    catalog = build_catalog(checked.registry, checked.stories, datetime.now(UTC))
    return catalog, [s for s in checked.stories if s.slug not in catalog.by_slug]


def check(project: Project, built: Built) -> list[str]:
    catalog, hidden = catalog_of(project)
    return conservation.check(built.site, catalog, hidden, site_url=SITE_URL, feed_size=2)


@pytest.fixture
def built(project: Project) -> Built:
    corpus(project)
    return project.build()


def test_a_correct_build_conserves_every_story(project: Project, built: Built) -> None:
    assert check(project, built) == []
    # The check really looked: the listings it counts are paginated and marked.
    assert built.exists("teams/marketing/page/2/")
    assert 'data-sh-listing' in built.text("teams/marketing/page/2/")
    assert built.exists("feeds/all/rss.xml")
    assert (built.site / "pagefind" / "fragment").is_dir()


def test_a_story_missing_from_a_listing_page(project: Project, built: Built) -> None:
    page = built.path("teams/marketing/page/2/")
    text = page.read_text("utf-8")
    # Remove the one card on page 2 (the oldest marketing story).
    page.write_text(re.sub(r'<article class="sh-card".*?</article>', "", text, flags=re.S), "utf-8")
    assert check(project, built) == [
        "teams/marketing/: 'briefing' is listed 0 times across its pages, not once"]


def test_a_story_listed_twice_across_pages(project: Project, built: Built) -> None:
    first, second = built.path("kpis/nps/"), built.path("kpis/nps/page/2/")
    row = re.search(r'<li class="sh-row">.*?</li>', first.read_text("utf-8"), re.S)
    assert row
    text = second.read_text("utf-8")
    copy = row.group(0).replace('href="../../', 'href="../../../../')  # page 2 is two folders deeper
    second.write_text(text.replace("data-sh-listing>", "data-sh-listing>" + copy, 1), "utf-8")
    problems = check(project, built)
    assert len(problems) == 1
    assert re.fullmatch(r"kpis/nps/: '[a-z]+' is listed 2 times across its pages, not once", problems[0])


def test_a_story_listed_where_it_does_not_belong(project: Project, built: Built) -> None:
    archive_2025 = built.path("archive/2025/")
    text = archive_2025.read_text("utf-8")
    archive_2025.write_text(text.replace(
        "data-sh-listing>", 'data-sh-listing><ul><li><a href="../../stories/launch/">Launch</a></li></ul>',
        1), "utf-8")
    assert check(project, built) == ["archive/2025/: lists 'stories/launch/', which does not belong there"]


def test_a_missing_story_page(project: Project, built: Built) -> None:
    shutil.rmtree(built.site / "stories" / "people")
    assert check(project, built) == ["stories/people/: the page of 'people' is missing"]


def test_a_story_page_without_its_title(project: Project, built: Built) -> None:
    page = built.path("stories/people/")
    page.write_text(page.read_text("utf-8").replace("<h1>People</h1>", "<h1>Someone else</h1>"), "utf-8")
    assert check(project, built) == [
        "stories/people/: expected one <h1> with the title of 'people', found 1 <h1>"]


def test_a_draft_page_left_in_the_output(project: Project, built: Built) -> None:
    (built.site / "stories" / "draft").mkdir()
    (built.site / "stories" / "draft" / "index.html").write_text("<h1>Draft</h1>", "utf-8")
    home = built.path("")
    home.write_text(home.read_text("utf-8").replace("</main>", '<a href="stories/draft/">x</a></main>'),
                    "utf-8")
    assert check(project, built) == [
        "stories/draft/: 'draft' is not published but has a page",
        "index.html: links 'draft', which is not published",
    ]


def test_a_feed_item_missing_or_a_draft_in_a_feed(project: Project, built: Built) -> None:
    rss = built.path("feeds/teams/hr/rss.xml")
    text = rss.read_text("utf-8")
    rss.write_text(text.replace(f"{SITE_URL}stories/people/", f"{SITE_URL}stories/draft/"), "utf-8")
    problems = check(project, built)
    assert "feeds/teams/hr/rss.xml: 'stories/people/' appears 0 times, not once" in problems
    assert "feeds/teams/hr/rss.xml: holds 'stories/draft/', which is not published" in problems


def test_a_damaged_feed_is_named_not_a_traceback(project: Project, built: Built) -> None:
    atom = built.path("feeds/teams/hr/atom.xml")
    atom.write_text(atom.read_text("utf-8")[:200], "utf-8")  # cut short
    problems = check(project, built)
    assert [p.split(" (")[0] for p in problems] == ["feeds/teams/hr/atom.xml: cannot be read"]


def test_feeds_hold_exactly_the_newest_stories(project: Project, built: Built) -> None:
    feed = built.path("feeds/all/feed.json")
    text = feed.read_text("utf-8")
    # An older story where the newest belongs (feed_size is 2).
    feed.write_text(text.replace(f"{SITE_URL}stories/results/", f"{SITE_URL}stories/old/"), "utf-8")
    assert check(project, built) == [
        "feeds/all/feed.json: 'stories/results/' appears 0 times, not once",
        "feeds/all/feed.json: holds 'stories/old/', which does not belong there",
    ]


def test_a_story_missing_from_the_sitemap_or_a_draft_in_it(project: Project, built: Built) -> None:
    sitemap = built.path("sitemap.xml")
    text = sitemap.read_text("utf-8").replace(f"{SITE_URL}stories/tickets/", f"{SITE_URL}stories/future/")
    sitemap.write_text(text, "utf-8")
    assert check(project, built) == [
        "sitemap.xml: 'stories/tickets/' appears 0 times, not once",
        "sitemap.xml: lists 'stories/future/', which is not published",
    ]


def test_a_story_missing_from_the_search_index(project: Project, built: Built) -> None:
    from storyhub.search_index import read_fragments

    fragments = sorted((built.site / "pagefind" / "fragment").glob("*.pf_fragment"))
    by_url = dict(zip((f["url"] for f in read_fragments(built.site)), fragments, strict=True))
    by_url["/stories/launch/"].unlink()
    assert check(project, built) == ["search index: 'stories/launch/' is indexed 0 times, not once"]


def test_unpublished_stories_are_nowhere(project: Project, built: Built) -> None:
    """What the check asserts, seen directly on disk."""
    everything = "".join(p.read_text("utf-8", errors="replace") for p in built.site.rglob("*")
                         if p.is_file() and p.suffix in (".html", ".xml", ".json"))
    assert "stories/draft/" not in everything
    assert "stories/future/" not in everything
    assert not built.exists("stories/draft/") and not built.exists("stories/future/")


def tamper_hook(project: Project, code: str) -> None:
    """A MkDocs hook that changes the output before StoryHub's check runs."""
    (project.root / "tamper.py").write_text(
        "from pathlib import Path\nfrom mkdocs.plugins import event_priority\n\n"
        "@event_priority(100)  # before StoryHub's on_post_build\n"
        "def on_post_build(config):\n    site = Path(config.site_dir)\n" + code, "utf-8")
    config = project.root / "mkdocs.yml"
    config.write_text(config.read_text("utf-8") + "hooks:\n  - tamper.py\n", "utf-8")


def test_the_build_fails_with_the_list_of_problems(project: Project) -> None:
    corpus(project)
    tamper_hook(project, "    import shutil\n    shutil.rmtree(site / 'stories' / 'launch')\n"
                         "    (site / 'archive' / 'index.html').write_text('<p>gone</p>')\n")
    message = project.build_error()
    # 8: the page, its 6 stories in the archive, and the search index (built after the hook ran).
    assert "StoryHub conservation check: 8 problem(s) in the built site:" in message
    assert "  stories/launch/: the page of 'launch' is missing" in message
    assert "  archive/: 'people' is listed 0 times across its pages, not once" in message


def test_the_check_is_fast(project: Project, built: Built) -> None:
    """Most of the check is regular expressions over pages; see test_check_scales_to_5000_stories."""
    catalog, hidden = catalog_of(project)
    started = time.perf_counter()
    conservation.check(built.site, catalog, hidden, site_url=SITE_URL, feed_size=2)
    assert time.perf_counter() - started < 1.0


def synthetic_site(folder: Path, count: int) -> tuple[Catalog, list[Story]]:
    """A site folder shaped like a real build of `count` stories (pages, listings, archive)."""
    from storyhub.model import Registry, Team

    teams = {f"t{i}": Team(f"t{i}", f"Team {i}") for i in range(8)}
    registry = Registry(teams=teams)
    stories = [Story(path=f"stories/t{i % 8}/x.md", slug=f"story-{i}", title=f"Story {i}",
                     date=datetime(2020, 1, 1, tzinfo=UTC).replace(day=1 + i % 28, month=1 + i % 12,
                                                                  year=2020 + i % 5),
                     team=f"t{i % 8}", authors=(), body="") for i in range(count)]
    catalog = build_catalog(registry, stories, datetime(2030, 1, 1, tzinfo=UTC))
    chrome = "<html><head><title>x</title></head><body>" + "<nav><a href='../x/'>nav</a></nav>" * 200
    for story in catalog.stories:
        page = folder / story.url / "index.html"
        page.parent.mkdir(parents=True)
        page.write_text(f"{chrome}<h1>{story.title}</h1>" + "<p>Body text of the story.</p>" * 100
                        + "</body></html>", "utf-8")

    def listing(base: str, members: list[Story]) -> None:
        for number in range(0, max(1, len(members)), 20):
            path = folder / base / (f"page/{number // 20 + 1}/" if number else "") / "index.html"
            path.parent.mkdir(parents=True, exist_ok=True)
            up = "../" * base.count("/") + ("../../" if number else "")
            cards = "".join(f'<article><a href="{up}{s.url}" aria-hidden="true">c</a>'
                            f'<h3><a href="{up}{s.url}">{s.title}</a></h3></article>'
                            for s in members[number: number + 20])
            path.write_text(f"{chrome}<div data-sh-listing><div>{cards}</div></div></body></html>", "utf-8")

    for team in teams:
        listing(f"teams/{team}/", catalog.told_by.get(team, []))
    archive = folder / "archive" / "index.html"
    archive.parent.mkdir(parents=True)
    archive.write_text(chrome + "".join(
        f'<section data-sh-listing><a href="../{s.url}">{s.title}</a></section>' for s in catalog.stories),
        "utf-8")
    years: dict[str, list[Story]] = {}
    for month, members in sorted(catalog.by_month.items(), reverse=True):
        years.setdefault(month[:4], []).extend(members)
    for year, members in years.items():
        page = folder / "archive" / year / "index.html"
        page.parent.mkdir(parents=True)
        page.write_text(chrome + "".join(f'<section data-sh-listing><a href="../../{s.url}">x</a></section>'
                                         for s in members), "utf-8")
    return catalog, []


def test_check_scales_to_5000_stories(tmp_path: Path) -> None:
    catalog, hidden = synthetic_site(tmp_path, 5000)
    started = time.perf_counter()
    assert conservation.check(tmp_path, catalog, hidden) == []
    elapsed = time.perf_counter() - started
    assert elapsed < 5.0, f"{elapsed:.2f} s"
    # And it still finds a problem in all that.
    (tmp_path / "stories" / "story-4321" / "index.html").unlink()
    assert conservation.check(tmp_path, catalog, hidden) == [
        "stories/story-4321/: the page of 'story-4321' is missing"]
