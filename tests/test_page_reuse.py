"""Preview rebuilds reuse the pages an edit cannot have changed, and only those.

Each test runs a `mkdocs serve` session the way MkDocs does (one plugin instance, a build per
change), then builds the same input in a new session and compares every file: a rebuild that
reused pages must write exactly what a fresh preview writes (the sitemap aside: it only
lists the pages a rebuild rendered).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import jinja2
import pytest
from mkdocs.commands.build import build
from mkdocs.config import load_config

from conftest import TEAMS, Project, new_mkdocs_process, snapshot, story_text
from storyhub import page_reuse
from storyhub.plugin import StoryHubPlugin

SERVE_URL = "http://127.0.0.1:8000/stories/"
# Only rebuilds list fewer pages here; everything else must be identical.
SITEMAPS = {"sitemap.xml", "sitemap.xml.gz"}


def differences(first: Path, second: Path) -> list[str]:
    a, b = snapshot(first), snapshot(second)
    return sorted(name for name in a.keys() | b.keys()
                  if a.get(name) != b.get(name) and name not in SITEMAPS)


def serve_build(project: Project, site: Path) -> StoryHubPlugin:
    """One build of a `mkdocs serve` session; returns the (session-long) plugin instance."""
    config = load_config(str(project.root / "mkdocs.yml"), site_dir=str(site))
    config.site_url = SERVE_URL
    config.plugins.on_startup(command="serve", dirty=False)
    build(config, serve_url=SERVE_URL)
    plugin = config.plugins["storyhub"]
    assert isinstance(plugin, StoryHubPlugin)
    plugin.deferred.wait()  # feeds and digests are written in the background
    return plugin


@pytest.fixture
def session(project: Project) -> Iterator[Callable[[str], StoryHubPlugin]]:
    """Builds of one serve session into folders named by the caller; closed at the end."""
    new_mkdocs_process()
    project.config(search_index=False)  # Pagefind runs in the background; not compared here
    plugins: list[StoryHubPlugin] = []

    def rebuild(name: str) -> StoryHubPlugin:
        plugins.append(serve_build(project, project.root / name))
        return plugins[-1]

    yield rebuild
    for plugin in plugins[-1:]:
        plugin.on_shutdown()
    new_mkdocs_process()


def corpus(project: Project) -> None:
    """Enough stories that one edit leaves most pages alone: related stories, listings."""
    project.config(search_index=False, page_size=2)
    for day in range(1, 9):
        team, author = [("hr", "chloe"), ("support", "ben"), ("marketing", "ana")][day % 3]
        project.story(team, f"2026-03-{day:02d}-story-{day}", title=f"Story number {day}",
                      authors=[author], kpis=["csat"] if day % 2 else ["nps"],
                      campaign="spring" if day % 4 == 0 else None,
                      body=f"Intro of story {day}.\n\n<!-- more -->\n\nMore of story {day}.")


def edit(project: Project, day: int, **changes: object) -> None:
    team, author = [("hr", "chloe"), ("support", "ben"), ("marketing", "ana")][day % 3]
    keys: dict[str, object] = dict(
        title=f"Story number {day}", authors=[author], kpis=["csat"] if day % 2 else ["nps"],
        campaign="spring" if day % 4 == 0 else None,
        body=f"Intro of story {day}.\n\n<!-- more -->\n\nMore of story {day}.")
    keys.update(changes)
    project.add(f"{team}/2026-03-{day:02d}-story-{day}.md", story_text(
        date=f"2026-03-{day:02d}", **{k: v for k, v in keys.items() if v is not None}))


def fresh(project: Project, name: str) -> Path:
    """The same input built by a new serve session."""
    new_mkdocs_process()
    serve_build(project, project.root / name).on_shutdown()
    new_mkdocs_process()
    return project.root / name


def test_an_edited_story_rebuilds_its_pages_and_reuses_the_rest(
        project: Project, session: Callable[[str], StoryHubPlugin]) -> None:
    corpus(project)
    first = session("site-1")
    assert first.page_reuse is not None and first.page_reuse.reused == 0
    edit(project, 5, title="Story five, renamed", body="A new intro.\n\nAnd a new body.")
    second = session("site-2")
    assert second.page_reuse is not None
    assert second.page_reuse.reused > 10
    rendered = set(second.page_reuse.rendered)
    assert "stories/story-5/index.md" in rendered  # its own page
    assert "stories/story-1/index.md" in rendered  # lists story 5 as related (same KPI)
    assert "stories/story-8/index.md" not in rendered  # shows nothing of story 5
    page = (project.root / "site-2" / "stories" / "story-5" / "index.html").read_text("utf-8")
    assert "Story five, renamed" in page and "And a new body." in page
    assert differences(project.root / "site-2", fresh(project, "site-fresh")) == []


def later_date(project: Project) -> None:
    project.add("support/2026-03-04-story-4.md", story_text(
        title="Story number 4", date="2026-03-09", authors=["ben"], kpis=["nps"],
        campaign="spring", body="Intro of story 4.\n\n<!-- more -->\n\nMore of story 4."))


def new_story(project: Project) -> None:
    project.story("hr", "2026-03-10-new", title="A new story", authors=["chloe"], kpis=["csat"])


def deleted_story(project: Project) -> None:
    (project.root / "stories" / "hr" / "2026-03-03-story-3.md").unlink()


def renamed_teams(project: Project) -> None:
    project.registry("teams", [dict(t, name=t["name"] + " team") for t in TEAMS])


def hand_written_page(project: Project) -> None:
    (project.root / "docs" / "about.md").write_text("# About us\n\nWho we are.\n", "utf-8")


def broken_story(project: Project) -> None:
    project.add("hr/2026-03-11-broken.md", story_text(title="Broken", authors=["nobody"]))


CHANGES: dict[str, Callable[[Project], None]] = {
    "title and body": lambda p: edit(p, 4, title="Four, renamed", body="Other words."),
    "summary": lambda p: edit(p, 6, summary="A summary written by hand."),
    "featured": lambda p: edit(p, 3, featured=True),
    "date": later_date,
    "kpis": lambda p: edit(p, 2, kpis=["csat", "turnover"]),
    "new story": new_story,
    "deleted story": deleted_story,
    "draft": lambda p: edit(p, 7, draft=True),
    "registry": renamed_teams,
    "hand-written page": hand_written_page,
    "broken story": broken_story,
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_rebuild_after_a_change_writes_what_a_fresh_preview_writes(
        project: Project, session: Callable[[str], StoryHubPlugin], change: str) -> None:
    corpus(project)
    (project.root / "docs" / "about.md").write_text("# About\n\nHand-written.\n", "utf-8")
    session("site-1")
    CHANGES[change](project)
    session("site-2")
    assert differences(project.root / "site-1", project.root / "site-2"), "the change shows"
    assert differences(project.root / "site-2", fresh(project, "site-fresh")) == []


def test_a_story_edited_twice_and_back_is_right_each_time(
        project: Project, session: Callable[[str], StoryHubPlugin]) -> None:
    corpus(project)
    session("site-1")
    edit(project, 6, title="Six, first edit")
    session("site-2")
    edit(project, 6, title="Six, second edit")
    session("site-3")
    edit(project, 6)
    session("site-4")
    assert differences(project.root / "site-1", project.root / "site-4") == []


def months_corpus(project: Project) -> None:
    """Stories over three months, so that the archive has sections to reuse."""
    project.config(search_index=False)
    for month in (1, 2, 3):
        for day in (3, 4):
            project.story("hr", f"2026-{month:02d}-{day:02d}-m{month}-d{day}",
                          title=f"Month {month} day {day}", authors=["chloe"], kpis=["csat"])


def test_the_archive_renders_again_only_the_month_of_an_edited_title(
        project: Project, session: Callable[[str], StoryHubPlugin]) -> None:
    months_corpus(project)
    first = session("site-1")
    assert first.page_reuse is not None
    before = dict(first.page_reuse.sections)
    project.story("hr", "2026-02-04-m2-d4", title="Renamed in February", authors=["chloe"],
                  kpis=["csat"])
    second = session("site-2")
    assert second.page_reuse is not None
    after = second.page_reuse.sections
    for page in ("archive/index.md", "archive/2026/index.md"):
        assert after[(page, "2026-01")] is before[(page, "2026-01")]
        assert after[(page, "2026-03")] is before[(page, "2026-03")]
        assert after[(page, "2026-02")] is not before[(page, "2026-02")]
    archive = (project.root / "site-2" / "archive" / "index.html").read_text("utf-8")
    assert "Renamed in February" in archive and "Month 1 day 3" in archive
    assert differences(project.root / "site-2", fresh(project, "site-fresh")) == []


@pytest.mark.parametrize("change", ["draft", "new story", "date"])
def test_the_archive_is_right_after_a_change_that_moves_stories_between_months(
        project: Project, session: Callable[[str], StoryHubPlugin], change: str) -> None:
    months_corpus(project)
    session("site-1")
    keys: dict[str, object] = dict(title="Month 2 day 4", authors=["chloe"], kpis=["csat"])
    if change == "draft":
        project.story("hr", "2026-02-04-m2-d4", draft=True, **keys)
    elif change == "new story":
        project.story("hr", "2026-02-09-added", **keys)
    else:
        project.story("hr", "2026-02-04-m2-d4", **{**keys, "date": "2026-03-09"})
    session("site-2")
    assert differences(project.root / "site-1", project.root / "site-2"), "the change shows"
    assert differences(project.root / "site-2", fresh(project, "site-fresh")) == []


# --- the parts, as units ---------------------------------------------------------------------

def test_a_context_with_a_function_never_matches_and_stories_count_as_slugs() -> None:
    from datetime import UTC, datetime

    from storyhub.model import Story

    def story(title: str) -> Story:
        return Story(path="stories/hr/2026-03-02-x.md", slug="x", title=title,
                     date=datetime(2026, 3, 2, tzinfo=UTC), team="hr", authors=("chloe",),
                     body="Text.")

    assert page_reuse.signature({"a": [story("One")]}, {}) == \
        page_reuse.signature({"a": [story("Two")]}, {})  # titles are checked per story
    assert page_reuse.signature({"a": [1, 2]}, {}) != page_reuse.signature({"a": [2, 1]}, {})
    assert page_reuse.signature({"f": len}, {}) != page_reuse.signature({"f": len}, {})
    assert page_reuse.signature({"b": b"text"}, {}) == page_reuse.signature({"b": b"text"}, {})


def test_unchanged_stories_stay_the_objects_of_the_last_rebuild() -> None:
    from datetime import UTC, datetime

    from storyhub.model import Story

    def story(name: str, title: str) -> Story:
        return Story(path=f"stories/hr/2026-03-02-{name}.md", slug=name, title=title,
                     date=datetime(2026, 3, 2, tzinfo=UTC), team="hr", authors=("chloe",),
                     body="Text.")

    last = {s.path: s for s in (story("a", "A"), story("b", "B"))}
    now = page_reuse.same_objects([story("a", "A"), story("b", "B edited"), story("c", "C")],
                                  last)
    assert now[0] is last["stories/hr/2026-03-02-a.md"]  # equal: the old object
    assert now[1].title == "B edited" and now[2].slug == "c"  # changed and new: their own


def test_templates_note_the_stories_whose_displayed_data_they_read() -> None:
    from datetime import UTC, datetime

    from storyhub.model import Story
    from storyhub.render import Rendered

    stories = [Story(path=f"stories/hr/2026-03-0{n}-s{n}.md", slug=f"s{n}", title=f"S{n}",
                     date=datetime(2026, 3, n, tzinfo=UTC), team="hr", authors=("chloe",),
                     body="Text.") for n in (1, 2, 3, 4)]
    rendered = {s.slug: Rendered("<p>Text.</p>", "Text.", 1, ()) for s in stories}
    env = page_reuse.TrackingEnvironment(undefined=jinja2.StrictUndefined)
    env.rendered = rendered
    template = env.from_string(
        "{{ stories | length }} {{ stories[0].title }} {{ stories[1].team }}"
        " {{ rendered[stories[2].slug].summary }} {{ stories | map(attribute='url') | list }}")
    env.touched = set()
    template.render(stories=stories[:3], rendered=rendered)
    # s1: title; s2: only its team (structure); s3: its rendering; all three: url.
    assert env.touched == {"s1", "s2", "s3"}
    env.touched = set()
    env.from_string("{{ stories[1].team }}").render(stories=stories)
    assert env.touched == set()
    env.from_string("{{ rendered.values() | list | length }}").render(rendered=rendered)
    assert env.touched == {page_reuse.EVERY_STORY}


def test_a_part_alike_on_sibling_pages_is_rendered_once_and_its_stories_noted_on_each() -> None:
    from datetime import UTC, datetime

    from storyhub import pages
    from storyhub.model import Story

    story = Story(path="stories/hr/2026-03-01-s1.md", slug="s1", title="S1",
                  date=datetime(2026, 3, 1, tzinfo=UTC), team="hr", authors=("chloe",),
                  body="Text.")
    env = pages.make_environment(page_reuse.TrackingEnvironment)
    template = env.from_string('<p>{{ story.team }}</p>{% call alike("card", story) %}'
                               '<b>{{ story.title }} #{{ count() }}</b>{% endcall %}')
    calls: list[int] = []

    def count() -> int:
        calls.append(1)
        return len(calls)

    first: set[str] = set()
    second: set[str] = set()
    outputs = [page_reuse.tracked(env, read, lambda: template.render(story=story, count=count))
               for read in (first, second)]
    assert outputs == ["<p>hr</p><b>S1 #1</b>"] * 2  # rendered once, escaped as before
    assert first == second == {"s1"}  # the title was read for both pages
    plain = pages.make_environment()
    assert plain.from_string('{% call alike("c", story) %}{{ story.title }}{% endcall %}'
                             ).render(story=story) == "S1"


def test_a_rebuild_takes_related_stories_from_the_last_catalog_only_when_their_keys_agree() -> None:
    from dataclasses import replace
    from datetime import UTC, datetime

    from storyhub.catalog import build_catalog
    from storyhub.model import Registry, Story

    stories = [Story(path=f"stories/hr/2026-03-0{n}-s{n}.md", slug=f"s{n}", title=f"S{n}",
                     date=datetime(2026, 3, n, tzinfo=UTC), team="hr", authors=("chloe",),
                     body="Text.", kpis=("csat",) if n % 2 else ("nps",)) for n in range(1, 8)]
    now = datetime(2026, 4, 1, tzinfo=UTC)
    first = build_catalog(Registry(), stories, now)
    retitled = [replace(s, title=s.title + "!") for s in stories]
    again = build_catalog(Registry(), retitled, now, previous=first)
    assert {k: [s.slug for s in v] for k, v in again.related.items()} == \
        {k: [s.slug for s in v] for k, v in first.related.items()}
    assert again.related["s1"][0].title.endswith("!")  # the new story objects
    moved = [replace(s, kpis=("csat",)) for s in stories]
    fresh = build_catalog(Registry(), moved, now)
    assert {k: [s.slug for s in v] for k, v in fresh.related.items()} != \
        {k: [s.slug for s in v] for k, v in first.related.items()}
    assert build_catalog(Registry(), moved, now, previous=first).related == fresh.related


@pytest.mark.parametrize("change", ["title and body", "new story", "deleted story", "registry"])
def test_a_rebuild_into_the_same_folder_leaves_what_a_fresh_preview_writes(
        project: Project, session: Callable[[str], StoryHubPlugin], change: str) -> None:
    """`mkdocs serve` rebuilds into one folder: the last output is set aside and merged."""
    corpus(project)
    session("site")
    before = snapshot(project.root / "site")
    CHANGES[change](project)
    plugin = session("site")
    assert plugin.page_reuse is not None
    # An edit reuses most pages; the other changes alter where stories are listed.
    assert (plugin.page_reuse.reused > 0) == (change == "title and body")
    after = snapshot(project.root / "site")
    assert {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)} - SITEMAPS
    expected = snapshot(fresh(project, "site-fresh"))
    assert sorted(k for k in after.keys() | expected.keys()
                  if after.get(k) != expected.get(k) and k not in SITEMAPS) == []
    folders = [p for p in (project.root / "site").rglob("*") if p.is_dir() and not any(p.iterdir())]
    assert folders == []  # no empty folder of a story that is gone
    assert not (project.root / "site" / page_reuse.KEPT).exists()


def test_the_parse_memo_reads_a_story_again_when_its_file_changes(tmp_path: Path) -> None:
    from storyhub import load

    path = tmp_path / "stories" / "hr" / "2026-03-02-x.md"
    path.parent.mkdir(parents=True)
    path.write_text(story_text("First title"), "utf-8")
    memo = load.ParseMemo()
    first, _ = load.load_story(path, tmp_path, 100_000, memo)
    assert first is not None and first.entry.data["title"] == "First title"
    assert load.load_story(path, tmp_path, 100_000, memo)[0] is first  # not read again
    # The same size, written in place (same inode); the file system's clock has to move on,
    # as for the watcher of `mkdocs serve`, which compares the same times and sizes.
    time.sleep(0.05)
    path.write_text(story_text("Other title"), "utf-8")
    second, _ = load.load_story(path, tmp_path, 100_000, memo)
    assert second is not None and second.entry.data["title"] == "Other title"
    path.unlink()
    path.symlink_to(tmp_path / "elsewhere.md")
    third, problems = load.load_story(path, tmp_path, 100_000, memo)
    assert third is None and "symbolic link" in problems[0].message


def test_deferred_files_wait_for_a_pause_and_a_newer_build_cancels_them(tmp_path: Path) -> None:
    errors: list[Exception] = []
    deferred = page_reuse.DeferredFiles(errors.append)
    produced: list[str] = []

    def produce() -> Iterator[tuple[str, str]]:
        produced.append("run")
        yield "feeds/all/feed.json", "{}"

    deferred.start(tmp_path, produce, delay=30)
    time.sleep(0.2)
    assert produced == []  # still waiting for the writer to pause
    deferred.cancel()  # the next rebuild: nothing was written
    assert produced == [] and not (tmp_path / "feeds").exists()
    started = time.perf_counter()
    deferred.start(tmp_path, produce, delay=30)
    deferred.wait()  # `mkdocs serve` stopping (or a test) does not wait for the pause
    assert time.perf_counter() - started < 10
    assert produced == ["run"] and (tmp_path / "feeds/all/feed.json").read_text() == "{}"
    assert errors == [] and deferred.written == {"feeds/all/feed.json"}

    def produce_other() -> Iterator[tuple[str, str]]:
        yield "feeds/teams/hr/feed.json", "[]"

    # Until the next run replaces them, the files of the last one stay (merge_kept keeps
    # them); a file the next run does not write again goes then.
    deferred.start(tmp_path, produce_other, delay=30)
    deferred.cancel()
    assert (tmp_path / "feeds/all/feed.json").is_file()
    deferred.start(tmp_path, produce_other)
    deferred.wait()
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.json")) == [
        "feeds/teams/hr/feed.json"]
    assert deferred.written == {"feeds/teams/hr/feed.json"} and errors == []


def test_merge_kept_keeps_links_in_place_and_handles_a_file_that_became_a_folder(
        tmp_path: Path) -> None:
    site, cache = tmp_path / "site", tmp_path / "cache"
    cache.mkdir()
    (cache / "card.png").write_bytes(b"card")
    (cache / "page.html").write_bytes(b"old page")

    def last_build(*names: str) -> None:
        for name in names:
            (site / name).parent.mkdir(parents=True, exist_ok=True)
            (site / name).write_text(f"last {name}")
        page_reuse.set_aside(site)

    site.mkdir()
    page_reuse.publish_files(site, {"cards/a.png": cache / "card.png",
                                    "stories/a/index.html": cache / "page.html"}, link=True)
    last_build("index.html", "gone/index.html")
    linked = (site / page_reuse.KEPT / "cards/a.png").stat().st_ino
    (cache / "page.html").unlink()
    (cache / "page.html").write_bytes(b"new page")  # re-rendered: a new file at the same path
    (site / "index.html").write_text("new home")  # what MkDocs wrote this time
    page_reuse.merge_kept(site, {"cards/a.png": cache / "card.png",
                                 "stories/a/index.html": cache / "page.html"})
    assert sorted(p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()) == [
        "cards/a.png", "index.html", "stories/a/index.html"]
    assert (site / "cards/a.png").stat().st_ino == linked  # left in place
    assert (site / "stories/a/index.html").read_bytes() == b"new page"
    assert (site / "index.html").read_text() == "new home" and not (site / "gone").exists()

    # A file the build did not write but which is to be kept (a feed, rewritten later).
    page_reuse.set_aside(site)
    (site / "index.html").write_text("home again")
    page_reuse.merge_kept(site, {"cards/a.png": cache / "card.png"},
                          keep={"stories/a/index.html"})
    assert (site / "stories/a/index.html").read_bytes() == b"new page"

    # `stories/a` was a page's folder; now a file of that name is written.
    page_reuse.set_aside(site)
    (site / "stories").mkdir()
    (site / "stories/a").write_text("a file now")
    page_reuse.merge_kept(site, {"cards/a.png": cache / "card.png"})
    assert sorted(p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()) == [
        "cards/a.png", "stories/a"]
    assert not (site / page_reuse.KEPT).exists()


def test_a_signature_that_cannot_match_does_not_match_in_another_process_either() -> None:
    import subprocess
    import sys

    code = ("from storyhub import page_reuse; "
            "print(repr(page_reuse.signature({'f': len}, {})))")
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True).stdout for _ in range(2)]
    assert runs[0] and runs[0] != runs[1]  # page_cache.py keeps digests between builds
