"""The search index: run Pagefind over the built site and make its output reproducible.

Pagefind 1.5 writes its filter files from a Rust HashMap, so the order of filter values (and
therefore the files' bytes, their hashed names, the `pf_meta` file listing them and the
hash in `pagefind-entry.json`) changes from one run to the next although the content is the
same (upstream: Pagefind/pagefind#638; fragments and word index are already stable). After
Pagefind runs, `canonicalize` rewrites those few files with sorted values and names derived
from their content, so two builds of the same site give byte-identical indexes.
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from . import parallel
from .atomic import write_atomic

BUNDLE_DIR = "pagefind"
# Every decompressed Pagefind file starts with this marker; the browser checks for it.
SIGNATURE = b"pagefind_dcd"
# The UI assets Pagefind writes next to its index; StoryHub has its own small UI instead.
UNUSED_BUNDLE_FILES = (
    "pagefind-ui.js", "pagefind-ui.css", "pagefind-modular-ui.js", "pagefind-modular-ui.css",
    "pagefind-component-ui.js", "pagefind-component-ui.css", "pagefind-highlight.js",
)
BUILD_TIMEOUT_S = 900
# A preview indexes (and writes feeds and digests) once the writer pauses: at thousands of
# stories that work takes seconds, and the next rebuild, a second after a save, would
# otherwise compete with it for both cores.
PREVIEW_DELAY_S = 2.0
# A shard of this many pages or more is not indexed while the build's copy renders pages
# (plugin.py): Pagefind holds about 190 KB a story, the copy 100-250 MB at 5,000 stories.
BESIDE_COPY_MAX = 1500
NICE = shutil.which("nice")


class SearchIndexError(RuntimeError):
    """Pagefind could not be run, failed, or wrote an index this module does not understand."""


@dataclass(frozen=True)
class IndexReport:
    pages: int
    seconds: float


# The binary, in a worker whose build found it already (IndexWorker).
KNOWN_BINARY: str | None = None


@functools.cache
def pagefind_executable() -> str:
    """Path of the Pagefind binary from the pinned `pagefind[bin]` wheel (once: importing
    the package that knows it takes 0.1-0.2 s)."""
    if KNOWN_BINARY:
        return KNOWN_BINARY
    try:
        from pagefind.service import get_executable
    except ImportError as error:  # pragma: no cover - the package is a dependency
        raise SearchIndexError("the 'pagefind[bin]' package is not installed "
                               "(pip install 'pagefind[bin]')") from error
    binary = get_executable()
    if binary is None:
        raise SearchIndexError("the Pagefind binary was not found; reinstall 'pagefind[bin]'")
    return str(binary)


def bundle_name(number: int) -> str:
    """Folder of the index shard `number` (1-based): pagefind/, pagefind-2/, pagefind-3/..."""
    return BUNDLE_DIR if number == 1 else f"{BUNDLE_DIR}-{number}"


# A site of at least this many stories that fits in one shard is indexed as two halves by
# two Pagefind processes at once. Once Pagefind has read every page, it builds and writes
# the index on one core: 1.3 s of the 2.3 s it took to index 977 stories on the 2-core
# benchmark machine, 1.5 s for both halves at once. The halves hold as much memory
# together as the one shard would.
SPLIT_MIN = 500


def split_in_two(stories: int, shard_size: int) -> bool:
    """Whether a site with `stories` story pages is indexed as two halves at once."""
    return SPLIT_MIN <= stories <= shard_size


def _stories_per_shard(stories: int, shard_size: int) -> int:
    return -(-stories // 2) if split_in_two(stories, shard_size) else shard_size


def shard_count(stories: int, shard_size: int) -> int:
    """How many index shards a site with `stories` story pages gets (at least one)."""
    return max(1, -(-stories // _stories_per_shard(stories, shard_size)))


def plan_shards(stories: Sequence[str], pages: Sequence[str], shard_size: int) -> list[list[str]]:
    """The HTML files (relative to the site folder) each index shard holds.

    Pagefind holds its whole index in memory while it writes it, about 190 KB per story
    page (930 MB at 5,000 stories), so a large site is indexed as several shards of at most
    `shard_size` stories, one Pagefind run after the other; the browser merges them
    (Pagefind's `mergeIndex`). `stories` come newest first, so the first shard has the newest
    stories and the hand-written `pages`; a date-sorted search lists shard after shard.
    Listing pages are never given to Pagefind: they have no body to index. A site that fits
    in one shard is indexed as two when it is large enough to gain from it (split_in_two).
    """
    size = _stories_per_shard(len(stories), shard_size)
    shards = [list(stories[start:start + size])
              for start in range(0, len(stories), size)] or [[]]
    shards[0] = sorted(set(pages)) + shards[0]
    return [shard for shard in shards if shard]


def bundles(site_dir: Path) -> list[Path]:
    """The index shards a built site has, in order."""
    found: list[Path] = []
    while (site_dir / bundle_name(len(found) + 1) / "pagefind-entry.json").is_file():
        found.append(site_dir / bundle_name(len(found) + 1))
    return found


def _command(site: Path, output: Path, keep_index_url: bool) -> list[str]:
    return [pagefind_executable(), "--site", str(site), "--output-path", str(output), "--quiet",
            *(["--keep-index-url"] if keep_index_url else [])]


# What Pagefind reads of a page: the part between these comments, which the plugin puts
# around the content of story pages and hand-written pages, in a document of its own with the
# page's language. Everything Pagefind indexes (the body, filters, meta, sort keys) is in
# that part, so the index is the same as from the whole page (byte for byte, tested), while
# the pages need not be written yet: a build starts Pagefind as soon as MkDocs has
# rendered the first page, and it runs while MkDocs writes the rest.
INPUT_START = b"<!-- search input -->"
INPUT_END = b"<!-- /search input -->"
# Parts of that content Pagefind ignores anyway (data-pagefind-ignore, with no filter, meta
# or image inside): a story's related cards, team badges, dates, authors and KPI chips. They
# are cut from its input, which gives the same index (tested) from half the input (10.2 to
# 5.3 KB a story), and takes Pagefind a quarter less time.
SKIP_START = b"<!-- search skip -->"
SKIP_END = b"<!-- /search skip -->"
_LANG = re.compile(r'<html\b[^>]*?\slang="([^"]*)"')

# The input document of one page (relative path in the site), or None if there is no page.
Reader = Callable[[str], "bytes | None"]


def mark_input(content: str) -> str:
    """A page's content, marked as what the search index holds of the page."""
    return f"{INPUT_START.decode()}{content}{INPUT_END.decode()}"


def mark_skipped(content: str) -> str:
    """Part of a page's marked content that Pagefind ignores, to be left out of its input."""
    return f"{SKIP_START.decode()}{content}{SKIP_END.decode()}"


def input_document(html: bytes, lang: bytes | None = None) -> bytes:
    """What Pagefind reads of a page (or of its content, with the site's `lang`): the marked
    part, without its skipped parts, in a document of its own; or the whole page if nothing
    is marked."""
    start, end = html.find(INPUT_START), html.rfind(INPUT_END)
    if start < 0 or end < start:
        return html
    if lang is None:
        found = language(html[:start].decode("utf-8", "replace"))
        lang = found.encode() if found else None
    attribute = b' lang="' + lang + b'"' if lang else b""
    return (b"<!doctype html><html" + attribute + b'><head><meta charset="utf-8"></head><body>'
            + _without_skipped(html[start:end + len(INPUT_END)]) + b"</body></html>")


def _without_skipped(part: bytes) -> bytes:
    kept, at = [], 0
    while (cut := part.find(SKIP_START, at)) >= 0 and (close := part.find(SKIP_END, cut)) >= 0:
        kept.append(part[at:cut])
        at = close + len(SKIP_END)
    kept.append(part[at:])
    return b"".join(kept)


def language(page: str) -> str | None:
    """The language a page declares on its <html> element, which Pagefind indexes it in."""
    found = _LANG.search(page)
    return found.group(1) if found else None


def site_reader(site_dir: Path) -> Reader:
    """The input documents of the pages written in `site_dir`."""
    def read(relative: str) -> bytes | None:
        try:
            return input_document((site_dir / relative).read_bytes())
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None
    return read


def content_reader(contents: Mapping[str, str], lang: str | None) -> Reader:
    """The input documents of pages not written yet, from their content and the language."""
    encoded = (lang or "").encode()  # b"": no language (None would look for it in the page)

    def read(relative: str) -> bytes | None:
        content = contents.get(relative)
        return None if content is None else input_document(content.encode(), encoded)
    return read


def input_digest(inputs: Mapping[str, bytes], command: list[str]) -> str:
    """What a shard depends on: its input documents, Pagefind's options and the binary."""
    digest = hashlib.sha256()
    options = command[5:]  # without the binary, the input and the output folders
    digest.update(json.dumps([options, str(Path(command[0]).resolve()),
                              Path(command[0]).stat().st_size]).encode())
    for relative, data in inputs.items():
        digest.update(f"\0{relative}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


@dataclass(frozen=True)
class ShardRun:
    """One Pagefind run: the shard's number (its folder), its files and its `shard` filter."""

    number: int
    files: list[str]
    tag: int | None  # None with a single shard: its pages need no shard filter


def _runs(shards: Sequence[Sequence[str]]) -> list[ShardRun]:
    """The runs a plan (plan_shards) takes. No shards: one run over the whole site."""
    return [ShardRun(number, list(files), number if len(shards) > 1 else None)
            for number, files in enumerate(shards or [[]], start=1)]


def _with_shard(page: bytes, shard: int | None) -> bytes:
    """A page with a hidden `shard` filter, which the search page needs to list stories by
    date across shards (the pages themselves stay the same whichever shard they fall in)."""
    if shard is None:
        return page
    tag = f'<head><meta data-pagefind-filter="shard[content]" content="{shard}">'
    return page.replace(b"<head>", tag.encode(), 1)


def _inputs(read: Reader, run: ShardRun) -> dict[str, bytes]:
    """The input document of each page of `run`. A page missing from the output is left
    out (the conservation check reports it)."""
    inputs = {}
    for relative in run.files:
        data = read(relative)
        if data is not None:
            inputs[relative] = _with_shard(data, run.tag)
    return inputs


def _stage(inputs: Mapping[str, bytes], staging: Path) -> Path:
    """A folder holding the input documents at their paths in the site, so that Pagefind
    reads only them and gives them the same URLs."""
    shutil.rmtree(staging, ignore_errors=True)
    folders: set[Path] = set()
    for relative, data in inputs.items():
        target = staging / relative
        if target.parent not in folders:
            target.parent.mkdir(parents=True, exist_ok=True)
            folders.add(target.parent)
        target.write_bytes(data)
    return staging


# Pagefind's input is staged in a file system in memory, where Linux has one. On the 2-core
# benchmark machine a file or folder made on disk costs 0.3 ms of CPU, and 0.02 ms there:
# staging the input of 1,000 story pages took 0.7 s on disk. Builds and previews stage in
# the same place: Pagefind numbers pages in the order the folder lists them, which depends
# on the file system, and its index must not depend on which of the two made it.
MEMORY_DIR = Path("/dev/shm")
MEMORY_MARGIN = 64 << 20  # bytes left free for others (a container's /dev/shm may be 64 MB)


def scratch_dir(size: int) -> str | None:
    """Where to stage `size` bytes of short-lived files: the memory file system when it has
    room to spare, else None (the default temporary folder)."""
    try:
        free = os.statvfs(MEMORY_DIR)
    except (OSError, AttributeError):  # no such folder, or no statvfs (Windows)
        return None
    room = free.f_bavail * free.f_frsize
    return str(MEMORY_DIR) if room > 2 * size + MEMORY_MARGIN and os.access(
        MEMORY_DIR, os.W_OK | os.X_OK) else None


def _scratch(size: int) -> Path:
    """A new temporary folder for staging `size` bytes (scratch_dir)."""
    return Path(tempfile.mkdtemp(prefix="storyhub-search-", dir=scratch_dir(size)))


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _link_stage(site_dir: Path, run: ShardRun, staging: Path,
                alive: Callable[[], bool] | None = None) -> Path:
    """Like `_stage`, of whole written pages (Pagefind makes the same index of them), as
    hard links (copies across file systems), or copies with the `shard` filter. A preview's
    background run stages this way: reading and cutting thousands of pages on a thread of
    `mkdocs serve` held the GIL long enough to slow the next rebuild by a third."""
    shutil.rmtree(staging, ignore_errors=True)
    staged = False
    for number, relative in enumerate(run.files):
        if alive is not None and number % 100 == 0 and not alive():
            raise Cancelled
        source, target = site_dir / relative, staging / relative
        if not source.is_file():
            continue  # missing from the output: the conservation check reports it
        target.parent.mkdir(parents=True, exist_ok=True)
        staged = True
        if run.tag is not None:
            target.write_bytes(_with_shard(source.read_bytes(), run.tag))
            continue
        try:
            os.link(source, target)
        except OSError:
            shutil.copyfile(source, target)
    return staging if staged else site_dir  # no page at all: the whole site, as `build_index`


class Cancelled(Exception):
    """A background run was cancelled by a newer build."""


def _run(command: list[str],
         started: Callable[[subprocess.Popen[str] | None], bool] | None = None,
         nice: bool = False) -> None:
    """Run Pagefind, at a lower priority with `nice` (where `nice` exists); `started` may
    refuse the process (a cancelled preview run), which kills it."""
    if nice and NICE:
        command = [NICE, "-n", "10", *command]
    try:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   text=True)
    except OSError as error:
        raise SearchIndexError(f"could not run Pagefind: {error}") from error
    if started is not None and not started(process):
        process.kill()
    try:
        output, _ = process.communicate(timeout=BUILD_TIMEOUT_S)
    except subprocess.TimeoutExpired as error:
        process.kill()
        raise SearchIndexError(f"could not run Pagefind: {error}") from error
    if process.returncode < 0:
        raise Cancelled
    if process.returncode != 0:
        raise SearchIndexError(f"Pagefind failed (exit {process.returncode}): {output.strip()}")


def _index_folder(folder: Path, output: Path, keep_index_url: bool, nice: bool = False,
                  started: Callable[[subprocess.Popen[str] | None], bool] | None = None) -> int:
    """Index the pages in `folder` into `output`, made reproducible; returns the page count.
    `started` is told of the Pagefind process and says whether the run is still wanted."""
    _run(_command(folder, output, keep_index_url), started, nice)
    for name in UNUSED_BUNDLE_FILES:
        (output / name).unlink(missing_ok=True)
    return canonicalize(output)


def build_index(site_dir: Path, shards: Sequence[Sequence[str]], keep_index_url: bool = False,
                cache_dir: Path | None = None, read: Reader | None = None,
                nice: bool = False, at_once: bool = False) -> IndexReport:
    """Index the site's `shards` (plan_shards) into pagefind/, pagefind-2/... in `site_dir`.

    `read` gives each page's input document (default: from the page written in `site_dir`).
    With `cache_dir`, each finished shard is kept there under a digest of its input; a shard
    whose input is byte-identical (a rebuild with nothing changed) is copied back instead of
    running Pagefind, which takes several milliseconds per story. With `nice`, Pagefind
    leaves the CPU to the build (it runs while MkDocs writes pages); with `at_once`, all
    shards are indexed at the same time (write_shards).
    """
    started = time.perf_counter()
    jobs = stage_shards(site_dir, shards, keep_index_url, cache_dir, read or site_reader(site_dir))
    pages = write_shards(site_dir, jobs, keep_index_url, cache_dir, nice, at_once)
    return IndexReport(pages, time.perf_counter() - started)


@dataclass(frozen=True)
class ShardJob:
    """A shard to write (write_shards): from its pack in the cache if `key` names one there,
    else by Pagefind from `folder`, its staged input (None: the whole site)."""

    number: int
    folder: str | None
    key: str | None


def stage_shards(site_dir: Path, shards: Sequence[Sequence[str]], keep_index_url: bool,
                 cache_dir: Path | None, read: Reader) -> list[ShardJob]:
    """Stage the input of each shard in a temporary folder (scratch_dir), outside the site,
    which the conservation check reads while Pagefind runs; and find its cache key."""
    jobs: list[ShardJob] = []
    try:
        for run in _runs(shards):
            inputs = (_inputs(read, run) if run.files else None) or None  # none: the whole site
            command = _command(site_dir, site_dir / bundle_name(run.number), keep_index_url)
            key = input_digest(inputs, [*command, f"shard {run.tag}", "packed"]) \
                if cache_dir and inputs else None
            folder = None
            if inputs is not None:
                folder = _scratch(sum(map(len, inputs.values())))
                _stage(inputs, folder)
            jobs.append(ShardJob(run.number, str(folder) if folder else None, key))
    except BaseException:
        remove_staged(jobs)
        raise
    return jobs


def remove_staged(jobs: Sequence[ShardJob]) -> None:
    for job in jobs:
        if job.folder:
            shutil.rmtree(job.folder, ignore_errors=True)


def write_shards(site_dir: Path, jobs: Sequence[ShardJob], keep_index_url: bool,
                 cache_dir: Path | None, nice: bool = False, at_once: bool = False) -> int:
    """Write the shards of `jobs` (stage_shards) into the site and remove their staged input;
    the number of pages indexed. The cache keeps these shards only. With `at_once` (the two
    halves of a site, split_in_two), Pagefind indexes them all at the same time."""

    def write(job: ShardJob) -> int:
        bundle = site_dir / bundle_name(job.number)
        shutil.rmtree(bundle, ignore_errors=True)
        pack = cache_dir / job.key if cache_dir and job.key else None
        if pack and pack.is_file() and _restore(pack, bundle):
            entry = json.loads((bundle / "pagefind-entry.json").read_text("utf-8"))
            return sum(int(info.get("page_count", 0))
                       for info in entry.get("languages", {}).values())
        folder = Path(job.folder) if job.folder else site_dir
        pages = _index_folder(folder, bundle, keep_index_url, nice)
        if pack:
            _store(bundle, pack)
        return pages

    try:
        if at_once and len(jobs) > 1:
            with ThreadPoolExecutor(len(jobs)) as threads:  # each waits for its Pagefind
                pages = sum(threads.map(write, jobs))
        else:
            pages = sum(map(write, jobs))
    finally:
        remove_staged(jobs)
    if cache_dir and cache_dir.is_dir():
        keep = {job.key for job in jobs if job.key}
        for old in cache_dir.iterdir():  # shards no build will ask for again
            if old.name not in keep:
                shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink()
    return pages


class IndexWorker:
    """A build's search index, written by a fresh Python process (`python -m
    storyhub.search_index`) from the input the build stages as soon as MkDocs has rendered
    the first page: Pagefind runs (at a lower priority) while MkDocs writes the pages.

    A forked copy of the build did this before. It shared the build's memory, and as the
    build went on, held 230-260 MB of its own (PSS) at 5,000 stories while Pagefind ran
    beside it: that took the build's peak over 1 GB. (On a thread, it had waited for the
    GIL at every file it wrote, and started Pagefind a second and a half late.)
    """

    def __init__(self, site_dir: Path, shards: Sequence[Sequence[str]], read: Reader,
                 keep_index_url: bool, cache_dir: Path | None, at_once: bool = False) -> None:
        self.started = time.perf_counter()
        self.jobs = stage_shards(site_dir, shards, keep_index_url, cache_dir, read)
        order = {"site": str(site_dir), "jobs": [dataclasses.asdict(job) for job in self.jobs],
                 "keep_index_url": keep_index_url, "cache": str(cache_dir) if cache_dir else None,
                 "pagefind": pagefind_executable(), "at_once": at_once}
        self.process = parallel.python_worker(
            "storyhub.search_index", json.dumps(order).encode(), stdout=subprocess.PIPE)

    def result(self) -> IndexReport | SearchIndexError | None:
        """Wait for the index: its report, the error that stopped it, or None if the worker
        died (its staged input is removed then; the build indexes the written site)."""
        output, _ = self.process.communicate()
        remove_staged(self.jobs)  # what a dead worker left
        try:
            done = json.loads(output)
        except ValueError:
            return None
        if self.process.returncode != 0 or not isinstance(done, dict):
            return None
        if "error" in done:
            return SearchIndexError(str(done["error"]))
        return IndexReport(int(done["pages"]), time.perf_counter() - self.started)


def _worker() -> None:
    """`python -m storyhub.search_index`: write the shards an IndexWorker ordered (JSON on
    standard input); print the page count, or the error, as JSON."""
    order = json.loads(sys.stdin.buffer.read())
    global KNOWN_BINARY
    KNOWN_BINARY = order["pagefind"]
    try:
        pages = write_shards(Path(order["site"]), [ShardJob(**job) for job in order["jobs"]],
                             order["keep_index_url"],
                             Path(order["cache"]) if order["cache"] else None, nice=True,
                             at_once=order["at_once"])
        print(json.dumps({"pages": pages}))
    except (OSError, SearchIndexError) as error:
        print(json.dumps({"error": str(error)}))


def _store(bundle: Path, target: Path) -> None:
    """Keep a finished shard in the cache as one file: a JSON line of its files' paths and
    sizes, then their bytes. (As a folder of copies, it made a thousand more files at the
    end of a 1,000-story build: 0.3-0.5 s of this machine's disk.)"""
    files = sorted(path for path in bundle.rglob("*") if path.is_file())
    data = [path.read_bytes() for path in files]
    index = [[path.relative_to(bundle).as_posix(), len(content)]
             for path, content in zip(files, data, strict=True)]
    write_atomic(target, json.dumps(index).encode() + b"\n" + b"".join(data))


def _restore(pack: Path, bundle: Path) -> bool:
    """Write a shard kept by `_store` at `bundle`; False (and no bundle) if the pack is
    damaged, so that Pagefind makes the shard again."""
    try:
        data = pack.read_bytes()
        end = data.index(b"\n")
        index = json.loads(data[:end])
        offset, files = end + 1, []
        for name, size in index:
            parts = PurePosixPath(name).parts
            if not parts or PurePosixPath(name).is_absolute() or ".." in parts \
                    or not isinstance(size, int) or size < 0 or offset + size > len(data):
                raise ValueError(f"bad entry {name!r}")
            files.append((bundle.joinpath(*parts), data[offset:offset + size]))
            offset += size
        if offset != len(data):
            raise ValueError("trailing bytes")
        folders: set[Path] = set()
        for path, content in files:
            if path.parent not in folders:
                path.parent.mkdir(parents=True, exist_ok=True)
                folders.add(path.parent)
            path.write_bytes(content)
    except (OSError, ValueError, TypeError):  # json's errors are ValueErrors
        shutil.rmtree(bundle, ignore_errors=True)
        return False
    return True


class BackgroundIndexer:
    """Builds the index after a preview build without holding up the preview.

    Under `mkdocs serve` the page a writer is editing must appear in about a second, while
    Pagefind needs a few milliseconds per story. So the preview runs Pagefind in the
    background, in a temporary folder beside the site, and moves the finished shards into
    place; it starts once no rebuild came for PREVIEW_DELAY_S seconds, at a low priority.
    The next rebuild cancels a run that has not finished without waiting for it: the run
    notices, stops and removes its folder by itself.
    """

    def __init__(self, on_done: Callable[[IndexReport | SearchIndexError], None]):
        self.on_done = on_done
        self.process: subprocess.Popen[str] | None = None
        self.threads: list[threading.Thread] = []
        self.lock = threading.Lock()
        self.generation = 0
        self.cancelled = threading.Event()  # set when the latest run is no longer wanted

    def start(self, site_dir: Path, shards: Sequence[Sequence[str]],
              keep_index_url: bool = False, delay: float = 0.0) -> None:
        """Start indexing `site_dir` in the background (cancelling any earlier run), after
        `delay` seconds in which no newer build came."""
        self.cancel(wait=False)
        with self.lock:
            self.generation += 1
            generation = self.generation
            self.cancelled = threading.Event()
        thread = threading.Thread(
            target=self._index, args=(generation, site_dir, [list(s) for s in shards],
                                      keep_index_url, delay, self.cancelled), daemon=True)
        self.threads = [t for t in self.threads if t.is_alive()] + [thread]
        thread.start()

    def _index(self, generation: int, site_dir: Path, shards: list[list[str]],
               keep_index_url: bool, delay: float, cancelled: threading.Event) -> None:
        if cancelled.wait(delay):
            return
        started = time.perf_counter()

        def wanted(process: subprocess.Popen[str] | None) -> bool:
            with self.lock:
                if process is not None:
                    self.process = process
                return generation == self.generation

        def alive() -> bool:
            return wanted(None)

        work: Path | None = None
        scratch: Path | None = None
        try:
            # Beside the site folder: the same file system (renames) and out of the way of
            # MkDocs, which empties the site folder when the next rebuild starts.
            work = Path(tempfile.mkdtemp(prefix=".storyhub-index-", dir=site_dir.parent))
            runs, pages = _runs(shards), 0
            for run in runs:
                if run.files:
                    scratch = _scratch(sum(_size(site_dir / file) for file in run.files))
                    folder = _link_stage(site_dir, run, scratch / "input", alive)
                else:
                    folder = site_dir
                pages += _index_folder(folder, work / bundle_name(run.number), keep_index_url,
                                       nice=True, started=wanted)
                if scratch is not None:
                    shutil.rmtree(scratch, ignore_errors=True)
            with self.lock:
                if generation != self.generation:
                    return  # a newer build replaced this site; its files may be gone already
                for old in bundles(site_dir):  # an earlier index (`mkdocs serve --dirty`)
                    shutil.rmtree(old)
                for run in runs:
                    shutil.move(work / bundle_name(run.number), site_dir / bundle_name(run.number))
        except Cancelled:
            return
        except (OSError, SearchIndexError) as error:
            if wanted(None):
                self.on_done(error if isinstance(error, SearchIndexError)
                             else SearchIndexError(str(error)))
            return
        finally:
            for temporary in (work, scratch):
                if temporary is not None:
                    shutil.rmtree(temporary, ignore_errors=True)
        self.on_done(IndexReport(pages, time.perf_counter() - started))

    def cancel(self, wait: bool = True) -> None:
        """Stop a run that is still going; its output is discarded. With `wait`, until its
        thread has cleaned up (when `mkdocs serve` stops)."""
        with self.lock:
            self.generation += 1
            self.cancelled.set()
            process = self.process
            self.process = None
        if process is not None and process.poll() is None:
            process.kill()
        if wait:
            for thread in self.threads:
                thread.join(timeout=10)
            self.threads = []


def read_fragments(site_dir: Path) -> list[dict[str, Any]]:
    """Every indexed page (url, content, filters, meta) decoded from the index, all shards."""
    return [json.loads(_read(path)) for bundle in bundles(site_dir)
            for path in sorted((bundle / "fragment").glob("*.pf_fragment"))]


def canonicalize(bundle: Path) -> int:
    """Rewrite the filter files, meta file and entry file in a stable order; return the page count."""
    entry_path = bundle / "pagefind-entry.json"
    entry = json.loads(entry_path.read_text("utf-8"))
    pages = 0
    for language, info in entry.get("languages", {}).items():
        meta_path = bundle / f"pagefind.{info['hash']}.pf_meta"
        meta = _decode_all(_read(meta_path), meta_path)
        if not (isinstance(meta, list) and len(meta) >= 4 and isinstance(meta[3], list)):
            raise SearchIndexError(f"unexpected layout of {meta_path.name}; Pagefind's index "
                                   "format changed, update storyhub/search_index.py")
        filters = []
        for name, file_hash in meta[3]:
            old = bundle / "filter" / f"{file_hash}.pf_filter"
            chunk = _decode_all(_read(old), old)
            # [filter name, [[value, [page numbers]], ...]]: sort the values.
            chunk = [chunk[0], sorted(chunk[1], key=lambda item: item[0])]
            data = SIGNATURE + _encode(chunk)
            new_hash = f"{language}_{hashlib.sha256(data).hexdigest()[:7]}"
            old.unlink()
            _write(bundle / "filter" / f"{new_hash}.pf_filter", data)
            filters.append([name, new_hash])
        meta[3] = sorted(filters)
        data = SIGNATURE + _encode(meta)
        meta_hash = f"{language}_{hashlib.sha256(data).hexdigest()[:10]}"
        meta_path.unlink()
        _write(bundle / f"pagefind.{meta_hash}.pf_meta", data)
        info["hash"] = meta_hash
        pages += int(info.get("page_count", 0))
    entry_path.write_text(json.dumps(entry, ensure_ascii=False, separators=(",", ":")), "utf-8")
    return pages


def _read(path: Path) -> bytes:
    data = gzip.decompress(path.read_bytes())
    if not data.startswith(SIGNATURE):
        raise SearchIndexError(f"{path.name} is not a Pagefind file (no signature)")
    return data[len(SIGNATURE):]


def _write(path: Path, data: bytes) -> None:
    # mtime=0 keeps the gzip header free of the build time.
    path.write_bytes(gzip.compress(data, compresslevel=9, mtime=0))


# The subset of CBOR (RFC 8949) Pagefind's meta and filter files use: unsigned integers,
# text strings and arrays.
def _decode_all(data: bytes, path: Path) -> Any:
    try:
        value, end = _decode(data, 0)
    except (IndexError, ValueError, struct.error) as error:
        raise SearchIndexError(f"cannot read {path.name}: {error}; Pagefind's index format "
                               "changed, update storyhub/search_index.py") from error
    if end != len(data):
        raise SearchIndexError(f"cannot read {path.name}: trailing bytes")
    return value


def _decode(data: bytes, at: int) -> tuple[Any, int]:
    head = data[at]
    major, info = head >> 5, head & 31
    at += 1
    if info < 24:
        size = info
    elif info in (24, 25, 26, 27):
        width = 1 << (info - 24)
        size = int.from_bytes(data[at:at + width], "big")
        at += width
    else:
        raise ValueError(f"unsupported CBOR item 0x{head:02x}")
    if major == 0:
        return size, at
    if major == 3:
        return data[at:at + size].decode("utf-8"), at + size
    if major == 4:
        items = []
        for _ in range(size):
            item, at = _decode(data, at)
            items.append(item)
        return items, at
    raise ValueError(f"unsupported CBOR major type {major}")


def _head(major: int, size: int) -> bytes:
    if size < 24:
        return bytes([major << 5 | size])
    for info, width in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if size < 1 << (8 * width):
            return bytes([major << 5 | info]) + size.to_bytes(width, "big")
    raise ValueError("CBOR item too large")


def _encode(value: Any) -> bytes:
    if isinstance(value, bool) or value is None:
        raise ValueError(f"unsupported value {value!r}")
    if isinstance(value, int):
        return _head(0, value)
    if isinstance(value, str):
        raw = value.encode("utf-8")
        return _head(3, len(raw)) + raw
    if isinstance(value, list):
        return _head(4, len(value)) + b"".join(_encode(item) for item in value)
    raise ValueError(f"unsupported value {value!r}")


if __name__ == "__main__":
    _worker()
