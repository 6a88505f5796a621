"""Work in a forked copy of the build (parallel.py) and what uses it."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conftest import Project, WarningGuard, differences, new_mkdocs_process
from storyhub import parallel, split

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="only Linux forks (parallel.py)")


def test_the_work_runs_in_another_process_and_its_result_comes_back() -> None:
    child = parallel.in_child(lambda: (os.getpid(), ["é", b"\x00", 3.5]))
    assert child is not None
    pid, value = child() or (None, None)
    assert pid != os.getpid() and value == ["é", b"\x00", 3.5]


def test_a_failing_child_gives_none_so_the_caller_does_the_work_itself() -> None:
    def fail() -> None:
        raise ValueError("broken")

    child = parallel.in_child(fail)
    assert child is not None and child() is None


def test_the_childs_warnings_are_logged_again_by_the_parent(
        warnings_guard: WarningGuard) -> None:
    def warn() -> int:
        logging.getLogger("mkdocs.plugins.storyhub").warning("a warning from the child")
        logging.getLogger("mkdocs.plugins.storyhub").info("not repeated")
        return 1

    warnings_guard.expect("a warning from the child")
    child = parallel.in_child(warn)
    assert child is not None and warnings_guard.records == []
    assert child() == 1
    # The guard (on MkDocs' logger, as MkDocs' warning counter is) saw it once, in this process.
    assert [(r.name, r.getMessage()) for r in warnings_guard.records] == \
        [("mkdocs.plugins.storyhub", "a warning from the child")]


def test_a_fork_the_system_refuses_leaves_the_work_to_the_caller(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    before = len(os.listdir("/proc/self/fd"))
    monkeypatch.setattr(os, "fork", refuse)
    assert parallel.in_child(lambda: 1) is None
    assert len(os.listdir("/proc/self/fd")) == before  # its pipe is closed again


def test_no_fork_while_threads_run() -> None:
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert parallel.in_child(lambda: 1) is None
    finally:
        stop.set()
        thread.join()
    child = parallel.in_child(lambda: 1)
    assert child is not None and child() == 1


def test_many_new_stories_are_converted_on_two_processes_as_one_would_convert_them(
        tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from storyhub import render
    from storyhub.model import Story

    stories = [Story(path=f"stories/hr/2026-03-02-s{n}.md", slug=f"s{n}", title=f"S{n}",
                     date=datetime(2026, 3, 2, tzinfo=UTC), team="hr", authors=("chloe",),
                     body=f"# Part {n}\n\nStory *{n}* links [a chart](images/c{n % 3}.png).")
               for n in range(render.PARALLEL_MIN + 5)]
    pids = tmp_path / "pids"

    def to_url(target: str) -> str | None:
        with pids.open("a") as out:  # the child's memory is its own: note it in a file
            out.write(f"{os.getpid()}\n")
        return f"/media/{target}" if target.endswith("c1.png") else None

    cache = render.RenderCache(None)
    together = cache.get_all(render.Renderer(["toc"], {}, to_url), stories)
    assert len(set(pids.read_text().split())) == 2  # both processes converted stories
    one_by_one = render.Renderer(["toc"], {}, to_url)
    assert together == {s.slug: one_by_one.render(s) for s in stories}
    assert (cache.hits, cache.misses) == (0, len(stories))
    again = cache.get_all(render.Renderer(["toc"], {}, to_url), stories)
    assert all(again[s.slug] is together[s.slug] for s in stories)  # from the cache
    assert (cache.hits, cache.misses) == (len(stories), len(stories))


def head_start_project(root: Path, count: int) -> list[Any]:
    """`count` story files, and the stories a build would read from them, newest first."""
    from storyhub import head_start

    project = Project(root)
    for n in range(count):
        project.story("hr", f"2026-03-02-s{n:03d}", title=f"S{n}", authors=["chloe"],
                      summary=f"  About {n}. " if n % 4 == 0 else "",
                      body=f"# Part {n}\n\nStory *{n}* with a [link](https://example.com/{n}).")
    files = sorted((root / "stories" / "hr").glob("*.md"))
    return [head_start.StoryText(f"stories/hr/{f.name}", f"About {n}." if n % 4 == 0 else None,
                                 f.read_text("utf-8").split("---\n", 2)[2])
            for n, f in reversed(list(enumerate(files)))]


def test_the_head_start_converts_from_the_files_and_only_matching_ones_are_used(
        tmp_path: Path) -> None:
    """The copy converts stories from their files, last first, while the build has not
    started; the build converts the rest, and itself any story it read differently."""
    import time
    from dataclasses import replace

    from storyhub import head_start, load, render

    texts = head_start_project(tmp_path / "p", render.PARALLEL_MIN + 10)
    texts[0] = replace(texts[0], body=texts[0].body + "\nEdited since.")  # not as in its file
    stories = [type("S", (), {"slug": t.path, "path": t.path, "summary": t.summary,
                              "body": t.body})() for t in texts]
    renderer = render.Renderer(["toc"], {}, lambda target: None)
    cache = render.RenderCache(None)
    early = head_start.start(renderer, cache, tmp_path / "p" / "stories", tmp_path / "p",
                             load.DEFAULT_MAX_BYTES)
    assert early is not None
    deadline = time.monotonic() + 30
    while early.taken[:].count(1) < 20 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert early.taken[len(texts) - 1]  # the copy began with the last file
    theirs: dict[str, render.Rendered] = {}
    real = early.converted

    def noted() -> dict[str, render.Rendered]:
        theirs.update(real())
        return theirs

    early.converted = noted  # type: ignore[method-assign]
    together = cache.get_all(renderer, stories, early)  # type: ignore[arg-type]
    assert together == {s.slug: render.Renderer(["toc"], {}, lambda t: None).render(s)
                        for s in stories}
    assert 20 <= len(theirs) < len(texts)
    assert renderer.key(stories[0]) not in theirs  # edited: the build converted it
    assert (cache.hits, cache.misses) == (0, len(texts))


def test_a_build_that_fails_before_its_markdown_stops_the_head_start(
        project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    from storyhub import head_start, render

    pids: list[int] = []
    real = head_start.start

    def noted(*args: Any) -> head_start.HeadStart | None:
        early = real(*args)
        assert early is not None and early.child is not None
        pids.append(early.child.pid)
        return early

    monkeypatch.setattr(head_start, "start", noted)
    head_start_project(project.root, render.PARALLEL_MIN + 1)
    project.story("hr", "2026-03-03-broken", title="Broken", authors=["nobody"])
    assert "unknown author 'nobody'" in project.build_error()
    with pytest.raises(ChildProcessError):  # stopped and reaped
        os.waitpid(pids[0], os.WNOHANG)


def test_a_build_with_forked_work_equals_one_without(
        project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """Markdown and feeds made by forked children (70 stories: above PARALLEL_MIN) give the
    same site as when this process makes them, or when the child fails (and when the
    search index's worker dies: the build then indexes the written site)."""
    from storyhub import render, search_index

    for n in range(render.PARALLEL_MIN + 6):
        project.story(("hr", "support", "marketing")[n % 3], f"2026-03-{n % 28 + 1:02d}-s{n}",
                      title=f"Story {n}", authors=["ana"], kpis=["csat"],
                      body=f"Intro {n}.\n\n## Part\n\nMore *text* {n}.")
    forks: list[bool] = []
    real = parallel.start_child

    def counted(work: Callable[[], object]) -> object:
        child = real(work)
        forks.append(child is not None)
        return child

    monkeypatch.setattr(parallel, "start_child", counted)
    forked = project.build(site_dir=project.root / "forked").site  # each build from cold
    assert forks == [True, True]  # the Markdown (head_start.py) and the feeds
    new_mkdocs_process()
    shutil.rmtree(project.root / ".cache")
    monkeypatch.setattr(parallel, "start_child", lambda work: None)
    alone = project.build(site_dir=project.root / "alone").site
    new_mkdocs_process()
    shutil.rmtree(project.root / ".cache")
    monkeypatch.setattr(parallel, "start_child", lambda work: real(lambda: 1 / 0))
    start, result = parallel.python_worker, search_index.IndexWorker.result

    def dying(module: str, data: bytes, **options: Any) -> Any:
        if module != "storyhub.search_index":
            return start(module, data, **options)
        return subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"], **options)

    def noted(worker: search_index.IndexWorker) -> object:
        results.append(result(worker))
        return results[-1]

    results: list[object] = []
    monkeypatch.setattr(parallel, "python_worker", dying)
    monkeypatch.setattr(search_index.IndexWorker, "result", noted)
    failed = project.build(site_dir=project.root / "failed").site
    assert results == [None]  # the worker died: the build indexed the written site
    assert (forked / "feeds/all/feed.json").is_file()
    assert differences(forked, alone) == [] and differences(forked, failed) == []


def test_a_copy_of_the_process_ends_with_a_value_and_its_warnings(
        warnings_guard: WarningGuard) -> None:
    forked = parallel.fork_copy()
    if isinstance(forked, parallel.Sender):  # the copy: it must never return to pytest
        try:
            logging.getLogger("mkdocs.plugins.storyhub").warning("a warning from the copy")
            logging.getLogger("mkdocs.plugins.storyhub").info("not repeated")
            forked.finish((os.getpid(), ["é", b"\x00"]))
        finally:
            os._exit(1)
    assert isinstance(forked, parallel.Copy)
    warnings_guard.expect("a warning from the copy")
    pid, value = forked.result()
    assert pid != os.getpid() and value == ["é", b"\x00"]
    assert [(r.name, r.getMessage()) for r in warnings_guard.records] == \
        [("mkdocs.plugins.storyhub", "a warning from the copy")]
    assert forked.result() is None  # it ended
    forked.stop()  # nothing left to stop


def test_a_copy_that_dies_gives_none() -> None:
    forked = parallel.fork_copy()
    if isinstance(forked, parallel.Sender):
        try:
            os.kill(os.getpid(), signal.SIGKILL)
        finally:
            os._exit(1)
    assert isinstance(forked, parallel.Copy)
    assert forked.result() is None and forked.result() is None


def test_a_copy_stopped_early_is_ended_and_reaped() -> None:
    forked = parallel.fork_copy()
    if isinstance(forked, parallel.Sender):
        try:
            signal.pause()
        finally:
            os._exit(1)
    assert isinstance(forked, parallel.Copy)
    forked.stop()
    with pytest.raises(ChildProcessError):
        os.waitpid(forked.pid, os.WNOHANG)  # reaped: no such child any more
    assert forked.result() is None


def test_the_copy_renders_the_last_listings_after_the_story_pages(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    def spec(name: str, searched: bool) -> SimpleNamespace:
        return SimpleNamespace(src_uri=name, searched=searched)

    specs = [spec("index.md", False), *(spec(f"s{n}.md", True) for n in range(3)),
             *(spec(f"l{n}.md", False) for n in range(split.SPLIT_MIN))]
    monkeypatch.setattr(split, "MAIN_LISTINGS", 30)  # this process renders the first 30
    assert split.copy_pages(specs) == [f"l{n}.md" for n in range(30, split.SPLIT_MIN)]
    monkeypatch.setattr(split, "MAIN_LISTINGS", 10**6)  # at most half of them
    half = split.SPLIT_MIN // 2
    assert split.copy_pages(specs) == [f"l{n}.md" for n in range(half, split.SPLIT_MIN)]
    monkeypatch.setattr(split, "MAIN_LISTINGS", 0)
    assert split.copy_pages(specs) == [f"l{n}.md" for n in range(split.SPLIT_MIN)]
    assert split.copy_pages(specs[:-1]) == []  # too few to be worth a copy


def test_a_copy_of_the_build_renders_the_listings_and_the_site_is_the_same(
        project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the listings rendered by a forked copy of the build (split.py), the site is the
    one this process makes alone, or when the copy fails; the next build keeps every page."""
    for n in range(30):
        project.story(("hr", "support", "marketing")[n % 3], f"2026-03-{n % 28 + 1:02d}-s{n}",
                      title=f"Story {n}", authors=["ana"], kpis=["csat"],
                      body=f"Intro {n}.\n\n## Part\n\nMore *text* {n}.")
    monkeypatch.setattr(split, "SPLIT_MIN", 5)
    built = project.build(site_dir=project.root / "split")
    copied = built.plugin.copied
    assert len(copied) >= 5 and set(built.plugin.copy_pages or {}) == copied
    assert "index.md" not in copied
    assert not any(name.startswith("stories/") for name in copied)
    listings = [s for s in built.plugin.specs if not s.startswith("stories/") and s != "index.md"]
    here = [name for name in listings if name not in copied]  # rendered by this process
    assert here and len(here) == min(split.MAIN_LISTINGS, len(listings) // 2)
    new_mkdocs_process()
    again = project.build(site_dir=project.root / "again")  # warm: every page kept
    assert again.plugin.kept == set(again.plugin.specs) and not again.plugin.copied
    new_mkdocs_process()
    shutil.rmtree(project.root / ".cache")
    monkeypatch.setattr(split, "SPLIT_MIN", 10**6)
    alone = project.build(site_dir=project.root / "alone")
    assert not alone.plugin.copied
    new_mkdocs_process()
    shutil.rmtree(project.root / ".cache")
    monkeypatch.setattr(split, "SPLIT_MIN", 5)
    monkeypatch.setattr(parallel.Sender, "finish", lambda self, value: self.fail())
    failed = project.build(site_dir=project.root / "failed")  # renders the copy's pages here
    assert failed.plugin.copied and failed.plugin.copy_pages == {}
    new_mkdocs_process()
    shutil.rmtree(project.root / ".cache")
    monkeypatch.setattr(parallel, "fork_copy", lambda: None)
    refused = project.build(site_dir=project.root / "refused")  # no copy at all
    assert refused.plugin.copied and refused.plugin.copy is None
    assert differences(built.site, alone.site) == []
    assert differences(built.site, failed.site) == []
    assert differences(built.site, refused.site) == []
    assert differences(built.site, again.site) == []


def test_a_large_shard_is_indexed_once_the_copy_of_the_build_is_done(
        project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pagefind and the copy together hold too much memory at thousands of stories: with a
    shard of BESIDE_COPY_MAX pages, the index starts once the copy has ended, and the site is
    the same as when it starts with the first page."""
    from storyhub import search_index

    for n in range(12):
        project.story(("hr", "support")[n % 2], f"2026-03-{n + 1:02d}-s{n}", title=f"Story {n}",
                      authors=["ana"], kpis=["csat"], body=f"Words {n}.")
    monkeypatch.setattr(split, "SPLIT_MIN", 5)
    from storyhub.plugin import StoryHubPlugin

    plugins: list[StoryHubPlugin] = []
    started: list[tuple[bool, bool]] = []  # (a copy ran, it had ended) when the index started
    init, on_files = search_index.IndexWorker.__init__, StoryHubPlugin.on_files

    def noted(self: search_index.IndexWorker, *args: Any) -> None:
        copy = plugins[-1].copy
        started.append((copy is not None, copy is not None and copy.ended))
        init(self, *args)

    def noting(self: StoryHubPlugin, *args: Any, **kwargs: Any) -> Any:
        plugins.append(self)
        return on_files(self, *args, **kwargs)

    monkeypatch.setattr(search_index.IndexWorker, "__init__", noted)
    monkeypatch.setattr(StoryHubPlugin, "on_files", noting)
    monkeypatch.setattr(search_index, "BESIDE_COPY_MAX", 1)
    waited = project.build(site_dir=project.root / "waited")
    new_mkdocs_process()
    shutil.rmtree(project.root / ".cache")
    monkeypatch.setattr(search_index, "BESIDE_COPY_MAX", 10**6)
    beside = project.build(site_dir=project.root / "beside")
    assert started == [(True, True), (True, False)]
    assert differences(waited.site, beside.site) == []


def test_a_mkdocs_command_freezes_the_heap_when_the_program_ends(tmp_path: Path) -> None:
    """Python's last collection at exit would go through the whole heap of a big build."""
    import subprocess
    script = ("import atexit, gc\n"
              "atexit.register(lambda: print('frozen at exit:', gc.get_freeze_count() > 0))\n"
              "from storyhub.plugin import StoryHubPlugin\n"
              "print('frozen before:', gc.get_freeze_count() > 0)\n"
              "StoryHubPlugin().on_startup(command='build', dirty=False)\n"
              "StoryHubPlugin().on_startup(command='build', dirty=False)\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, cwd=tmp_path).stdout
    assert out.splitlines() == ["frozen before: False", "frozen at exit: True"]


def test_a_build_freezes_the_heap_while_it_runs_and_unfreezes_it_at_its_end(
        project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """Collections skip the stories and pages while the build runs; a program that runs many
    builds (these tests) can still collect each one, also when the build failed."""
    import gc

    from mkdocs.exceptions import PluginError

    from storyhub.plugin import StoryHubPlugin

    project.story("hr", "2026-03-02-buddies", title="Buddies", authors=["ana"], body="Words.")
    during: list[int] = []
    on_env = StoryHubPlugin.on_env

    def noting(self: StoryHubPlugin, *args: Any, **kwargs: Any) -> Any:
        during.append(gc.get_freeze_count())
        return on_env(self, *args, **kwargs)

    monkeypatch.setattr(StoryHubPlugin, "on_env", noting)
    assert gc.get_freeze_count() == 0
    project.build()
    assert during[-1] > 0 and gc.get_freeze_count() == 0

    def failing(self: StoryHubPlugin, config: Any) -> None:
        raise PluginError("storyhub: a problem at the end of the build")

    monkeypatch.setattr(StoryHubPlugin, "_check_conservation", failing)
    assert "a problem at the end" in project.build_error()
    assert during[-1] > 0 and gc.get_freeze_count() == 0
