"""Caches: each story's Markdown is converted once, caches invalidate, warm builds equal clean ones.

The caches (rendered stories, image derivatives, social cards, the search index) may only
ever make a build faster: whatever changed, a build with warm caches writes exactly the bytes
of a build from nothing.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from conftest import TEAMS, Project, WarningGuard, differences, new_mkdocs_process
from storyhub import build_cache, cards, feeds, page_cache, pages, render, search_index
from storyhub.model import Story
from storyhub.plugin import StoryHubPlugin


def build_site(project: Project, site: Path) -> StoryHubPlugin:
    """`mkdocs build --strict` into `site`; returns the plugin instance that built it."""
    plugin = project.build(site_dir=site).plugin
    assert isinstance(plugin, StoryHubPlugin)
    return plugin


@pytest.fixture(autouse=True)
def fresh_plugin() -> None:
    new_mkdocs_process()


def png(color: str, size: tuple[int, int] = (640, 360)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


BODY = "Intro paragraph.\n\n<!-- more -->\n\n## What changed\n\nThe rest of the story.\n"


def small_corpus(project: Project) -> None:
    project.add("marketing/images/cover.png", png("#9c2b00"))
    project.add("support/images/chart.png", png("#00695c", (320, 200)))
    project.story("marketing", "2026-03-02-launch", title="Launch day", authors=["ana"],
                  kpis=["nps", "csat"], campaign="spring", featuring=["support"],
                  cover="images/cover.png", cover_alt="An orange square", body=BODY)
    project.story("support", "2026-02-11-tickets", title="Ticket trends", authors=["ben"],
                  kpis=["csat"], body="Intro.\n\n![A green chart](images/chart.png)\n\nMore text.")
    project.story("hr", "2026-01-15-people", title="People first", authors=["chloe"],
                  kpis=["turnover"], body=BODY)
    project.story("hr", "2026-01-16-draft", title="Draft", authors=["chloe"], draft=True)


# --- the render cache, as a unit -------------------------------------------------------------

def a_story(body: str = "Hello *world*.", path: str = "stories/hr/2026-03-02-x.md",
            summary: str | None = None) -> Story:
    return Story(path=path, slug="x", title="X", date=datetime(2026, 3, 2, tzinfo=UTC),
                 team="hr", authors=("chloe",), body=body, summary=summary)


def renderer(extensions: list[Any] | None = None, configs: dict[str, Any] | None = None,
             to_url: Callable[[str], str | None] = lambda target: None) -> render.Renderer:
    return render.Renderer(extensions or [], configs or {}, to_url)


def test_the_same_story_is_a_hit_and_a_changed_one_a_miss() -> None:
    cache = render.RenderCache(None)
    first = cache.get(renderer(), a_story())
    assert (cache.hits, cache.misses) == (0, 1)
    assert cache.get(renderer(), a_story()) is first
    assert (cache.hits, cache.misses) == (1, 1)
    for changed in (a_story(body="Hello *there*."), a_story(summary="A summary."),
                    a_story(path="stories/support/2026-03-02-x.md")):
        cache.get(renderer(), changed)
    assert (cache.hits, cache.misses) == (1, 4)


def test_other_markdown_extensions_or_settings_miss() -> None:
    cache = render.RenderCache(None)
    story = a_story(body="## Heading\n\nText.")
    plain = cache.get(renderer(), story)
    linked = cache.get(renderer(["toc"], {"toc": {"permalink": True}}), story)
    other = cache.get(renderer(["toc"], {"toc": {"permalink": "#"}}), story)
    assert cache.misses == 3
    assert 'class="headerlink"' not in plain.html
    assert 'class="headerlink"' in linked.html and ">#</a>" in other.html


def test_the_cache_survives_on_disk_and_a_damaged_file_is_only_a_miss(tmp_path: Path) -> None:
    path = tmp_path / "render.json"
    cache = render.RenderCache(path)
    rendered = cache.get(renderer(), a_story())
    cache.save()
    again = render.RenderCache(path)
    assert again.get(renderer(), a_story()) == rendered
    assert (again.hits, again.misses) == (1, 0)
    path.write_text('{"broken": ', "utf-8")
    damaged = render.RenderCache(path)
    assert damaged.get(renderer(), a_story()) == rendered
    assert (damaged.hits, damaged.misses) == (0, 1)


def test_an_image_that_appears_later_re_renders_the_story_that_points_at_it(tmp_path: Path) -> None:
    present: set[str] = set()

    def to_url(target: str) -> str | None:
        return f"../../media/{target}" if target in present else None

    story = a_story(body="![A chart](images/chart.png)")
    cache = render.RenderCache(tmp_path / "render.json")
    before = cache.get(renderer(to_url=to_url), story)
    assert 'src="images/chart.png"' in before.html and before.images == ()
    cache.save()
    present.add("stories/hr/images/chart.png")
    later = render.RenderCache(tmp_path / "render.json")
    after = later.get(renderer(to_url=to_url), story)
    assert (later.hits, later.misses) == (0, 1)
    assert 'src="../../media/stories/hr/images/chart.png"' in after.html
    assert after.images == ("stories/hr/images/chart.png",)


def test_pruning_drops_entries_of_stories_that_are_gone(tmp_path: Path) -> None:
    path = tmp_path / "render.json"
    cache = render.RenderCache(path)
    keep, gone = a_story(), a_story(body="Gone.")
    cache.get(renderer(), keep)
    cache.get(renderer(), gone)
    cache.prune()
    cache.save()
    assert len(json.loads(path.read_text("utf-8"))) == 2  # both asked for: both kept
    cache.get(renderer(), keep)  # the next build no longer has the other story
    cache.prune()
    cache.save()
    assert set(json.loads(path.read_text("utf-8"))) == {renderer().key(keep)}


# --- the search index cache ------------------------------------------------------------------

def tiny_site(folder: Path, words: str) -> Path:
    for name, text in (("index.html", "Home"), ("a/index.html", words)):
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"<!DOCTYPE html><html lang='en'><head><title>{text}</title></head><body>"
                        f"<main data-pagefind-body><h1>{text}</h1><p>{text}</p></main></body></html>")
    return folder


SHARDS = [["index.html"], ["a/index.html"]]


def pagefind_runs(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The commands of the Pagefind runs from now on (every process started)."""
    runs: list[list[str]] = []
    popen = subprocess.Popen

    def counting(command: list[str], *args: Any, **kwargs: Any) -> Any:
        runs.append(command)
        return popen(command, *args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", counting)
    return runs


def test_an_unchanged_site_takes_its_search_index_from_the_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    first = tiny_site(tmp_path / "one", "Onboarding buddies")
    assert search_index.build_index(first, SHARDS, cache_dir=cache).pages == 2
    second = tiny_site(tmp_path / "two", "Onboarding buddies")
    runs = pagefind_runs(monkeypatch)
    assert search_index.build_index(second, SHARDS, cache_dir=cache).pages == 2
    assert runs == []  # nothing changed: both shards from the cache
    assert differences(first, second) == []
    changed = tiny_site(tmp_path / "three", "Exit interviews")
    search_index.build_index(changed, SHARDS, cache_dir=cache)
    assert len(runs) == 1  # only the shard whose page changed is indexed again
    assert differences(first / "pagefind", changed / "pagefind") == []
    assert differences(first / "pagefind-2", changed / "pagefind-2") != []
    clean = tiny_site(tmp_path / "four", "Exit interviews")
    search_index.build_index(clean, SHARDS)  # no cache at all
    assert differences(changed, clean) == []
    assert len(list(cache.iterdir())) == 2  # the shards of the newest index only


def test_a_damaged_search_index_cache_is_indexed_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    first = tiny_site(tmp_path / "one", "Onboarding buddies")
    search_index.build_index(first, SHARDS, cache_dir=cache)
    packs = sorted(cache.iterdir())
    assert len(packs) == 2 and all(pack.is_file() for pack in packs)  # one file per shard
    packs[0].write_bytes(packs[0].read_bytes()[:-10])  # cut short
    packs[1].write_bytes(json.dumps([["../escape.txt", 1]]).encode() + b"\nx")  # outside
    runs = pagefind_runs(monkeypatch)
    second = tiny_site(tmp_path / "two", "Onboarding buddies")
    search_index.build_index(second, SHARDS, cache_dir=cache)
    assert len(runs) == 2  # both shards made again
    assert differences(first, second) == []
    assert not (second / "escape.txt").exists()
    third = tiny_site(tmp_path / "three", "Onboarding buddies")
    search_index.build_index(third, SHARDS, cache_dir=cache)
    assert len(runs) == 2 and differences(first, third) == []  # the packs were made again


# --- whole builds ----------------------------------------------------------------------------

class RenderCounter:
    """Counts Markdown conversions of stories (Renderer.render), per story path."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch):
        self.paths: list[str] = []
        original = render.Renderer.render

        def counting(renderer: render.Renderer, story: Story) -> render.Rendered:
            self.paths.append(story.path)
            return original(renderer, story)

        monkeypatch.setattr(render.Renderer, "render", counting)

    def take(self) -> list[str]:
        taken, self.paths = sorted(self.paths), []
        return taken


def test_each_story_is_converted_once_and_not_at_all_when_unchanged(
        project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    small_corpus(project)
    counter = RenderCounter(monkeypatch)
    plugin = build_site(project, project.root / "site-a")
    stories = ["stories/hr/2026-01-15-people.md", "stories/marketing/2026-03-02-launch.md",
               "stories/support/2026-02-11-tickets.md"]
    # Once each, although story pages, listings, feeds, digests and search all show them.
    assert counter.take() == stories
    assert plugin.cache is not None and (plugin.cache.hits, plugin.cache.misses) == (0, 3)
    new_mkdocs_process()
    plugin = build_site(project, project.root / "site-b")
    assert counter.take() == []
    assert plugin.cache is not None and (plugin.cache.hits, plugin.cache.misses) == (3, 0)
    project.story("hr", "2026-01-15-people", title="People first", authors=["chloe"],
                  kpis=["turnover"], body=BODY + "\nOne more line.\n")
    new_mkdocs_process()
    build_site(project, project.root / "site-c")
    assert counter.take() == ["stories/hr/2026-01-15-people.md"]


def edit_story_body(project: Project) -> None:
    project.story("hr", "2026-01-15-people", title="People first", authors=["chloe"],
                  kpis=["turnover"], body="A new intro.\n\n<!-- more -->\n\nNew words.\n")


def edit_story_title(project: Project) -> None:
    project.story("marketing", "2026-03-02-launch", title="Launch day, revisited", authors=["ana"],
                  kpis=["nps", "csat"], campaign="spring", featuring=["support"],
                  cover="images/cover.png", cover_alt="An orange square", body=BODY)


def edit_registry(project: Project) -> None:
    teams = [dict(t) for t in TEAMS]
    teams[2].update(name="People Team", color="#1b5e20")  # hr: on pages, feeds and cards
    project.registry("teams", teams)


def edit_markdown_config(project: Project) -> None:
    text = (project.root / "mkdocs.yml").read_text("utf-8")
    project.config(text=text + "markdown_extensions:\n  - toc:\n      permalink: true\n")


def replace_cover(project: Project) -> None:
    project.add("marketing/images/cover.png", png("#1565c0"))


def replace_inline_image(project: Project) -> None:
    project.add("support/images/chart.png", png("#ffb300", (320, 200)))


def edit_template(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    templates = project.root / "templates"
    shutil.copytree(pages.TEMPLATES, templates)
    story = templates / "story.html"
    text = story.read_text("utf-8")
    marker = "{{ story.title }}"
    assert marker in text
    story.write_text(text.replace(marker, marker + " (template changed)", 1), "utf-8")
    monkeypatch.setattr(pages, "TEMPLATES", templates)


def add_docs_page(project: Project) -> None:
    # A hand-written page: a new entry in the navigation that every page shows.
    (project.root / "docs" / "guide.md").write_text("# Guide\n\nHow we work.\n", "utf-8")


def edit_site_name(project: Project) -> None:
    text = (project.root / "mkdocs.yml").read_text("utf-8")
    project.config(text=text.replace("site_name: Test Stories", "site_name: Our Stories"))


CHANGES: dict[str, Callable[..., None]] = {
    "story body": edit_story_body,
    "story title": edit_story_title,
    "registry": edit_registry,
    "markdown extensions": edit_markdown_config,
    "cover image": replace_cover,
    "inline image": replace_inline_image,
    "template": edit_template,
    "docs page": add_docs_page,
    "site name": edit_site_name,
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_after_a_change_a_warm_build_writes_the_bytes_of_a_clean_one(
        project: Project, monkeypatch: pytest.MonkeyPatch, change: str) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    small_corpus(project)
    before = build_site(project, project.root / "site-before")
    apply = CHANGES[change]
    apply(project, monkeypatch) if change == "template" else apply(project)
    new_mkdocs_process()  # warm caches on disk, as the next `mkdocs build` would find them
    warm = build_site(project, project.root / "site-warm")
    assert before.cache is not None and warm.cache is not None
    new_mkdocs_process()
    shutil.rmtree(project.root / ".cache")
    build_site(project, project.root / "site-clean")
    changed = differences(project.root / "site-before", project.root / "site-warm")
    assert changed, "the change must show in the output, or this test proves nothing"
    assert differences(project.root / "site-warm", project.root / "site-clean") == []


def test_a_warm_build_writes_the_pages_an_edit_cannot_change_from_the_last_build(
        project: Project) -> None:
    small_corpus(project)
    first = build_site(project, project.root / "site-a")
    assert first.page_cache is not None and first.kept == set()
    generated = set(first.specs)
    new_mkdocs_process()
    second = build_site(project, project.root / "site-b")
    assert set(second.kept) == generated  # nothing changed: no page is rendered
    edit_story_title(project)
    new_mkdocs_process()
    third = build_site(project, project.root / "site-c")
    rendered = generated - set(third.kept)
    # The story's page and the listings that show its title; not the pages of other stories.
    assert {"stories/launch/index.md", "index.md", "teams/marketing/index.md",
            "kpis/nps/index.md", "archive/index.md"} <= rendered
    assert {"authors/chloe/index.md", "kpis/turnover/index.md", "teams/hr/index.md"} \
        <= set(third.kept)
    assert "Launch day, revisited" in (project.root / "site-c/index.html").read_text("utf-8")
    kept_files = sorted(p.suffix for p in (project.root / ".cache/pages").iterdir())
    assert kept_files == [".json", ".pack"]  # the index, and one pack of all the pages


def test_a_config_value_from_the_environment_counts_too(
        project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STORYHUB_TEST_NAME", raising=False)
    text = (project.root / "mkdocs.yml").read_text("utf-8")
    project.config(text=text.replace("site_name: Test Stories",
                                     "site_name: !ENV [STORYHUB_TEST_NAME, 'Test Stories']"))
    small_corpus(project)
    build_site(project, project.root / "site-a")
    monkeypatch.setenv("STORYHUB_TEST_NAME", "Renamed Stories")
    new_mkdocs_process()
    warm = build_site(project, project.root / "site-b")
    assert warm.page_cache is not None and warm.kept == set()  # every page shows the site name
    assert "Renamed Stories" in (project.root / "site-b/stories/launch/index.html").read_text("utf-8")


@pytest.mark.parametrize("other", ["plugin", "hook"])
def test_pages_are_not_kept_when_another_plugin_could_change_them(
        project: Project, other: str) -> None:
    if other == "plugin":
        project.config(extra_plugin="  - search\n")
    else:
        (project.root / "hooks.py").write_text("def on_page_content(html, **kwargs):\n"
                                               "    return html\n", "utf-8")
        text = (project.root / "mkdocs.yml").read_text("utf-8")
        project.config(text=text + "hooks:\n  - hooks.py\n")
    small_corpus(project)
    plugin = build_site(project, project.root / "site-a")
    assert plugin.page_cache is None and not (project.root / ".cache/pages").exists()


def test_a_page_cache_that_cannot_be_written_only_costs_the_next_build_time(
        project: Project) -> None:
    small_corpus(project)
    (project.root / ".cache").mkdir()
    (project.root / ".cache/pages").write_text("a file where the folder goes")
    first = build_site(project, project.root / "site-a")
    assert first.page_cache is not None and first.page_cache.index == {}
    new_mkdocs_process()
    second = build_site(project, project.root / "site-b")
    assert second.kept == set()
    assert differences(project.root / "site-a", project.root / "site-b") == []


def test_a_dirty_build_neither_keeps_nor_takes_pages(
        project: Project, warnings_guard: WarningGuard) -> None:
    warnings_guard.expect("A 'dirty' build is being performed")
    small_corpus(project)
    build_site(project, project.root / "site")
    before = sorted((project.root / ".cache/pages").iterdir())
    new_mkdocs_process()
    # `mkdocs build --dirty` writes into the files already there (MkDocs warns, so not strict).
    plugin = project.build(strict=False, dirty=True).plugin
    assert plugin.page_cache is None and plugin.kept == set()
    assert sorted((project.root / ".cache/pages").iterdir()) == before


def test_cards_drawn_by_a_worker_process_equal_cards_drawn_here(tmp_path: Path) -> None:
    texts = [cards.CardText(f"Story number {n} about the spring launch", "People & HR",
                            "#6a1b9a", "Test Stories") for n in range(cards.PROCESS_THRESHOLD)]
    far = [(tmp_path / "far" / f"{n}.png", text, None) for n, text in enumerate(texts)]
    # The worker also writes each card it draws into the site, twice for a shared card.
    site = {far[0][0]: [tmp_path / "site/a/0.png", tmp_path / "site/b/0.png"],
            far[1][0]: [tmp_path / "site/a/1.png"]}
    drawing = cards.CardDrawing(far, site_files=site)
    assert drawing.process is not None  # enough cards for a worker process
    drawing.wait()
    assert drawing.published == {far[0][0], far[1][0]}
    for n, text in enumerate(texts):
        here = tmp_path / "here" / f"{n}.png"
        cards.draw_job((here, text, None))
        assert here.read_bytes() == far[n][0].read_bytes()
        assert [f.read_bytes() for f in site.get(far[n][0], [])] == \
            [here.read_bytes()] * len(site.get(far[n][0], []))
    assert sorted(p.relative_to(tmp_path).as_posix() for p in (tmp_path / "site").rglob("*.png")) \
        == ["site/a/0.png", "site/a/1.png", "site/b/0.png"]


def test_feeds_and_digests_come_from_the_cache_until_an_input_changes(
        project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    small_corpus(project)
    made: list[int] = []
    original = feeds.Publisher.files

    def counting(publisher: feeds.Publisher) -> Any:
        made.append(1)
        return original(publisher)

    monkeypatch.setattr(feeds.Publisher, "files", counting)
    build_site(project, project.root / "site-a")
    new_mkdocs_process()
    build_site(project, project.root / "site-b")
    assert len(made) == 1  # the second build generated no feed
    assert differences(project.root / "site-a", project.root / "site-b") == []
    edit_story_title(project)
    new_mkdocs_process()
    build_site(project, project.root / "site-c")
    assert len(made) == 2
    feed = (project.root / "site-c" / "feeds" / "all" / "rss.xml").read_text("utf-8")
    assert "Launch day, revisited" in feed


def test_a_damaged_file_set_is_made_again(tmp_path: Path) -> None:
    store = build_cache.FileSetCache(tmp_path / "sets")
    calls: list[str] = []

    def produce() -> list[tuple[str, str | bytes]]:
        calls.append("made")
        return [("feeds/all/rss.xml", b"<rss/>"), ("digest.txt", "text")]

    assert store.files("k1", produce) == produce()[:2] and len(calls) == 2
    assert store.files("k1", produce) == [("feeds/all/rss.xml", b"<rss/>"), ("digest.txt", "text")]
    assert len(calls) == 2
    (tmp_path / "sets" / "k1.pickle").write_bytes(b"not a pickle")
    store.files("k1", produce)
    assert len(calls) == 3
    store.files("k2", produce)
    assert [p.name for p in (tmp_path / "sets").iterdir()] == ["k2.pickle"]


def test_kept_pages_live_in_one_pack_that_a_failed_build_leaves_as_it_was(tmp_path: Path) -> None:
    folder = tmp_path / "pages"
    specs = [pages.PageSpec(f"p{n}/", f"Page {n}", "story.html") for n in range(3)]
    stories = {"s": "digest of s"}
    first = page_cache.PageCache.open(folder, "site", stories)
    for n, spec in enumerate(specs):
        first.store(spec, ["s"], f"<p>page {n} ✓</p>")
    first.save()
    assert sorted(p.suffix for p in folder.iterdir()) == [".json", ".pack"]
    # A build that takes two pages, renders the third, then fails before save().
    failed = page_cache.PageCache.open(folder, "site", stories)
    assert [failed.kept(spec) for spec in specs] == [True, True, True]
    assert failed.take(specs[0]) == "<p>page 0 ✓</p>"
    failed.store(specs[2], ["s"], "<p>page 2, new</p>")
    third = page_cache.PageCache.open(folder, "site", stories)
    assert [third.take(spec) for spec in specs if third.kept(spec)] == [
        "<p>page 0 ✓</p>", "<p>page 1 ✓</p>", "<p>page 2 ✓</p>"]
    third.store(specs[2], ["s"], "<p>page 2, new</p>")  # with the two taken: a full build
    third.save()
    assert len(list(folder.glob("*.pack"))) == 1  # the last build's pack only
    fourth = page_cache.PageCache.open(folder, "site", {"s": "s was edited"})
    assert [fourth.kept(spec) for spec in specs] == [False, False, False]
    fifth = page_cache.PageCache.open(folder, "site", stories)
    assert fifth.kept(specs[2])
    assert fifth.take(specs[2]) == "<p>page 2, new</p>"
    pack = folder / json.loads((folder / "index.json").read_text("utf-8"))["p2/index.md"]["pack"]
    pack.write_bytes(pack.read_bytes()[:-3])  # damaged: the last page is cut short
    sixth = page_cache.PageCache.open(folder, "site", stories)
    assert [sixth.kept(spec) for spec in specs] == [True, True, False]
