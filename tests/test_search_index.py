"""What the search index holds, the search page's facets and the header box (no browser)."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import threading
from pathlib import Path

import pytest

from conftest import MKDOCS_YML, Project
from storyhub import search_index
from storyhub.search_index import (
    BUNDLE_DIR,
    BackgroundIndexer,
    IndexReport,
    build_index,
    bundles,
    plan_shards,
    read_fragments,
    shard_count,
)


def index_files(site: Path, name: str = BUNDLE_DIR) -> dict[str, str]:
    bundle = site / name
    return {p.relative_to(bundle).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(bundle.rglob("*")) if p.is_file()}


def small_site(project: Project) -> None:
    project.story("hr", "2026-03-02-buddies", title="Buddies", authors=["chloe", "ben"],
                  kpis=["turnover", "csat"], campaign="spring", audience="new hires, managers",
                  body="Onboarding buddies.")
    project.story("support", "2025-12-01-calls", title="Calls", authors=["ben"], body="Calls.",
                  summary="Phone calls with zanzibarite customers.")
    project.story("hr", "2026-03-03-hidden", title="Hidden", authors=["chloe"], draft=True,
                  audience="secret audience", body="Draft words.")
    project.story("hr", "2099-01-01-later", title="Later", authors=["chloe"], body="Future words.")
    (project.root / "docs" / "guide.md").write_text("# Writing guide\n\nHow to write.\n", "utf-8")


def test_index_holds_published_stories_and_hand_written_pages_only(project: Project) -> None:
    small_site(project)
    built = project.build()
    pages = {page["url"]: page for page in read_fragments(built.site)}
    assert sorted(pages) == ["/guide/", "/stories/buddies/", "/stories/calls/"]
    buddies = pages["/stories/buddies/"]
    assert buddies["filters"] == {"team": ["hr"], "kpi": ["turnover", "csat"], "campaign": ["spring"],
                                  "audience": ["new hires, managers"], "year": ["2026"]}
    assert buddies["meta"]["title"] == "Buddies"
    assert buddies["meta"]["date"] == "2026-03-02"
    assert "Onboarding buddies." in buddies["content"]
    # The header line is not indexed (excerpts would start with it); author names are.
    assert "min read" not in buddies["content"]
    assert buddies["content"].endswith("By Chloe Martin, Ben Okafor.")
    assert pages["/stories/calls/"]["filters"] == {"team": ["support"], "year": ["2025"]}
    assert "zanzibarite" in pages["/stories/calls/"]["content"]  # the front-matter summary
    assert pages["/guide/"]["meta"]["title"] == "Writing guide"
    assert pages["/guide/"]["filters"] == {}
    entry = json.loads((built.site / BUNDLE_DIR / "pagefind-entry.json").read_text("utf-8"))
    assert entry["languages"]["en"]["page_count"] == 3


def test_listing_pages_and_related_stories_are_not_indexed(project: Project) -> None:
    project.story("hr", "2026-03-02-first", title="First", authors=["chloe"], tags=["x"],
                  kpis=["turnover"], body="Alpha words.")
    project.story("hr", "2026-03-03-second", title="Second", authors=["chloe"], tags=["x"],
                  kpis=["turnover"], body="Beta words.")
    built = project.build()
    page = built.html("stories/second/")
    assert page.xpath("//section[contains(@class,'sh-related')]/@data-pagefind-ignore") == [""]
    assert built.html("").xpath("//*[@data-pagefind-body]") == []  # the home page lists stories
    assert built.html("teams/hr/").xpath("//*[@data-pagefind-body]") == []
    assert built.html("search/").xpath("//*[@data-pagefind-body]") == []
    second = next(p for p in read_fragments(built.site) if p["url"] == "/stories/second/")
    assert "Alpha" not in second["content"]  # the related card of the first story


def test_search_page_offers_facets_of_published_stories(project: Project) -> None:
    small_site(project)
    built = project.build()
    page = built.html("search/")
    options = {select.get("name"): [(o.get("value"), o.text) for o in select.xpath("./option")]
               for select in page.xpath("//select[@data-facet]")}
    assert options == {
        "team": [("", "All"), ("support", "Customer Support"), ("hr", "People & HR")],
        "kpi": [("", "All"), ("csat", "Customer satisfaction"), ("turnover", "Employee turnover")],
        "campaign": [("", "All"), ("spring", "Spring launch")],
        "audience": [("", "All"), ("new hires, managers", "new hires, managers")],
        "year": [("", "All"), ("2026", "2026"), ("2025", "2025")],
    }
    root = page.xpath("//div[@class='sh-search']")[0]
    assert root.get("data-bundle") == "../pagefind/"
    assert root.get("data-root") == ".."
    assert page.xpath("//script[@type='module']/@src") == ["../assets/storyhub/search.js"]
    assert page.xpath("//head/link[@rel='modulepreload']/@href") == [
        "../assets/storyhub/search.js", "../pagefind/pagefind.js"]
    assert built.html("stories/buddies/").xpath("//link[@rel='modulepreload']") == []
    assert built.exists("assets/storyhub/search.js")


def test_labels_cannot_break_out_of_the_search_page_data(project: Project) -> None:
    project.story("hr", "2026-03-02-a", title="A", authors=["chloe"],
                  audience="</script><script>alert(1)</script>", body="Words.")
    built = project.build()
    page = built.html("search/")
    data = json.loads(page.xpath("//script[@id='sh-search-data']")[0].text)
    assert data["labels"]["audience"] == {"</script><script>alert(1)</script>":
                                          "</script><script>alert(1)</script>"}
    assert data["teams"]["hr"] == {"name": "People & HR", "color": "#6a1b9a"}
    assert len(page.xpath("//script")) == len(built.html("").xpath("//script")) + 2


def test_every_page_has_a_header_search_box_and_no_theme_search(project: Project) -> None:
    small_site(project)
    built = project.build()
    for url, action in [("", "search/"), ("stories/buddies/", "../../search/"),
                        ("guide/", "../search/"), ("search/", "./")]:
        page = built.html(url)
        forms = page.xpath("//header[@data-md-component='header']//form[@class='sh-header-search']")
        assert [f.get("action") for f in forms] == [action], url
        assert forms[0].xpath(".//input/@name") == ["q"]
        assert page.xpath("//*[contains(@class,'md-search')]") == []
    assert not built.exists("search/search_index.json")


def test_two_builds_write_the_same_index(project: Project, tmp_path: Path) -> None:
    small_site(project)
    for n in range(8):  # enough filter values for Pagefind's HashMap order to vary
        project.story("support", f"2026-01-{n + 10:02d}-s{n}", title=f"S{n}", authors=["ben"],
                      kpis=["csat", "nps", "cpa"][: n % 3 + 1], audience=f"audience {n}",
                      body=f"Words {n}.")
    first = project.build(site_dir=tmp_path / "one")
    second = project.build(site_dir=tmp_path / "two")
    assert index_files(first.site) == index_files(second.site)
    assert any(name.startswith("filter/") for name in index_files(first.site))


def test_index_urls_keep_index_html_without_directory_urls(project: Project) -> None:
    text = MKDOCS_YML.format(cache_dir=project.root / ".cache", extra_plugin="")
    project.config(text=text + "use_directory_urls: false\n")
    project.story("hr", "2026-03-02-buddies", title="Buddies", authors=["chloe"], body="Words.")
    built = project.build()
    assert [p["url"] for p in read_fragments(built.site)] == ["/stories/buddies/index.html"]
    form = built.html("stories/buddies/index.html").xpath("//form[@class='sh-header-search']")[0]
    assert form.get("action") == "../../search/index.html"


def test_the_index_can_be_turned_off(project: Project) -> None:
    project.config(search_index=False)
    project.story("hr", "2026-03-02-buddies", title="Buddies", authors=["chloe"], body="Words.")
    built = project.build()
    assert not (built.site / BUNDLE_DIR).exists()
    assert built.html("stories/buddies/").xpath("//form[@class='sh-header-search']") == []


def test_preview_indexes_in_the_background_and_a_new_build_cancels_it(project: Project) -> None:
    small_site(project)
    built = project.build()
    expected = index_files(built.site)
    shutil.rmtree(built.site / BUNDLE_DIR)
    done: list[object] = []
    finished = threading.Event()

    def on_done(result: object) -> None:
        done.append(result)
        finished.set()

    indexer = BackgroundIndexer(on_done)

    shards = [["guide/index.html"], ["stories/buddies/index.html", "stories/calls/index.html"]]
    indexer.start(built.site, shards)
    indexer.cancel()  # what the next rebuild does first
    assert not (built.site / BUNDLE_DIR).exists()
    assert done == []

    indexer.start(built.site, [[name for shard in shards for name in shard]])
    assert finished.wait(60)
    assert isinstance(done[0], IndexReport) and done[0].pages == 3
    assert index_files(built.site) == expected  # the same index as `mkdocs build` writes

    finished.clear()
    indexer.start(built.site, shards)
    assert finished.wait(60)
    assert isinstance(done[1], IndexReport) and done[1].pages == 3
    assert [b.name for b in bundles(built.site)] == ["pagefind", "pagefind-2"]
    assert sorted(p.name for p in built.site.iterdir() if p.name.startswith(".")) == []

    # A preview's run waits for the writer to pause; a rebuild within the pause cancels it
    # before it has started anything.
    for bundle in bundles(built.site):
        shutil.rmtree(bundle)
    finished.clear()
    indexer.start(built.site, shards, delay=30)
    indexer.cancel()
    assert indexer.threads == [] and done[2:] == [] and bundles(built.site) == []
    indexer.start(built.site, shards, delay=0.2)
    assert finished.wait(60) and isinstance(done[2], IndexReport)


def test_shards_hold_at_most_shard_size_stories_newest_first_and_pages_in_the_first() -> None:
    stories = [f"stories/s{n}/index.html" for n in range(5)]
    assert plan_shards(stories, ["b/index.html", "a/index.html"], 2) == [
        ["a/index.html", "b/index.html", "stories/s0/index.html", "stories/s1/index.html"],
        ["stories/s2/index.html", "stories/s3/index.html"], ["stories/s4/index.html"]]
    assert plan_shards(stories[:2], [], 2) == [stories[:2]]
    assert plan_shards([], ["a/index.html"], 2) == [["a/index.html"]]
    assert plan_shards([], [], 2) == []  # Pagefind then reads the whole site


def test_a_site_that_fits_one_shard_is_split_in_two_halves_once_large_enough(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search_index, "SPLIT_MIN", 4)
    stories = [f"stories/s{n}/index.html" for n in range(7)]
    assert plan_shards(stories[:3], ["a/index.html"], 10) == [["a/index.html", *stories[:3]]]
    assert plan_shards(stories[:5], ["a/index.html"], 10) == [
        ["a/index.html", *stories[:3]], stories[3:5]]  # newest half first, with the pages
    assert plan_shards(stories, [], 3) == [stories[:3], stories[3:6], stories[6:]]  # as before
    for count in range(12):
        for size in (1, 3, 4, 6, 10):
            shards = plan_shards(stories[:1] * count, [], size)
            assert shard_count(count, size) == max(1, len(shards))
            assert search_index.split_in_two(count, size) == (len(shards) == 2 and count <= size)


def test_the_two_halves_are_indexed_at_once(monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    """Pagefind builds and writes an index on one core: the halves run side by side."""
    both = threading.Barrier(2, timeout=10)  # broken unless both runs wait at the same time
    met: list[Path] = []

    def run(folder: Path, output: Path, *args: object, **kwargs: object) -> int:
        both.wait()
        met.append(output)
        return 1

    monkeypatch.setattr(search_index, "_index_folder", run)
    jobs = [search_index.ShardJob(1, None, None), search_index.ShardJob(2, None, None)]
    assert search_index.write_shards(tmp_path, jobs, False, None, at_once=True) == 2
    assert sorted(met) == [tmp_path / "pagefind", tmp_path / "pagefind-2"]
    both.reset()
    with pytest.raises(threading.BrokenBarrierError):  # one after the other: nobody to meet
        search_index.write_shards(tmp_path, jobs, False, None)


def test_a_large_site_is_indexed_in_shards_that_the_search_page_merges(project: Project) -> None:
    project.config(search_shard_size=2)
    small_site(project)
    project.story("support", "2026-01-10-third", title="Third", authors=["ben"], body="Words.")
    built = project.build()
    assert [b.name for b in bundles(built.site)] == ["pagefind", "pagefind-2"]
    first = read_fragments_of(built.site / "pagefind")
    assert first == ["/guide/", "/stories/buddies/", "/stories/third/"]  # the newest two
    assert read_fragments_of(built.site / "pagefind-2") == ["/stories/calls/"]
    root = built.html("search/").xpath("//div[@class='sh-search']")[0]
    assert (root.get("data-bundle"), root.get("data-merge")) == ("../pagefind/", "../pagefind-2/")
    assert not [p for p in built.site.iterdir() if p.name.startswith(".")]  # no staging left


def test_a_site_split_in_two_is_indexed_at_once_into_bundles_the_search_page_merges(
        project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search_index, "SPLIT_MIN", 3)
    small_site(project)
    project.story("support", "2026-01-10-third", title="Third", authors=["ben"], body="Words.")
    orders: list[bool] = []
    init = search_index.IndexWorker.__init__

    def noted(self: search_index.IndexWorker, *args: object) -> None:
        orders.append(bool(args[-1]))
        init(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(search_index.IndexWorker, "__init__", noted)
    built = project.build()
    assert orders == [True]  # the worker runs both Pagefinds at once
    assert read_fragments_of(built.site / "pagefind") == [
        "/guide/", "/stories/buddies/", "/stories/third/"]  # the newest half, and the pages
    assert read_fragments_of(built.site / "pagefind-2") == ["/stories/calls/"]
    root = built.html("search/").xpath("//div[@class='sh-search']")[0]
    assert (root.get("data-bundle"), root.get("data-merge")) == ("../pagefind/", "../pagefind-2/")


def read_fragments_of(bundle: Path) -> list[str]:
    return sorted(json.loads(gzip.decompress(p.read_bytes())[len(b"pagefind_dcd"):])["url"]
                  for p in (bundle / "fragment").glob("*.pf_fragment"))


def test_a_hand_written_page_with_an_odd_name_is_still_indexed(project: Project) -> None:
    project.story("hr", "2026-03-02-buddies", title="Buddies", authors=["chloe"], body="Words.")
    (project.root / "docs" / "faq, notes.md").write_text("# Questions\n\nAnswers.\n", "utf-8")
    built = project.build()
    assert sorted(p["url"] for p in read_fragments(built.site)) == [
        "/faq, notes/", "/stories/buddies/"]


@pytest.mark.parametrize(("language", "shard_size"), [("en", 1000), ("de", 2)])
def test_the_index_made_while_pages_are_written_is_the_index_of_the_whole_pages(
        project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, language: str,
        shard_size: int) -> None:
    """A build indexes each page's marked content while MkDocs still writes the pages; the
    index must be the one Pagefind makes of the whole written pages."""
    readers: list[str | None] = []
    content_reader = search_index.content_reader

    def spy(contents: dict[str, str], lang: str | None) -> search_index.Reader:
        readers.append(lang)
        return content_reader(contents, lang)

    monkeypatch.setattr(search_index, "content_reader", spy)
    text = MKDOCS_YML.format(cache_dir=project.root / ".cache", extra_plugin="")
    project.config(text=text.replace("  font: false\n", f"  font: false\n  language: {language}\n")
                   .replace("      timezone: Europe/Berlin\n",
                            f"      timezone: Europe/Berlin\n      search_shard_size: {shard_size}\n"))
    small_site(project)
    project.story("support", "2026-01-10-third", title="Third", authors=["ben"], kpis=["csat"],
                  body="Words with a [link](https://example.com) and `code`.")
    built = project.build()
    assert readers == [language]  # the index was made from the pages' content
    # The related cards are not in the input (a skipped part), but in the whole pages.
    related = b'<section class="sh-related"'
    assert related in built.path("stories/third/").read_bytes()
    assert related not in search_index.input_document(built.path("stories/third/").read_bytes())
    whole = tmp_path / "whole"
    shutil.copytree(built.site, whole)
    for bundle in bundles(whole):
        shutil.rmtree(bundle)
    stories = ["stories/buddies/index.html", "stories/third/index.html", "stories/calls/index.html"]
    shards = plan_shards(stories, ["guide/index.html"], shard_size)
    build_index(whole, shards, read=lambda relative: (whole / relative).read_bytes())
    assert [b.name for b in bundles(whole)] == [b.name for b in bundles(built.site)]
    for bundle in bundles(whole):
        assert index_files(whole, bundle.name) == index_files(built.site, bundle.name)
    assert {p["url"] for p in read_fragments(built.site)} == {
        "/guide/", "/stories/buddies/", "/stories/calls/", "/stories/third/"}
    entry = json.loads((built.site / BUNDLE_DIR / "pagefind-entry.json").read_text("utf-8"))
    assert list(entry["languages"]) == [language]



def test_pagefind_input_is_staged_in_memory_when_there_is_room(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    memory = tmp_path / "memory"
    memory.mkdir()
    monkeypatch.setattr(search_index, "MEMORY_DIR", memory)
    monkeypatch.setattr(search_index, "MEMORY_MARGIN", 0)
    stat = os.statvfs(memory)
    assert search_index.scratch_dir(1000) == str(memory)
    assert search_index.scratch_dir(stat.f_bavail * stat.f_frsize) is None  # no room for twice
    staged: list[Path] = []
    index_folder = search_index._index_folder

    def spy(folder: Path, *args: object, **kwargs: object) -> int:
        staged.append(folder)
        return index_folder(folder, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(search_index, "_index_folder", spy)
    site = tmp_path / "site"
    page = b'<html lang="en"><body><main data-pagefind-body><h1>Zanzibar</h1></main></body></html>'
    (site / "stories/a").mkdir(parents=True)
    (site / "stories/a/index.html").write_bytes(page)
    report = build_index(site, [["stories/a/index.html"]])
    assert report.pages == 1 and staged[0].is_relative_to(memory)
    assert list(memory.iterdir()) == []  # removed after the run
    monkeypatch.setattr(search_index, "MEMORY_DIR", tmp_path / "missing")
    assert search_index.scratch_dir(1000) is None
    assert build_index(site, [["stories/a/index.html"]]).pages == 1
    assert not staged[1].is_relative_to(memory)


def test_a_builds_index_worker_reports_its_pages_its_error_or_its_death(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The index of a build is written by a fresh process from the input staged here."""
    site = tmp_path / "site"
    (site / "stories/a").mkdir(parents=True)
    (site / "stories/a/index.html").write_bytes(
        b'<html lang="en"><body><main data-pagefind-body><h1>Zanzibar</h1></main></body></html>')
    shards, read = [["stories/a/index.html"]], search_index.site_reader(site)
    done = search_index.IndexWorker(site, shards, read, False, tmp_path / "cache").result()
    assert isinstance(done, IndexReport) and done.pages == 1
    alone = tmp_path / "alone"
    shutil.copytree(site, alone)
    shutil.rmtree(alone / BUNDLE_DIR)
    build_index(alone, shards)
    assert index_files(site) == index_files(alone)
    killed = search_index.IndexWorker(site, shards, read, False, None)
    staged = [Path(job.folder) for job in killed.jobs if job.folder]
    assert staged and all(folder.is_dir() for folder in staged)
    killed.process.kill()
    assert killed.result() is None  # the build then indexes the written site itself
    assert not any(folder.exists() for folder in staged)
    monkeypatch.setattr(search_index, "pagefind_executable", lambda: str(tmp_path / "none"))
    failed = search_index.IndexWorker(site, shards, read, False, None).result()
    assert isinstance(failed, search_index.SearchIndexError) and "none" in str(failed)
