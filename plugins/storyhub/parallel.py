"""Work done by a forked copy of the build process, on the other core.

MkDocs builds on one thread. Converting the Markdown of a thousand new stories takes seconds
of that thread; a copy of the process made by `fork` already has the stories, the Markdown
extensions and the site's URLs, so it can convert half of them meanwhile without anything
being sent to it. Only Linux forks here: elsewhere (and in a process that runs threads,
which a fork would copy in an unknown state) the caller does all the work itself.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import pickle
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

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


def _can_fork() -> bool:
    return sys.platform == "linux" and threading.active_count() == 1


def in_child(work: Callable[[], T]) -> Callable[[], T | None] | None:
    """Start `work()` in a forked copy of this process. Returns a function that waits for
    its result (None if the child failed), or None when this process cannot fork."""
    if not _can_fork():
        return None
    readable, writable = os.pipe()
    try:
        pid = os.fork()
    except OSError:  # no memory or no process left for a copy: the caller does the work
        os.close(readable)
        os.close(writable)
        return None
    if pid == 0:  # the child: never returns
        gc.freeze()
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


class Copy:
    """The parent's end of a copy of the build (`fork_copy`): the messages the copy sends,
    in order. Each is a file, so the copy never waits for the parent to read one."""

    def __init__(self, pid: int, readable: int, folder: Path) -> None:
        self.pid, self.readable, self.folder = pid, readable, folder
        self.received = 0
        self.ended = False

    def receive(self) -> Any:
        """The next message; None once the copy failed (it sends nothing more then)."""
        if self.ended:
            return None
        if os.read(self.readable, 1) != b"+":  # end of the pipe: the copy exited or died
            self.stop()
            return None
        path = self.folder / str(self.received)
        self.received += 1
        value: Any
        value, records = pickle.loads(path.read_bytes())  # noqa: S301 - our own copy's output
        path.unlink()
        for name, level, message in records:
            logging.getLogger(name).log(level, message)
        return value

    def stop(self) -> None:
        """End the copy (if it still runs) and clean up after it."""
        if self.ended:
            return
        self.ended = True
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        os.close(self.readable)
        shutil.rmtree(self.folder, ignore_errors=True)


class Sender:
    """The copy's end: it sends messages to the parent, then exits."""

    def __init__(self, writable: int, folder: Path) -> None:
        self.writable, self.folder = writable, folder
        self.sent = 0
        self.collect = _Collect()
        self.collect.install()

    def send(self, value: Any) -> None:
        """Send `value` (picklable) with the warnings logged since the last message."""
        records, self.collect.records = list(self.collect.records.values()), {}
        (self.folder / str(self.sent)).write_bytes(
            pickle.dumps((value, records), protocol=pickle.HIGHEST_PROTOCOL))
        self.sent += 1
        os.write(self.writable, b"+")

    def finish(self, value: Any) -> NoReturn:
        """Send the last message and exit; if that fails, the parent sees the copy fail."""
        code = 1
        try:
            self.send(value)
            code = 0
        finally:
            os._exit(code)

    @staticmethod
    def fail() -> NoReturn:
        os._exit(1)


def fork_copy() -> Copy | Sender | None:
    """Fork a copy of this process that goes on running the same program (the build), and
    talks back with messages: this process gets a Copy, the copy gets a Sender. None when
    this process cannot fork.

    The copy must end through its Sender (`finish` or `fail`): it must never return to the
    program that called the build (a test run, a command line), so it dies on Ctrl-C too.
    """
    if not _can_fork():
        return None
    folder = Path(tempfile.mkdtemp(prefix="storyhub-copy-"))
    readable, writable = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(readable)
        os.close(writable)
        shutil.rmtree(folder, ignore_errors=True)
        return None
    if pid == 0:
        gc.freeze()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.close(readable)
        return Sender(writable, folder)
    os.close(writable)
    return Copy(pid, readable, folder)
