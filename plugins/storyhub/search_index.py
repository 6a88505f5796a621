"""The search index: run Pagefind over the built site and make its output reproducible.

Pagefind 1.5 writes its filter files from a Rust HashMap, so the order of filter values (and
therefore the files' bytes, their hashed names, the `pf_meta` file listing them and the
hash in `pagefind-entry.json`) changes from one run to the next although the content is the
same (upstream: Pagefind/pagefind#638; fragments and word index are already stable). After
Pagefind runs, `canonicalize` rewrites those few files with sorted values and names derived
from their content, so two builds of the same site give byte-identical indexes.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import struct
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BUNDLE_DIR = "pagefind"
# Every decompressed Pagefind file starts with this marker; the browser checks for it.
SIGNATURE = b"pagefind_dcd"
# The UI assets Pagefind writes next to its index; StoryHub has its own small UI instead.
UNUSED_BUNDLE_FILES = (
    "pagefind-ui.js", "pagefind-ui.css", "pagefind-modular-ui.js", "pagefind-modular-ui.css",
    "pagefind-component-ui.js", "pagefind-component-ui.css", "pagefind-highlight.js",
)
BUILD_TIMEOUT_S = 900


class SearchIndexError(RuntimeError):
    """Pagefind could not be run, failed, or wrote an index this module does not understand."""


@dataclass(frozen=True)
class IndexReport:
    pages: int
    seconds: float


def pagefind_executable() -> str:
    """Path of the Pagefind binary from the pinned `pagefind[bin]` wheel."""
    try:
        from pagefind.service import get_executable
    except ImportError as error:  # pragma: no cover - the package is a dependency
        raise SearchIndexError("the 'pagefind[bin]' package is not installed "
                               "(pip install 'pagefind[bin]')") from error
    binary = get_executable()
    if binary is None:
        raise SearchIndexError("the Pagefind binary was not found; reinstall 'pagefind[bin]'")
    return str(binary)


# Characters that mean something in a Pagefind glob; a file name with one cannot be listed.
GLOB_SPECIALS = frozenset("{}[]*?,\\!")


def page_glob(patterns: Sequence[str], files: Sequence[str]) -> str | None:
    """A Pagefind `--glob` for just the pages that can hold an index body.

    Pagefind parses every HTML file it is given; listing pages never have a body to index but
    cost a third of its time at 10,000 stories. None (index everything) when a file name has a
    glob character in it, or when nothing matches (a site with no stories and no hand-written
    page: Pagefind refuses an empty input).
    """
    if not patterns and not files or any(char in GLOB_SPECIALS for name in files for char in name):
        return None
    return "{" + ",".join([*patterns, *sorted(set(files))]) + "}"


def input_digest(site_dir: Path, command: list[str]) -> str:
    """What Pagefind's output depends on: every HTML file of the site, its options and version."""
    digest = hashlib.sha256()
    # The options without the site folder (a rebuild may go to another folder), and the binary.
    options = [part for part in command[1:] if part != str(site_dir)]
    digest.update(json.dumps([options, str(Path(command[0]).resolve()),
                              Path(command[0]).stat().st_size]).encode())
    for path in sorted(site_dir.rglob("*.html")):
        relative = path.relative_to(site_dir).as_posix()
        if relative.startswith((BUNDLE_DIR + "/", f".{BUNDLE_DIR}")):
            continue
        data = path.read_bytes()
        digest.update(f"\0{relative}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def build_index(site_dir: Path, keep_index_url: bool = False,
                cache_dir: Path | None = None, glob: str | None = None) -> IndexReport:
    """Run Pagefind over the built site, writing a reproducible index into `site_dir/pagefind/`.

    With `cache_dir`, the finished index is kept there under a digest of every HTML file;
    a build whose HTML is byte-identical (a rebuild with nothing changed) copies it back
    instead of running Pagefind, which takes several milliseconds per story.
    """
    command = [pagefind_executable(), "--site", str(site_dir), "--output-subdir", BUNDLE_DIR,
               "--quiet", *(["--glob", glob] if glob else [])]
    if keep_index_url:
        command.append("--keep-index-url")
    started = time.perf_counter()
    bundle = site_dir / BUNDLE_DIR
    key = input_digest(site_dir, command) if cache_dir else None
    cached = cache_dir / key if cache_dir and key else None
    if cached and (cached / "pagefind-entry.json").is_file():
        shutil.rmtree(bundle, ignore_errors=True)
        shutil.copytree(cached, bundle)
        entry = json.loads((bundle / "pagefind-entry.json").read_text("utf-8"))
        pages = sum(int(info.get("page_count", 0)) for info in entry.get("languages", {}).values())
        return IndexReport(pages, time.perf_counter() - started)
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise SearchIndexError(f"could not run Pagefind: {error}") from error
    if done.returncode != 0:
        output = (done.stderr or done.stdout).strip()
        raise SearchIndexError(f"Pagefind failed (exit {done.returncode}): {output}")
    for name in UNUSED_BUNDLE_FILES:
        (bundle / name).unlink(missing_ok=True)
    pages = canonicalize(bundle)
    if cache_dir and cached:
        _store(bundle, cache_dir, cached)
    return IndexReport(pages, time.perf_counter() - started)


