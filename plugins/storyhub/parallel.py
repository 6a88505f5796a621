"""Work done by a forked copy of the build process, on the other core.

MkDocs builds on one thread. Converting the Markdown of a thousand new stories takes seconds
of that thread; a copy of the process made by `fork` already has the stories, the Markdown
extensions and the site's URLs, so it can convert half of them meanwhile without anything
being sent to it. Only Linux forks here: elsewhere (and in a process that runs threads,
which a fork would copy in an unknown state) the caller does all the work itself.

Work that needs little of the build's state (drawing cards, running Pagefind) goes to a
fresh `python -m` worker instead (`python_worker`): a fork shares the build's memory, and
keeps more of it to itself the longer the build runs beside it.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import pickle
import signal
import subprocess
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


def can_fork() -> bool:
    return sys.platform == "linux" and threading.active_count() == 1


def _fork() -> tuple[int, int] | None:
    """Fork, with a pipe from the child to this process: (child's pid, reading end) here,
    (0, writing end) in the child. None when this process cannot fork."""
    if not can_fork():
        return None
    readable, writable = os.pipe()
    try:
        pid = os.fork()
    except OSError:  # no memory or no process left for a copy: the caller does the work
        os.close(readable)
        os.close(writable)
        return None
    if pid == 0:
        # What the child inherits stays shared: a collection would touch (copy) all of it.
        gc.freeze()
        os.close(readable)
        return 0, writable
    os.close(writable)
    return pid, readable


def _reply(writable: int, value: Any, collect: _Collect) -> None:
    """In the child: send `value` and the warnings it logged (to `_result`)."""
    data = pickle.dumps((value, list(collect.records.values())), protocol=pickle.HIGHEST_PROTOCOL)
    with os.fdopen(writable, "wb") as out:
        out.write(data)


def _result(readable: int, pid: int) -> Any:
    """Wait for the child's value, logging its warnings here; None if it failed."""
    with os.fdopen(readable, "rb") as source:
        data = source.read()
    _, status = os.waitpid(pid, 0)
    if status != 0 or not data:
        return None
    value, records = pickle.loads(data)  # noqa: S301 - our own child's output
    for name, level, message in records:
        logging.getLogger(name).log(level, message)
    return value


def in_child(work: Callable[[], T]) -> Callable[[], T | None] | None:
    """Start `work()` in a forked copy of this process. Returns a function that waits for
    its result (None if the child failed), or None when this process cannot fork."""
    child = start_child(work)
    return child.result if child is not None else None


def start_child(work: Callable[[], Any]) -> Copy | None:
    """`in_child`, for a caller that may have to stop the child before it is done."""
    forked = _fork()
    if forked is None:
        return None
    pid, end = forked
    if pid == 0:  # the child: never returns
        code = 1
        try:
            collect = _Collect()
            collect.install()
            _reply(end, work(), collect)
            code = 0
        finally:
            os._exit(code)  # no atexit handlers, no flushing of the parent's buffers
    return Copy(pid, end)


class Copy:
    """This process's end of a forked copy of the build (`fork_copy`, `start_child`)."""

    def __init__(self, pid: int, readable: int) -> None:
        self.pid, self.readable = pid, readable
        self.ended = False

    def result(self) -> Any:
        """Wait for what the copy ended with (`Sender.finish`); None if it failed. Once."""
        if self.ended:
            return None
        self.ended = True
        return _result(self.readable, self.pid)

    def stop(self) -> None:
        """End the copy now if it still runs (what it would have sent is lost)."""
        if self.ended:
            return
        self.ended = True
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        os.close(self.readable)


class Sender:
    """The copy's end: it ends with a value for the build, or fails."""

    def __init__(self, writable: int) -> None:
        self.writable = writable
        self.collect = _Collect()
        self.collect.install()

    def finish(self, value: Any) -> NoReturn:
        """Send `value` (picklable) with the warnings logged meanwhile, and exit; if that
        fails, the build sees the copy fail."""
        code = 1
        try:
            _reply(self.writable, value, self.collect)
            code = 0
        finally:
            os._exit(code)

    @staticmethod
    def fail() -> NoReturn:
        os._exit(1)


def fork_copy() -> Copy | Sender | None:
    """Fork a copy of this process that goes on running the same program (the build), and
    ends with a value for it: this process gets a Copy, the copy gets a Sender. None when
    this process cannot fork.

    The copy must end through its Sender (`finish` or `fail`): it must never return to the
    program that called the build (a test run, a command line), so it dies on Ctrl-C too.
    """
    forked = _fork()
    if forked is None:
        return None
    pid, end = forked
    if pid == 0:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        return Sender(end)
    return Copy(pid, end)


def python_worker(module: str, data: bytes, **options: Any) -> subprocess.Popen[bytes]:
    """Start `python -m module` (a module of this package) with `data` on its standard
    input; `options` go to Popen. Fresh, it does not share this process's memory as a
    forked copy does. The input comes from a file: through a pipe, this process would wait
    for the worker to start up and read it (0.4 s)."""
    package_parent = str(Path(__file__).resolve().parent.parent)
    path = os.environ.get("PYTHONPATH")
    env = {**os.environ, "PYTHONPATH": package_parent + (os.pathsep + path if path else "")}
    with tempfile.TemporaryFile() as source:
        source.write(data)
        source.seek(0)
        return subprocess.Popen([sys.executable, "-m", module], stdin=source, env=env,
                                **options)
