"""`mkdocs serve` notices saves through file events (watch.py). The whole loop, a save
rebuilding the served site, is tested in test_serve.py against a real `mkdocs serve`."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from mkdocs.config import load_config
from mkdocs.livereload import LiveReloadServer
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers.polling import PollingObserver

from conftest import Project
from storyhub import watch


def server_watching(*paths: Path) -> LiveReloadServer:
    server = LiveReloadServer(builder=lambda: None, host="127.0.0.1", port=0, root=".")
    for path in paths:
        server.watch(str(path))
    return server


def still_watched(server: LiveReloadServer, path: Path) -> bool:
    try:
        server.unwatch(str(path))
    except KeyError:
        return False
    return True


def test_the_watches_move_to_file_events_and_stay_the_same(tmp_path: Path) -> None:
    docs, stories, config, theme = (tmp_path / n for n in ("docs", "stories", "mkdocs.yml", "theme"))
    for folder in (docs, stories, theme):
        folder.mkdir()
    config.write_text("site_name: x\n", "utf-8")
    server = server_watching(docs, config, stories)
    assert watch.use_file_events(server, [str(docs), str(config), str(theme), str(stories)])
    assert not isinstance(server.observer, PollingObserver)
    assert [still_watched(server, p) for p in (docs, config, stories, theme)] == \
        [True, True, True, False]  # the theme was not watched (no --watch-theme), and still is not


def test_the_new_observer_reports_a_saved_file_but_not_a_read_one(tmp_path: Path) -> None:
    story = tmp_path / "story.md"
    story.write_text("first", "utf-8")
    server = server_watching(tmp_path)
    assert watch.use_file_events(server, [str(tmp_path)])
    seen: list[str] = []
    arrived = threading.Event()

    class Handler(FileSystemEventHandler):
        def on_any_event(self, event: FileSystemEvent) -> None:
            seen.append(event.event_type)
            arrived.set()

    server.observer.schedule(Handler(), str(tmp_path), recursive=True)
    server.observer.start()
    try:
        # A build reads every story: were that an event, each rebuild would start another.
        assert story.read_text("utf-8") == "first"
        assert not arrived.wait(1), f"reading the file gave events: {seen}"
        story.write_text("saved", "utf-8")
        assert arrived.wait(10), "no file event arrived"
    finally:
        server.observer.stop()
        server.observer.join()


def test_a_path_that_cannot_be_watched_leaves_the_server_polling(tmp_path: Path) -> None:
    docs, gone = tmp_path / "docs", tmp_path / "gone"
    docs.mkdir()
    gone.mkdir()
    server = server_watching(docs, gone)
    shutil.rmtree(gone)  # deleted after MkDocs started watching it: the system refuses events
    assert not watch.use_file_events(server, [str(docs), str(gone)])
    assert isinstance(server.observer, PollingObserver)
    assert still_watched(server, docs) and still_watched(server, gone)


@pytest.mark.parametrize("file_events", [True, False])
def test_the_plugin_option_decides(project: Project, file_events: bool) -> None:
    project.config(file_events=file_events)
    config = load_config(str(project.root / "mkdocs.yml"))
    config.plugins.on_startup(command="serve", dirty=False)
    config.plugins.on_config(config)
    server = server_watching(Path(config.docs_dir), Path(config.config_file_path))
    config.plugins.on_serve(server, config=config, builder=lambda: None)
    assert isinstance(server.observer, PollingObserver) is not file_events
    assert still_watched(server, project.root / "stories")