def _store(bundle: Path, cache_dir: Path, target: Path) -> None:
    """Keep this index as the only cached one: the next build matches it or needs a new one."""
    staging = cache_dir / f".{target.name}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(bundle, staging)
    for old in cache_dir.iterdir():
        if old != staging:
            shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink()
    staging.rename(target)


class BackgroundIndexer:
    """Builds the index after a preview build without holding up the preview.

    Under `mkdocs serve` the page a writer is editing must appear in about a second, while
    Pagefind needs a few milliseconds per story. So the preview starts Pagefind in the
    background, writing to a temporary folder inside the site, and moves the finished index
    into place; the next rebuild cancels a run that has not finished.
    """

    def __init__(self, on_done: Callable[[IndexReport | SearchIndexError], None]):
        self.on_done = on_done
        self.process: subprocess.Popen[str] | None = None
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()
        self.generation = 0

    def start(self, site_dir: Path, keep_index_url: bool = False, glob: str | None = None) -> None:
        """Start indexing `site_dir` in the background (cancelling any earlier run)."""
        self.cancel()
        with self.lock:
            self.generation += 1
            generation = self.generation
            staging = site_dir / f".{BUNDLE_DIR}-building"
            shutil.rmtree(staging, ignore_errors=True)  # left by a cancelled run in a dirty build
            command = [pagefind_executable(), "--site", str(site_dir), "--output-path",
                       str(staging), "--quiet", *(["--glob", glob] if glob else [])]
            if keep_index_url:
                command.append("--keep-index-url")
            self.process = subprocess.Popen(command, stdout=subprocess.PIPE,
                                            stderr=subprocess.STDOUT, text=True)
            process = self.process
        self.thread = threading.Thread(
            target=self._finish, args=(process, generation, site_dir, staging), daemon=True)
        self.thread.start()

    def _finish(self, process: subprocess.Popen[str], generation: int, site_dir: Path,
                staging: Path) -> None:
        started = time.perf_counter()
        output, _ = process.communicate()
        with self.lock:
            if generation != self.generation:
                return  # a newer build replaced this site; its files may be gone already
            try:
                if process.returncode != 0:
                    raise SearchIndexError(f"Pagefind failed (exit {process.returncode}): "
                                           f"{output.strip()}")
                for name in UNUSED_BUNDLE_FILES:
                    (staging / name).unlink(missing_ok=True)
                pages = canonicalize(staging)
                staging.rename(site_dir / BUNDLE_DIR)
            except (OSError, SearchIndexError) as error:
                result: IndexReport | SearchIndexError = error if isinstance(
                    error, SearchIndexError) else SearchIndexError(str(error))
            else:
                result = IndexReport(pages, time.perf_counter() - started)
        self.on_done(result)

    def cancel(self) -> None:
        """Stop a run that is still going; its output is discarded."""
        with self.lock:
            self.generation += 1
            process = self.process
            self.process = None
        if process is not None and process.poll() is None:
            process.kill()
        if self.thread is not None:
            self.thread.join(timeout=10)
            self.thread = None


def read_fragments(site_dir: Path) -> list[dict[str, Any]]:
    """Every indexed page (url, content, filters, meta) decoded from the index."""
    return [json.loads(_read(path)) for path in
            sorted((site_dir / BUNDLE_DIR / "fragment").glob("*.pf_fragment"))]


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
