"""End-to-end: a real tiny site built with the strict MkDocs build."""

from __future__ import annotations

from pathlib import Path

import pytest
from mkdocs.config import load_config
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

from conftest import Built, Project, snapshot
from storyhub import pages
from storyhub.cards import CARD_DIR


def test_story_page_shows_everything_the_story_says(project: Project) -> None:
    project.story("marketing", "2026-03-02-blog-from-tickets", title="Tickets became our blog",
                  authors=["ana", "ben"], kpis=["nps", "ticket-volume"], featuring=["support"],
                  inspired_by=[{"team": "support", "note": "The weekly ticket digest."}],
                  campaign="spring", audience="all", tags=["content", "support"],
                  results={"ticket-volume": "-12% how-to tickets"}, body="Body text " * 500)
    built = project.build()
    page = built.html("stories/blog-from-tickets/")
    assert [h.text_content() for h in page.xpath("//h1")] == ["Tickets became our blog"]
    article = page.xpath("//article[contains(@class,'sh-story')]")[0]
    text = article.text_content()
    assert "2 March 2026" in text
    assert "5 min read" in text  # 1000 words at 220 per minute
    assert "For all" in text
    authors = article.xpath(".//ul[@class='sh-authors']/li")
    assert [a.xpath("./a")[0].text for a in authors] == ["Ana Lima", "Ben Okafor"]
    assert "Content lead" in authors[0].text_content()
    chips = article.xpath(".//header//a[contains(@class,'sh-chip')]")
    assert [(c.text, c.get("href")) for c in chips] == [
        ("Net Promoter Score", "../../kpis/nps/"), ("Ticket volume", "../../kpis/ticket-volume/")]
    assert "sh-chip--cross" in chips[1].get("class")  # support owns ticket-volume
    kicker = [a.text for a in article.xpath(".//p[@class='sh-story__kicker']/a")]
    assert kicker == ["Marketing", "Customer Support"]
    assert article.xpath(".//a[@class='sh-campaign']")[0].text == "Spring launch"
    credits = article.xpath(".//aside[@class='sh-credits']//li")
    assert "The weekly ticket digest." in credits[0].text_content()
    rows = article.xpath(".//section[@class='sh-results']//tbody/tr")
    assert rows[0].xpath("./td")[2].text == "-12% how-to tickets"
    assert "#content" in article.xpath(".//p[@class='sh-tags']")[0].text_content()
    assert page.xpath("//a[@class='sh-team']")[0].get("style") == "--sh-team: #9c2b00"


def test_home_shows_featured_and_latest_cards(project: Project) -> None:
    project.story("hr", "2026-01-05-old", title="Old news", authors=["chloe"])
    project.story("hr", "2026-04-05-big", title="Big news", authors=["chloe"], featured=True)
    built = project.build()
    home = built.html("")
    featured = home.xpath("//h2[@id='featured']/following-sibling::div[1]//h3/a/text()")
    latest = home.xpath("//h2[@id='latest']/following-sibling::div[1]//h3/a/text()")
    assert featured == ["Big news"]
    assert latest == ["Big news", "Old news"]


def test_drafts_and_scheduled_stories_are_not_published(project: Project) -> None:
    project.story("hr", "2026-01-05-live", title="Live", authors=["chloe"])
    project.story("hr", "2026-01-06-wip", title="Work in progress", authors=["chloe"], draft=True)
    project.story("hr", "2099-01-01-later", title="Later", authors=["chloe"])
    built = project.build()
    assert built.exists("stories/live/")
    assert not built.exists("stories/wip/")
    assert not built.exists("stories/later/")
    every_page = "".join(p.read_text("utf-8") for p in built.site.rglob("*.html"))
    assert "Work in progress" not in every_page
    assert "Later" not in every_page


def test_serve_mode_shows_drafts_with_a_badge(project: Project) -> None:
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    project.story("hr", "2026-01-06-wip", title="Work in progress", authors=["chloe"], draft=True)
    config = load_config(str(project.root / "mkdocs.yml"), site_dir=str(project.root / "live"))
    config.plugins.on_startup(command="serve", dirty=False)
    build(config, serve_url="http://127.0.0.1:8000/")
    built = Built(project.root / "live")
    badge = built.html("stories/wip/").xpath("//span[contains(@class,'sh-badge--draft')]")
    assert [b.text for b in badge] == ["Draft"]


