"""Warm builds: outputs that are pure functions of the build's inputs, kept under a digest.

Feeds and newsletter digests are the same bytes whenever the stories, their rendering, the
registries, the images, the settings and StoryHub's own code are the same. A build computes
a digest of all of that (milliseconds) and takes the files from the cache when it matches,
instead of generating a hundred feeds and hundreds of digests again (about a second at
1,000 stories). Any change, including to StoryHub itself, is a miss.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import jinja2
import jinja2.bccache

from .atomic import write_atomic

PACKAGE = Path(__file__).parent

Produce = Callable[[], Iterable[tuple[str, str | bytes]]]


def code_digest(templates: Path) -> str:
    """Digest of StoryHub's code and assets and of the templates in use (a few milliseconds)."""
    digest = hashlib.sha256()
    for folder in (PACKAGE, templates):
        for path in sorted(folder.rglob("*")):
            if path.is_file() and path.suffix in {".py", ".html", ".css", ".js"}:
                digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
                digest.update(path.read_bytes())
    return digest.hexdigest()


def digest_of(templates: Path, parts: Iterable[Any]) -> str:
    """Digest of StoryHub's code and of values whose repr() is stable across processes
    (dataclasses, strings, dates...)."""
    digest = hashlib.sha256(code_digest(templates).encode())
    for part in parts:
        digest.update(b"\0")
        digest.update(repr(part).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def publication_inputs(site: Any, images: Mapping[str, str], settings: Mapping[str, Any]) -> \
        Iterator[Any]:
    """What feeds and digests are made of: every story with its rendering (pages.Site),
    the registries, the content keys of the images (their files' sizes go in enclosures) and
    the settings (site_url, feed size, time zone, language...)."""
    yield sorted(settings.items())
    yield site.catalog.registry
    yield sorted(images.items())
    yield site.site_name, site.directory_urls, site.page_size
    for story in site.catalog.stories:
        yield story, site.rendered[story.slug]


class TemplateCache(jinja2.FileSystemBytecodeCache):
    """Compiled Jinja templates in a folder (Jinja checks each template's source checksum).

    Writing is best effort: a cache folder deleted while `mkdocs serve` runs, or one that
    cannot be written, only makes the next build compile the templates again.
    """

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            os.makedirs(self.directory, exist_ok=True)
            super().dump_bytecode(bucket)
        except OSError:
            return  # not cached this time; the template itself is fine


class FileSetCache:
    """One cached set of generated files, by the digest of their inputs."""

    def __init__(self, folder: Path):
        self.folder = folder

    def files(self, key: str, produce: Produce) -> list[tuple[str, str | bytes]]:
        """The files for `key`: from the cache, or produced now and cached (the only entry)."""
        path = self.folder / f"{key}.pickle"
        try:
            with path.open("rb") as handle:
                found: list[tuple[str, str | bytes]] = pickle.load(handle)
            return found
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ValueError):
            pass  # a miss, or a damaged entry: produce the files again
        made = list(produce())
        write_atomic(path, pickle.dumps(made, protocol=pickle.HIGHEST_PROTOCOL))
        for old in self.folder.glob("*.pickle"):
            if old != path:
                old.unlink(missing_ok=True)
        return made
