"""Material's page around generated pages: rendered once, filled in, the same bytes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
import pytest
from mkdocs.utils.templates import url_filter
from test_theme_memo import nav_project

from conftest import Project, differences
from storyhub import theme_frame

TITLES = ["Q&A with the support team", "Don't wait for the survey", 'The "quiet" launch',
          "Fish &amp; chips on Fridays", "Less  space, more room", "Plain title"]


def frames_off(project: Project) -> None:
    path = project.root / "mkdocs.yml"
    text = path.read_text("utf-8")
    path.write_text(text.replace("      timezone: Europe/Berlin\n",
                                 "      timezone: Europe/Berlin\n      theme_frames: false\n"),
                    "utf-8")


def titled_project(root: Path, directory_urls: bool) -> Project:
    project = nav_project(root, directory_urls)
    for day, title in enumerate(TITLES, start=10):
        project.story(("hr", "support")[day % 2], f"2026-01-{day}-t{day}", title=title,
                      authors=[("chloe", "ben")[day % 2]])
    return project


@pytest.mark.parametrize("directory_urls", [True, False])
def test_pages_are_the_same_bytes_with_and_without_frames(tmp_path: Path,
                                                         directory_urls: bool) -> None:
    """Nav pages at three depths, stories with titles Material could change, paginated
    listings, feeds pages: every page as Material renders it, most of them from a frame."""
    with_frames = titled_project(tmp_path / "a", directory_urls).build()
    # MkDocs keeps one plugin object for the builds of a process: note its numbers now.
    frames, generated = with_frames.plugin.frames, len(with_frames.plugin.specs)
    titles = [page.xpath("string(//title)") for page in
              (with_frames.html(s.url) for s in with_frames.plugin.site.catalog.stories)]
    project = titled_project(tmp_path / "b", directory_urls)
    frames_off(project)
    without = project.build()
    assert without.plugin.frames is None
    assert differences(with_frames.site, without.site) == []
    assert frames.filled > generated / 2, (frames.filled, frames.rendered)
    assert "Q&A with the support team - Test Stories" in titles
    assert 'The "quiet" launch - Test Stories' in titles


class FakePage:
    """What Material reads of a page, as MkDocs' Page has it."""

    def __init__(self, url: str, title: str, content: str = "<p>Text</p>"):
        self.url, self.title, self.content = url, title, content
        self.canonical_url = f"https://example.com/{url}"
        self.meta: dict[str, Any] = {"title": title}
        self.toc: list[Any] = []
        self.previous_page = self.next_page = self.parent = self.edit_url = None
        self.is_homepage = False


class FakeNav:
    pages: list[FakePage] = []


def theme(source: str) -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.DictLoader({"main.html": source}))
    env.filters["url"] = url_filter
    return env


# Titles as StoryHub gives them (HTML text, pages.page_meta), in three folders.
PAGES = [FakePage(f"stories/s{i}/", title) for i, title in enumerate(
    ["First story", "Second story", "R&amp;D &lt;wins&gt;", "Don&#x27;t stop", "Third story"])] + [
    FakePage("teams/hr/", "People"), FakePage("teams/hr/page/2/", "People, page 2"),
    FakePage("stories/s9/", "With a heading", "<h1>With a heading</h1><p>Text</p>")]
PLAIN = ('<title>{{ page.meta.title }}</title><link rel="canonical" '
         'href="{{ page.canonical_url }}"><a href="{{ "teams/" | url }}">Teams</a>'
         '<h2>{{ page.title }}</h2>{% if "<h1" not in page.content %}<h1>{{ page.title }}</h1>'
         '{% endif %}{{ page.content }}<script src="{{ "assets/app.js" | url }}"></script>')


def render_all(source: str) -> tuple[theme_frame.ThemeFrames, list[str], list[str]]:
    """Every page of PAGES through frames, and rendered by the theme."""
    env = theme(source)
    frames = theme_frame.ThemeFrames(env)
    frames.install()
    nav = FakeNav()
    through = [env.get_template(theme_frame.FRAME_TEMPLATE).render(page=page, nav=nav, base_url="..")
               for page in PAGES]
    direct = [env.get_template("main.html").render(page=page, nav=nav, base_url="..")
              for page in PAGES]
    return frames, through, direct


def test_frames_fill_pages_with_the_bytes_the_theme_gives() -> None:
    frames, through, direct = render_all(PLAIN)
    assert through == direct
    # stories/ gets a frame from s0 (filling s1), checked again with an "&" by s2 (filling s3
    # and s4); teams/hr/, teams/hr/page/2/ and the page with its own <h1> get frames of
    # their own.
    assert (frames.filled, frames.rendered) == (3, 5)
    assert [page.title for page in PAGES][2:4] == ["R&amp;D &lt;wins&gt;", "Don&#x27;t stop"]
    assert PAGES[0].meta == {"title": "First story"}  # the markers are gone


