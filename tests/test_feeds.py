"""Feeds end to end: RSS 2.0, Atom 1.0 and JSON Feed 1.1 of real tiny sites, parsed with
feedparser, lxml and json (checked against the JSON Feed 1.1 required fields)."""

from __future__ import annotations

import io
import json
import mimetypes
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import feedparser
import jsonschema
import lxml.etree
import lxml.html
import pytest
from PIL import Image

from conftest import SITE_URL, Built, Project, guarding_warnings, snapshot
from site_browser import browser, serve
from storyhub.feeds import absolute_urls, tag_uri

BASE = SITE_URL
FORMATS = ("rss.xml", "atom.xml", "feed.json")
BODY = """\
Support told us what customers ask, so we wrote [their week](../support-week/) up and
[jumped to the results](#results).

![Tickets by category](images/chart.png)

<!-- more -->

## Results

<img src="images/chart.png" srcset="images/chart.png 1x, images/chart.png 2x" alt="Chart again">

Questions? <a href="mailto:mkt@example.com">Mail us</a> or read [the spec](https://example.org/spec).
"""

# Which published stories belong in which feed, written out by hand from the corpus below.
EXPECTED = {
    "feeds/all/": ["spring-hiring", "csat-up", "support-week", "blog-from-tickets",
                   "why-people-stay"],
    "feeds/teams/marketing/": ["spring-hiring", "blog-from-tickets"],
    "feeds/teams/support/": ["csat-up", "support-week", "blog-from-tickets"],
    "feeds/teams/hr/": ["spring-hiring", "support-week", "why-people-stay"],
    "feeds/teams/finance/": [],
    "feeds/kpis/nps/": ["blog-from-tickets"],
    "feeds/kpis/csat/": ["csat-up", "support-week"],
    "feeds/kpis/ticket-volume/": ["csat-up", "blog-from-tickets"],
    "feeds/kpis/turnover/": ["why-people-stay"],
    "feeds/kpis/cpa/": [],
    "feeds/campaigns/spring/": ["spring-hiring", "blog-from-tickets"],
    "feeds/newsletters/support-digest/": ["csat-up", "support-week", "blog-from-tickets"],
}

# The required and typed fields of JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/).
JSON_FEED_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["version", "title", "items"],
    "properties": {
        "version": {"const": "https://jsonfeed.org/version/1.1"},
        "title": {"type": "string", "minLength": 1},
        "home_page_url": {"type": "string", "pattern": "^https?://"},
        "feed_url": {"type": "string", "pattern": "^https?://"},
        "description": {"type": "string"},
        "language": {"type": "string"},
        "authors": {"type": "array", "items": {"$ref": "#/$defs/author"}},
        "items": {"type": "array", "items": {
            "type": "object",
            "required": ["id"],
            "anyOf": [{"required": ["content_html"]}, {"required": ["content_text"]}],
            "properties": {
                "id": {"type": "string", "minLength": 1},
                "url": {"type": "string", "pattern": "^https?://"},
                "title": {"type": "string"},
                "content_html": {"type": "string"},
                "summary": {"type": "string"},
                "image": {"type": "string", "pattern": "^https?://"},
                "date_published": {"type": "string", "format": "date-time"},
                "date_modified": {"type": "string", "format": "date-time"},
                "authors": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/author"}},
                "tags": {"type": "array", "items": {"type": "string"}},
                "attachments": {"type": "array", "items": {
                    "type": "object", "required": ["url", "mime_type"],
                    "properties": {"url": {"type": "string", "pattern": "^https?://"},
                                   "mime_type": {"type": "string"},
                                   "size_in_bytes": {"type": "integer", "minimum": 1}}}},
            },
        }},
    },
    "$defs": {"author": {"type": "object", "anyOf": [{"required": ["name"]}, {"required": ["url"]}],
                         "properties": {"name": {"type": "string"}, "url": {"type": "string"}}}},
}


