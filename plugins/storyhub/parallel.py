"""Work done by a forked copy of the build process, on the other core.

MkDocs builds on one thread. Converting the Markdown of a thousand new stories takes seconds
of that thread; a copy of the process made by `fork` already has the stories, the Markdown
extensions and the site's URLs, so it can convert half of them meanwhile without anything
being sent to it. Only Linux forks here: elsewhere (and in a process that runs threads,
which a fork would copy in an unknown state) the caller does all the work itself.
"""

from __future__ import annotations

import logging
import os
import pickle
import sys
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class _Collect(logging.Handler):
    """The child's warnings and errors, to be logged again by the parent (MkDocs counts them
    there: a warning must still fail a strict build). The child's log shows nothing itself.

    MkDocs' command line keeps its `mkdocs` logger from passing records to the root logger,
    so the collector listens on both; a record that reaches both is kept once.
    """

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: dict[int, tuple[str, int, str]] = {}

    def emit(self, record: logging.LogRecord) -> None:
        self.records.setdefault(id(record), (record.name, record.levelno, record.getMessage()))

    def install(self) -> None:
        for name in ("", "mkdocs"):
            logging.getLogger(name).handlers = [self]


def in_child(work: Callable[[], T]) -> Callable[[], T | None] | None:
    """Start `work()` in a forked copy of this process. Returns a function that waits for
    its result (None if the child failed), or None when this process cannot fork."""
    if sys.platform != "linux" or threading.active_count() > 1:
        return None
    readable, writable = os.pipe()
    try:
        pid = os.fork()
    except OSError:  # no memory or no process left for a copy: the caller does the work
        os.close(readable)
        os.close(writable)
        return None
    if pid == 0:  # the child: never returns
        code = 1
        try:
            os.close(readable)
            collect = _Collect()
            collect.install()
            value = work()
            data = pickle.dumps((value, list(collect.records.values())),
                                protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(writable, "wb") as out:
                out.write(data)
            code = 0
        finally:
            os._exit(code)  # no atexit handlers, no flushing of the parent's buffers
    os.close(writable)

    def result() -> T | None:
        with os.fdopen(readable, "rb") as source:
            data = source.read()
        _, status = os.waitpid(pid, 0)
        if status != 0 or not data:
            return None
        value: Any
        value, records = pickle.loads(data)  # noqa: S301 - our own child's output
        for name, level, message in records:
            logging.getLogger(name).log(level, message)
        return value  # type: ignore[no-any-return]

    return result