def test_a_theme_that_changes_a_title_stops_at_the_first_title_it_changes() -> None:
    frames, through, direct = render_all("<b>{{ page.title | striptags }}</b>" + PLAIN)
    assert through == direct
    assert frames.filled == 1  # s1, before s2 showed that striptags changes "&amp;"
    assert frames.families[next(iter(frames.families))].stopped


def through_and_direct(source: str, titles: list[str]) -> tuple[theme_frame.ThemeFrames,
                                                                 list[str], list[str]]:
    env = theme(source)
    frames = theme_frame.ThemeFrames(env)
    frames.install()
    pages = [FakePage(f"stories/t{i}/", title) for i, title in enumerate(titles)]
    nav = FakeNav()
    return frames, *(
        [env.get_template(name).render(page=page, nav=nav, base_url="..") for page in pages]
        for name in (theme_frame.FRAME_TEMPLATE, "main.html"))


@pytest.mark.parametrize("tricky", ["Two  spaces", " Leading space", "Tab\there",
                                    "Line\nbreak", "R&amp;D", "R&D <b>bold</b>"])
def test_a_title_striptags_changes_is_never_filled_in_unchecked(tricky: str) -> None:
    frames, through, direct = through_and_direct(
        "<title>{{ page.title | striptags }}</title>" + PLAIN,
        ["A plain title", "Another plain one", tricky, "A third plain title"])
    assert through == direct
    assert frames.filled == 1


def test_a_frame_checked_with_more_titles_keeps_what_each_checked() -> None:
    frames, through, direct = through_and_direct(PLAIN, [
        "Plain", "Q&amp;A", "Two  spaces", "Fish &amp; chips", "More  room", "Plain again"])
    assert through == direct
    assert (frames.filled, frames.rendered) == (3, 3)


@pytest.mark.parametrize("source", [
    "<title>{{ page.title | e }}</title>" + PLAIN,  # escaped: only a title with & is checked
    "<meta name='url' content='{{ page.url }}'>" + PLAIN,  # the page itself, outside `url`
    "<meta name='d' content='{{ page.content | striptags }}'>" + PLAIN,  # content changed
    "<a href='{{ page.url | url }}'>here</a>" + PLAIN,  # a link that names the page
    "<a href='{{ \"stories/s1/x/\" | url }}'>s1</a>" + PLAIN,  # into one page's folder
    "<a href='{{ \"stories/s1\" | url }}'>s1</a>" + PLAIN,
    "<a href='{{ \"../stories/s3/\" | url }}'>s3</a>" + PLAIN,
    "{{ page.content | length }}" + PLAIN,  # the content measured
    "{{ page.title | urlencode }}" + PLAIN,  # the title changed
])
def test_a_theme_that_shows_more_of_the_page_gets_no_wrong_frame(source: str) -> None:
    frames, through, direct = render_all(source)
    assert through == direct


def test_a_theme_that_links_the_page_itself_stops_at_once() -> None:
    """Its links change from page to page: each page would miss its frame and cost two
    renders, so the frames stop."""
    frames, through, direct = render_all("<a href='{{ page.url | url }}'>here</a>" + PLAIN)
    assert through == direct
    assert frames.filled == 0
    stopped = [family.stopped for family in frames.families.values()]
    assert stopped and all(stopped)


def test_a_theme_that_changes_the_content_is_rendered_for_every_page() -> None:
    frames, through, direct = render_all("{{ page.content | striptags }}" + PLAIN)
    assert through == direct
    assert frames.filled == 0
    assert all(family.stopped for family in frames.families.values())


def test_pages_in_the_nav_and_pages_with_neighbours_are_rendered() -> None:
    env = theme(PLAIN)
    frames = theme_frame.ThemeFrames(env)
    frames.install()
    listed = [FakePage(f"guides/g{i}/", f"Guide {i}") for i in range(3)]
    nav = FakeNav()
    nav.pages = listed
    neighbour = [FakePage(f"more/m{i}/", f"More {i}") for i in range(3)]
    for page in neighbour:
        page.next_page = listed[0]
    for page in listed + neighbour:
        out = env.get_template(theme_frame.FRAME_TEMPLATE).render(page=page, nav=nav, base_url="..")
        assert out == env.get_template("main.html").render(page=page, nav=nav, base_url="..")
    assert frames.filled == 0 and frames.families == {}