def png(color: str, size: tuple[int, int] = (640, 360)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


def write_corpus(project: Project) -> None:
    project.add("marketing/images/cover.png", png("#9c2b00"))
    project.add("marketing/images/chart.png", png("#00695c", (320, 200)))
    project.story("marketing", "2026-03-02-blog-from-tickets", title="Tickets became our blog",
                  authors=["ana", "ben"], kpis=["nps", "ticket-volume"], featuring=["support"],
                  campaign="spring", tags=["content", "support"], cover="images/cover.png",
                  cover_alt="A rust-coloured cover", body=BODY)
    project.story("support", "2026-03-09-support-week", title="A week in support",
                  authors=["ben"], kpis=["csat"], featuring=["hr"])
    project.story("support", "2026-04-01-csat-up", title="CSAT is up", authors=["ben"],
                  kpis=["csat", "ticket-volume"], date="2026-04-01 09:30:00+02:00")
    project.story("hr", "2026-02-10-why-people-stay", title="Why people stay",
                  authors=["chloe"], kpis=["turnover"], tags=["retention"])
    project.story("hr", "2026-05-04-spring-hiring", title="Spring hiring",
                  authors=["chloe"], campaign="spring", featuring=["marketing"])
    project.story("hr", "2026-01-05-draft-idea", title="Draft idea", authors=["chloe"],
                  draft=True, kpis=["csat"])
    project.story("finance", "2099-01-01-future", title="Future plans", authors=["ana"],
                  kpis=["cpa"], campaign="spring")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    """One site built for all read-only checks of this module (building is the slow part)."""
    project = Project(tmp_path_factory.mktemp("feeds") / "project")
    write_corpus(project)
    with guarding_warnings():
        yield project.build()


def slug_of(url: str) -> str:
    assert url.startswith(BASE + "stories/"), url
    return url[len(BASE + "stories/"):].strip("/")


def parse_xml(built: Built, url: str) -> Any:
    data = built.path(url).read_bytes()
    lxml.etree.fromstring(data)  # well-formed XML, or this raises
    parsed = feedparser.parse(data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return parsed


def content_urls(fragment: str) -> list[str]:
    tree = lxml.html.fragment_fromstring(fragment, create_parent="div")
    urls = [e.get(a) for e in tree.iter() for a in ("href", "src") if e.get(a) is not None]
    urls += [c.split()[0] for e in tree.iter() for c in (e.get("srcset") or "").split(",")
             if c.strip()]
    return urls


def is_absolute(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "mailto" or (parts.scheme in ("http", "https") and bool(parts.netloc))


@pytest.mark.parametrize("folder", EXPECTED)
def test_each_feed_parses_in_three_formats_and_holds_exactly_its_stories(
        built: Built, folder: str) -> None:
    rss = parse_xml(built, folder + "rss.xml")
    atom = parse_xml(built, folder + "atom.xml")
    assert rss.version == "rss20"
    assert atom.version == "atom10"
    data = json.loads(built.text(folder + "feed.json"))
    jsonschema.validate(data, JSON_FEED_SCHEMA, format_checker=jsonschema.FormatChecker())
    want = EXPECTED[folder]
    assert [slug_of(e.link) for e in rss.entries] == want
    assert [slug_of(e.link) for e in atom.entries] == want
    assert [slug_of(i["url"]) for i in data["items"]] == want
    # The same item has the same id in every format.
    ids = [e.id for e in rss.entries]
    assert ids == [e.id for e in atom.entries] == [i["id"] for i in data["items"]]
    assert data["feed_url"] == BASE + folder + "feed.json"
    assert rss.feed.title == atom.feed.title == data["title"]


@pytest.mark.parametrize("folder", EXPECTED)
def test_no_relative_url_in_any_item_content(built: Built, folder: str) -> None:
    fragments = [c.value for e in parse_xml(built, folder + "rss.xml").entries for c in e.content]
    fragments += [c.value for e in parse_xml(built, folder + "atom.xml").entries for c in e.content]
    fragments += [i["content_html"] for i in json.loads(built.text(folder + "feed.json"))["items"]]
    urls = [url for fragment in fragments for url in content_urls(fragment)]
    assert [u for u in urls if not is_absolute(u)] == []
    if "blog-from-tickets" in EXPECTED[folder]:
        assert BASE + "stories/support-week/" in urls  # '../support-week/' from the story page
        assert BASE + "stories/blog-from-tickets/#results" in urls
        assert "mailto:mkt@example.com" in urls
        assert "https://example.org/spec" in urls
        images = [u for u in urls if "/media/" in u]
        assert len(images) >= 2 and all(u.startswith(BASE + "media/") for u in images)
        for image in images:
            assert built.exists(image[len(BASE):]), image


def test_item_has_dates_with_time_zone_authors_categories_summary_and_cover(built: Built) -> None:
    rss = {slug_of(e.link): e for e in parse_xml(built, "feeds/all/rss.xml").entries}
    atom = {slug_of(e.link): e for e in parse_xml(built, "feeds/all/atom.xml").entries}
    items = {slug_of(i["url"]): i for i in json.loads(built.text("feeds/all/feed.json"))["items"]}
    tree = lxml.etree.fromstring(built.path("feeds/all/rss.xml").read_bytes())
    item = tree.xpath("//item[title='Tickets became our blog']")[0]
    # A date without a time zone is in the site's time zone (Europe/Berlin: +01:00 in March).
    assert item.findtext("pubDate") == "Mon, 02 Mar 2026 00:00:00 +0100"
    assert atom["blog-from-tickets"].published == "2026-03-02T00:00:00+01:00"
    assert atom["blog-from-tickets"].updated == "2026-03-02T00:00:00+01:00"
    assert items["blog-from-tickets"]["date_published"] == "2026-03-02T00:00:00+01:00"
    assert items["csat-up"]["date_published"] == "2026-04-01T09:30:00+02:00"
    # Authors: dc:creator in RSS (RSS <author> needs an e-mail), names and pages in Atom and JSON.
    creators = item.findall("{http://purl.org/dc/elements/1.1/}creator")
    assert [c.text for c in creators] == ["Ana Lima", "Ben Okafor"]
    assert [a.name for a in atom["blog-from-tickets"].authors] == ["Ana Lima", "Ben Okafor"]
    assert items["blog-from-tickets"]["authors"][0] == {"name": "Ana Lima",
                                                        "url": BASE + "authors/ana/"}
    # Categories: telling and featured team, KPIs, campaign, tags.
    categories = [(c.text, c.get("domain")) for c in item.findall("category")]
    assert categories == [
        ("Marketing", BASE + "teams/"), ("Customer Support", BASE + "teams/"),
        ("Net Promoter Score", BASE + "kpis/"), ("Ticket volume", BASE + "kpis/"),
        ("Spring launch", BASE + "campaigns/"), ("content", None), ("support", None),
    ]
    assert [(t.term, t.label) for t in atom["blog-from-tickets"].tags][:2] == [
        ("marketing", "Marketing"), ("support", "Customer Support")]
    assert items["blog-from-tickets"]["tags"] == [
        "Marketing", "Customer Support", "Net Promoter Score", "Ticket volume", "Spring launch",
        "content", "support"]
    assert items["blog-from-tickets"]["_storyhub"]["kpis"] == ["nps", "ticket-volume"]
    # Summary is the part above <!-- more -->, as plain text; content is the full story.
    assert rss["blog-from-tickets"].summary.startswith("Support told us what customers ask")
    assert "Results" in items["blog-from-tickets"]["content_html"]
    assert "Results" not in items["blog-from-tickets"]["summary"]
    # The cover: enclosure / link rel=enclosure / image, with the size of the file served.
    enclosure = item.find("enclosure")
    served = built.path(enclosure.get("url")[len(BASE):])
    mime = mimetypes.guess_type(served.name)[0]
    assert mime in ("image/jpeg", "image/png") and enclosure.get("type") == mime
    assert int(enclosure.get("length")) == served.stat().st_size
    links = atom["blog-from-tickets"].links
    assert [link.rel for link in links] == ["alternate", "enclosure"]
    assert links[1].href == enclosure.get("url") and links[1].type == mime
    assert int(links[1].length) == served.stat().st_size
    assert items["blog-from-tickets"]["image"] == enclosure.get("url")
    assert items["blog-from-tickets"]["attachments"] == [{
        "url": enclosure.get("url"), "mime_type": mime,
        "size_in_bytes": served.stat().st_size, "title": "A rust-coloured cover"}]
    assert "image" not in items["support-week"]
    assert rss["support-week"].get("enclosures") == []


def test_feed_date_comes_from_the_newest_item_not_the_clock(built: Built) -> None:
    tree = lxml.etree.fromstring(built.path("feeds/teams/hr/rss.xml").read_bytes())
    assert tree.findtext("channel/lastBuildDate") == "Mon, 04 May 2026 00:00:00 +0200"
    atom = parse_xml(built, "feeds/teams/hr/atom.xml")
    assert atom.feed.updated == "2026-05-04T00:00:00+02:00"
    # An empty feed is dated by the site's newest story, so it is deterministic too.
    empty = parse_xml(built, "feeds/kpis/cpa/atom.xml")
    assert empty.entries == [] and empty.feed.updated == "2026-05-04T00:00:00+02:00"


def test_drafts_and_scheduled_stories_are_in_no_feed(built: Built) -> None:
    everything = "".join(p.read_text("utf-8") for p in (built.site / "feeds").rglob("*.*"))
    assert "Draft idea" not in everything and "draft-idea" not in everything
    assert "Future plans" not in everything and "/future/" not in everything


def test_pages_advertise_their_feeds_with_alternate_links(built: Built) -> None:
    for page, feed, title in [
        ("", "feeds/all/", "Test Stories"),
        ("teams/hr/", "feeds/teams/hr/", "Test Stories — People & HR"),
        ("kpis/csat/", "feeds/kpis/csat/", "Test Stories — Customer satisfaction"),
        ("newsletters/support-digest/", "feeds/newsletters/support-digest/",
         "Test Stories — Support digest"),
    ]:
        links = built.html(page).xpath("//head/link[@rel='alternate']")
        found = [(link.get("type"), link.get("title"), link.get("href")) for link in links]
        prefix = "../" * page.count("/")
        assert found == [
            ("application/rss+xml", f"{title} (RSS)", f"{prefix}{feed}rss.xml"),
            ("application/atom+xml", f"{title} (Atom)", f"{prefix}{feed}atom.xml"),
            ("application/feed+json", f"{title} (JSON Feed)", f"{prefix}{feed}feed.json"),
        ], page
        for _, _, href in found:  # each advertised feed exists
            assert (built.path(page).parent / href).resolve().is_file()
    assert built.html("stories/support-week/").xpath("//head/link[@rel='alternate']") == []


def test_feeds_page_lists_every_feed_with_urls_and_copy_buttons(built: Built) -> None:
    page = built.html("feeds/")
    sections = page.xpath("//section[contains(@class,'sh-feed')]")
    assert len(sections) == len(EXPECTED)
    for section, folder in zip(sections, EXPECTED, strict=True):
        assert section.xpath(".//p[@class='sh-feed__holds']")[0].text_content().strip()
        rows = section.xpath(".//ul[@class='sh-feed__urls']/li")
        assert [r.xpath("./code")[0].text_content() for r in rows] == \
            [BASE + folder + name for name in FORMATS]
        hrefs = [r.xpath("./a")[0].get("href") for r in rows]
        assert hrefs == [folder.removeprefix("feeds/") + name for name in FORMATS]
        buttons = section.xpath(".//button")
        assert [b.get("type") for b in buttons] == ["button"] * 3
        assert [b.get("data-copy") for b in buttons] == [BASE + folder + n for n in FORMATS]
        assert all(b.get("aria-label", "").startswith("Copy the ") for b in buttons)
    count = page.xpath("//section[@aria-labelledby='feeds-teams-support']//h3/span")[0].text
    assert count == "3"
    # The copy buttons work offline: no script comes from another host.
    assert [src for src in page.xpath("//script/@src") if "//" in src] == []


def test_copy_button_works_from_the_keyboard(built: Built) -> None:
    with serve(built.site) as base, browser() as chromium:
        context = chromium.new_context(permissions=["clipboard-read", "clipboard-write"])
        page = context.new_page()
        page.goto(base + "feeds/")
        button = page.locator("button[data-copy$='feeds/teams/hr/atom.xml']")
        button.focus()
        page.keyboard.press("Enter")
        page.wait_for_function("document.getElementById('sh-copy-status').textContent !== ''")
        assert page.evaluate("navigator.clipboard.readText()") == BASE + "feeds/teams/hr/atom.xml"
        assert page.text_content("#sh-copy-status") == f"Copied {BASE}feeds/teams/hr/atom.xml"
        assert button.text_content() == "Copied"
        context.close()


def feed_ids(built: Built) -> dict[str, dict[str, str]]:
    """Item id by story title in the all-stories feed, per format."""
    rss = parse_xml(built, "feeds/all/rss.xml")
    atom = parse_xml(built, "feeds/all/atom.xml")
    data = json.loads(built.text("feeds/all/feed.json"))
    return {"rss": {e.title: e.id for e in rss.entries},
            "atom": {e.title: e.id for e in atom.entries},
            "json": {i["title"]: i["id"] for i in data["items"]}}


def test_ids_survive_editing_redating_and_moving_a_story(project: Project) -> None:
    project.story("hr", "2026-03-02-onboarding", title="Onboarding", authors=["chloe"])
    project.story("support", "2026-03-05-other", title="Other", authors=["ben"])
    before = feed_ids(project.build(site_dir=project.root / "before"))
    old = project.root / "stories/hr/2026-03-02-onboarding.md"
    old.unlink()
    # New body, new date (in the file name and front matter) and another team's folder.
    project.story("support", "2026-04-20-onboarding", title="Onboarding", authors=["chloe"],
                  body="A completely rewritten body.\n\nWith a second paragraph.")
    after_build = project.build(site_dir=project.root / "after")
    after = feed_ids(after_build)
    assert before == after
    assert before["atom"]["Onboarding"] == "tag:intranet.example.com,2026:/stories/onboarding"
    moved = parse_xml(after_build, "feeds/teams/support/atom.xml")
    assert "Onboarding" in [e.title for e in moved.entries]
    assert parse_xml(after_build, "feeds/teams/hr/atom.xml").entries == []


def test_two_builds_give_byte_identical_feeds_and_digests(project: Project) -> None:
    write_corpus(project)
    first = project.build(site_dir=project.root / "one")
    second = project.build(site_dir=project.root / "two")
    for folder in ("feeds", "newsletters"):
        one, two = snapshot(first.site / folder), snapshot(second.site / folder)
        assert len(one) > 30 if folder == "feeds" else len(one) > 3
        assert one == two


def test_feed_size_keeps_the_newest_items(project: Project) -> None:
    project.config(feed_size=2)
    for day in ("01", "02", "03", "04"):
        project.story("hr", f"2026-03-{day}-story-{day}", title=f"Story {day}", authors=["chloe"])
    built = project.build()
    rss = parse_xml(built, "feeds/all/rss.xml")
    assert [e.title for e in rss.entries] == ["Story 04", "Story 03"]
    assert len(json.loads(built.text("feeds/teams/hr/feed.json"))["items"]) == 2
    # The feeds page still says how many stories belong in all.
    assert "holds the newest 2 stories" in built.html("feeds/").text_content()


def test_missing_site_url_is_a_clear_error(project: Project) -> None:
    project.config(text=f"""\
site_name: Test Stories
theme:
  name: material
plugins:
  - storyhub:
      cache_dir: {project.root / '.cache'}
""")
    message = project.build_error()
    assert "feeds and newsletter digests need absolute URLs, but mkdocs.yml has no site_url" \
        in message
    assert "site_url: https://" in message and "feeds: false" in message


def test_sites_without_feeds_build_without_site_url(project: Project) -> None:
    project.config(text=f"""\
site_name: Test Stories
theme:
  name: material
plugins:
  - storyhub:
      feeds: false
      cache_dir: {project.root / '.cache'}
""")
    project.story("hr", "2026-03-02-onboarding", title="Onboarding", authors=["chloe"])
    built = project.build()
    assert built.exists("stories/onboarding/")
    assert not (built.site / "feeds").exists() and not (built.site / "newsletters").exists()
    assert built.html("teams/hr/").xpath("//link[@rel='alternate']") == []


def test_a_hand_written_file_at_a_feed_path_is_a_conflict(project: Project) -> None:
    (project.root / "docs/feeds/all").mkdir(parents=True)
    (project.root / "docs/feeds/all/rss.xml").write_text("<rss/>", "utf-8")
    assert "docs/feeds/all/rss.xml conflicts with the generated /feeds/all/rss.xml" \
        in project.build_error()


def test_absolute_urls_resolves_against_the_story_page() -> None:
    page = "https://h.example/site/stories/a/"
    html = ('<p><a href="../b/">b</a> <a href="#x">x</a> <a href="mailto:m@x.org">m</a>'
            '<picture><source type="image/webp" srcset="../../media/i.webp 480w">'
            '<img src="../../media/i.png" srcset="../../media/i.png 480w" alt="i"></picture></p>')
    out = absolute_urls(html, page)
    tree = lxml.html.fragment_fromstring(out, create_parent="div")
    assert [a.get("href") for a in tree.iter("a")] == [
        "https://h.example/site/stories/b/", "https://h.example/site/stories/a/#x", "mailto:m@x.org"]
    # Responsive markup is reduced to its <img>: one absolute URL a feed reader can fetch.
    assert tree.xpath("//picture | //source | //@srcset") == []
    image = tree.find(".//img")
    assert image.get("src") == "https://h.example/site/media/i.png"
    assert image.get("alt") == "i"


def test_tag_uri_uses_host_and_site_path_only() -> None:
    assert tag_uri("https://intra.example.com:8443/news/", "welcome") == \
        "tag:intra.example.com,2026:/news/welcome"
    assert tag_uri("http://intra.example.com/", "welcome") == "tag:intra.example.com,2026:/welcome"