def test_archive_groups_by_month_and_year_pages(project: Project) -> None:
    project.story("hr", "2025-12-30-a", title="December", authors=["chloe"])
    project.story("hr", "2026-01-05-b", title="January one", authors=["chloe"])
    project.story("hr", "2026-01-20-c", title="January two", authors=["chloe"])
    built = project.build()
    archive = built.html("archive/")
    months = [h.text.strip() for h in archive.xpath("//section[@class='sh-month']/h2")]
    assert months == ["January 2026", "December 2025"]
    jan = archive.xpath("//h2[@id='m-2026-01']/following-sibling::ul[1]/li/a[last()]/text()")
    assert jan == ["January two", "January one"]
    year = built.html("archive/2025/")
    assert year.xpath("//section[@class='sh-month']//li/a[last()]/text()") == ["December"]


def test_team_and_author_pages(project: Project) -> None:
    project.story("support", "2026-02-01-x", title="Support story", authors=["ben"])
    built = project.build()
    team = built.html("teams/support/")
    assert team.xpath("//h1")[0].text.strip() == "Customer Support"
    assert team.xpath("//div[@class='sh-grid']//h3/a/text()") == ["Support story"]
    assert built.html("teams/finance/").xpath("//p[@class='sh-empty']")
    author = built.html("authors/ben/")
    assert author.xpath("//div[@class='sh-grid']//h3/a/text()") == ["Support story"]


def test_stories_are_not_in_the_navigation(project: Project) -> None:
    for day in range(1, 6):
        project.story("hr", f"2026-01-0{day}-s{day}", title=f"Story {day}", authors=["chloe"])
    built = project.build()
    nav = built.html("").xpath("//nav[contains(@class,'md-nav--primary')]")[0]
    assert not [a for a in nav.xpath(".//a/@href") if "stories/" in a]


def test_build_writes_nothing_into_stories_or_docs(project: Project) -> None:
    project.story("hr", "2026-01-05-live", title="Live", authors=["chloe"])
    (project.root / "docs" / "about.md").write_text("# About\n", "utf-8")
    before = snapshot(project.root / "stories"), snapshot(project.root / "docs")
    built = project.build()
    assert built.exists("about/")
    assert (snapshot(project.root / "stories"), snapshot(project.root / "docs")) == before


def test_no_external_requests_in_pages(project: Project) -> None:
    project.story("hr", "2026-01-05-live", title="Live", authors=["chloe"])
    built = project.build()
    for page in built.site.rglob("*.html"):
        tree = built.html(page.relative_to(built.site).as_posix())
        for element in tree.xpath("//script[@src]|//link[@href]|//img[@src]"):
            url = element.get("src") or element.get("href")
            if element.tag == "link" and element.get("rel") == "canonical":
                continue
            assert not url.startswith(("http:", "https:", "//")), (page, url)


@pytest.mark.parametrize(("docs_file", "message"), [
    ("teams/hr/index.md", "docs/teams/hr/index.md conflicts with the generated page /teams/hr/"),
    (f"{CARD_DIR}launch.png", f"docs/{CARD_DIR}launch.png conflicts with the generated social card"),
    ("feeds/all/feed.json", "docs/feeds/all/feed.json conflicts with the generated /feeds/all/feed.json"),
])
def test_a_hand_written_file_where_a_generated_one_goes_fails_the_build(
        project: Project, docs_file: str, message: str) -> None:
    project.story("hr", "2026-03-02-launch", title="Launch", authors=["chloe"])
    path = project.root / "docs" / docs_file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"# Mine\n")
    assert message in project.build_error()


@pytest.mark.parametrize(("title", "markdown"), [
    ("HR", ""), ("Tom's \"A\\B\" <b>&amp; 😀 é: #x", ""),
    ("HR", "# Added by another plugin\n\nSee [the guide](#guide)."),
])
def test_a_generated_page_reads_and_renders_as_mkdocs_reads_and_renders_its_file(
        project: Project, title: str, markdown: str) -> None:
    """Generated pages skip MkDocs' YAML and Markdown when they have no Markdown."""
    project.config()
    config = load_config(str(project.root / "mkdocs.yml"))
    source = Path(config.docs_dir) / "teams/hr/index.md"
    source.parent.mkdir(parents=True)
    source.write_text(pages.front_matter(title), "utf-8")
    results: list[tuple[object, ...]] = []
    for kind in ("MkDocs", "StoryHub"):
        file = File("teams/hr/index.md", config.docs_dir, config.site_dir, True)
        page = Page(None, file, config) if kind == "MkDocs" \
            else pages.GeneratedPage(file, config, title)
        assert file.page is page
        page.read_source(config)
        assert page.meta == pages.page_meta(title) and page.markdown == ""
        page.markdown = markdown
        page.render(config, Files([file]))
        results.append((page.content, [(t.title, t.id) for t in page.toc], page.title,
                        page.present_anchor_ids,
                        {f.src_uri: links for f, links in (page.links_to_anchors or {}).items()}))
    assert results[0] == results[1]
    assert ("<h1" in str(results[0][0])) == bool(markdown)
