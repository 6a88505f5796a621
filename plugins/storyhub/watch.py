"""How `mkdocs serve` notices that a story was saved.

MkDocs watches its folders by polling: every half second it lists them and compares the file
times. A save therefore waits 0 to 0.5 s (a quarter of a second on average) before the rebuild
starts, and at thousands of stories each listing takes CPU from the rebuild itself. The
operating system's file events (inotify on Linux, FSEvents on macOS, ReadDirectoryChangesW on
Windows) report a save within milliseconds and cost nothing while nothing changes.

MkDocs documents that `on_serve` may modify the server before it starts; this moves the
server's watches onto watchdog's native observer. Where native events do not work (the
system refuses them, or no native observer exists), the server keeps polling. Some network
and container-mounted folders never deliver file events: the `file_events: false` option
keeps MkDocs' polling there.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from mkdocs.livereload import LiveReloadServer
from watchdog.events import (
    FileAttribEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver, ObservedWatch
from watchdog.observers.polling import PollingObserver

log = logging.getLogger("mkdocs.plugins.storyhub")
# What polling sees: a file written, created, deleted, moved or touched.
CHANGES: list[type[FileSystemEvent]] = [
    FileCreatedEvent, FileModifiedEvent, FileDeletedEvent, FileMovedEvent, FileClosedEvent,
    FileAttribEvent]


class ChangeObserver(Observer):  # type: ignore[misc,valid-type]  # the platform's class
    """The native observer, reporting changes only. It would also report every file being
    opened and read (MkDocs rebuilds on any event), and a rebuild reads every story: each
    rebuild would start the next one, for ever."""

    def schedule(self, event_handler: FileSystemEventHandler, path: str, *,
                 recursive: bool = False, event_filter: list[type[FileSystemEvent]] | None = None,
                 follow_symlink: bool = False) -> ObservedWatch:
        return super().schedule(event_handler, path, recursive=recursive,
                                event_filter=event_filter or CHANGES,
                                follow_symlink=follow_symlink)


def use_file_events(server: LiveReloadServer, candidates: Iterable[str | None]) -> bool:
    """Move the server's watches among `candidates` (the folders and files MkDocs and the
    plugins may have watched) to a native observer; True if the server now uses it.

    Call it before the server starts (from `on_serve`): watches added later, such as the
    `watch:` entries of mkdocs.yml, go to the native observer directly."""
    if Observer is PollingObserver or not isinstance(server.observer, PollingObserver):
        return False
    watched = [path for path in dict.fromkeys(candidates) if path and _unwatch(server, path)]
    if not _works(watched):
        for path in watched:
            server.watch(path)
        return False
    # The server only schedules, starts and stops its observer, as every observer does.
    server.observer = ChangeObserver()
    for path in watched:
        server.watch(path)
    return True


def _unwatch(server: LiveReloadServer, path: str) -> bool:
    try:
        server.unwatch(path)
    except KeyError:  # not watched: MkDocs watches the theme only with --watch-theme
        return False
    return True


def _works(paths: list[str]) -> bool:
    """Whether the system gives file events for every path (inotify has a per-user limit)."""
    probe: BaseObserver = ChangeObserver()
    try:
        for path in paths:
            probe.schedule(FileSystemEventHandler(), path, recursive=True)
        probe.start()
    except OSError as error:
        log.info(f"storyhub: file events unavailable ({error}); MkDocs keeps polling")
        return False
    finally:
        if probe.is_alive():
            probe.stop()
            probe.join()
    return True

