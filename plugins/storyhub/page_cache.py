"""Warm builds: generated pages whose inputs did not change are taken from the last build.

Every page costs a few milliseconds in the theme's templates, and StoryHub makes 1.5 to 2.5
pages per story (listings, taxonomy pages). `mkdocs build` with a cache folder keeps each
generated page it wrote, with what the page was made from; the next build has MkDocs write
the kept bytes instead of rendering the page again.

A kept page is used only when all of these are unchanged (the rules of preview rebuilds,
page_reuse.py, here from one build to the next):

- the site key: the versions of MkDocs, the theme and StoryHub, StoryHub's code, the loaded
  config, and everything of page_reuse.SiteState (config file, docs/, templates, registries,
  images, the structure of the catalog);
- the page's signature (path, title, template, feed, description, context);
- every story whose displayed data the page's template read (a digest of the story and its
  rendering), noted by page_reuse.TrackingEnvironment.

The page stays an MkDocs page (navigation, sitemap, `on_pre_page`); only its rendering is
skipped: the plugin gives it empty content and the empty template REUSED_TEMPLATE, and
returns the kept bytes from `on_post_page`. Only when StoryHub is the only plugin (another
plugin's page events could change a page in ways the key does not see) and not in a dirty
build.

A build appends every page it writes, kept or rendered, to one new pack file (writing a file
per page cost a millisecond a page, 1.5 s of a clean 1,000-story build), and its index of
where each page lies replaces the last one only at the end: a build that fails halfway
leaves the last build's index and pack as they were.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, BinaryIO

from . import build_cache, pages
from .atomic import write_atomic
from .model import Story
from .page_reuse import EVERY_STORY, SiteState, signature
from .render import Rendered

# The template of a kept page: nothing, as its bytes come from the cache in on_post_page.
REUSED_TEMPLATE = "storyhub-kept-page.html"
INDEX = "index.json"
PACK = ".pack"
# Config values the theme's templates read (besides the pages and the navigation).
CONFIG_KEYS = ("site_name", "site_url", "site_description", "site_author", "copyright",
               "repo_url", "repo_name", "edit_uri", "use_directory_urls", "extra", "extra_css",
               "nav", "markdown_extensions", "mdx_configs")


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return ""


VERSIONS = tuple(_version(name) for name in ("mkdocs", "mkdocs-material"))


def digest(value: Any) -> str:
    """A digest of `repr(value)`: plain values, tuples and dataclasses of them."""
    return hashlib.blake2b(repr(value).encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def story_digests(stories: Iterable[Story], rendered: Mapping[str, Rendered]) -> dict[str, str]:
    """A digest of every story and its rendering by slug, and of all of them (EVERY_STORY)."""
    digests = {story.slug: digest((story, rendered[story.slug])) for story in stories}
    digests[EVERY_STORY] = digest(sorted(digests.items()))
    return digests


@dataclass
class PageCache:
    """The kept pages of the last build (`entries`) and those of this one (`index`)."""

    folder: Path
    site_key: str
    stories: dict[str, str]  # story_digests of this build
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    index: dict[str, dict[str, Any]] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)  # page key by src_uri, this build
    memo: dict[int, tuple[Any, Any]] = field(default_factory=dict)  # signature() memo
    pack: BinaryIO | None = None  # this build's pages, as they are written
    pack_name: str = ""
    broken: bool = False  # the pack cannot be written: pages are not kept this time
    sizes: dict[str, int] = field(default_factory=dict)  # size of the last build's packs
    reading: dict[str, BinaryIO] = field(default_factory=dict)  # the last build's packs, open

    @classmethod
    def open(cls, folder: Path, site_key: str, stories: dict[str, str]) -> PageCache:
        try:
            entries = json.loads((folder / INDEX).read_text("utf-8"))
        except (OSError, ValueError):
            entries = {}  # none yet, or damaged: every page is rendered
        return cls(folder, site_key, stories, entries if isinstance(entries, dict) else {})

    def _key(self, spec: Any) -> str:
        if spec.src_uri not in self.keys:
            self.keys[spec.src_uri] = digest((self.site_key, signature(spec, self.memo)))
        return self.keys[spec.src_uri]

    def _pack_size(self, name: str) -> int:
        if name not in self.sizes:
            path = self.folder / name
            self.sizes[name] = path.stat().st_size \
                if name.endswith(PACK) and path.name == name and path.is_file() else -1
        return self.sizes[name]

    def kept(self, spec: Any) -> bool:
        """Whether the last build's output of a page (a pages.PageSpec) would come out the
        same; `take` then gives it."""
        entry = self.entries.get(spec.src_uri)
        if not isinstance(entry, dict) or entry.get("page") != self._key(spec):
            return False
        stories = entry.get("stories")
        if not isinstance(stories, dict) or any(self.stories.get(slug) != value
                                                for slug, value in stories.items()):
            return False
        offset, size = entry.get("offset"), entry.get("size")
        return isinstance(offset, int) and isinstance(size, int) and offset >= 0 \
            and offset + size <= self._pack_size(str(entry.get("pack")))

    def take(self, spec: Any, entry: dict[str, Any] | None = None) -> str:
        """The kept output of a page that `kept` accepted (or at `entry`, of this folder:
        a page of the build's copy, split.py); this build keeps it again."""
        entry = entry or self.entries[spec.src_uri]
        if entry["pack"] not in self.reading:
            self.reading[entry["pack"]] = open(self.folder / entry["pack"], "rb")  # noqa: SIM115
        pack = self.reading[entry["pack"]]
        pack.seek(entry["offset"])
        data = pack.read(entry["size"])
        self._append(spec.src_uri, {"page": entry["page"], "stories": entry["stories"]}, data)
        return data.decode("utf-8")

    def store(self, spec: Any, touched: Iterable[str], output: str) -> None:
        """Keep the output of a page rendered by this build, and the stories it read."""
        stories = {slug: self.stories.get(slug, "") for slug in sorted(touched)}
        # The bytes MkDocs writes for this output.
        self._append(spec.src_uri, {"page": self._key(spec), "stories": stories},
                     output.encode("utf-8", errors="xmlcharrefreplace"))

    def _append(self, src_uri: str, entry: dict[str, Any], data: bytes) -> None:
        """Best effort, like the compiled templates: a cache folder that cannot be written
        only means the pages are rendered again next time."""
        if self.broken:
            return
        try:
            if self.pack is None:
                self.folder.mkdir(parents=True, exist_ok=True)
                fd, path = tempfile.mkstemp(dir=self.folder, prefix="pages-", suffix=PACK)
                self.pack, self.pack_name = os.fdopen(fd, "wb"), Path(path).name
            offset = self.pack.tell()
            self.pack.write(data)
        except OSError:
            self.broken, self.index = True, {}
            return
        self.index[src_uri] = {**entry, "pack": self.pack_name, "offset": offset,
                               "size": len(data)}

    def close(self) -> dict[str, dict[str, Any]]:
        """The index of the pages written so far, in a pack now complete (the pages a copy
        of the build rendered, for `take`)."""
        if self.pack is not None and not self.broken:
            try:
                self.pack.close()
            except OSError:
                self.index = {}
        return self.index

    def save(self) -> None:
        """Write the index of this build; drop the packs it no longer points at."""
        for reading in self.reading.values():
            reading.close()
        self.reading = {}
        pack, self.pack = self.pack, None
        if pack is None or self.broken:
            return
        try:
            pack.close()
            write_atomic(self.folder / INDEX, json.dumps(self.index, sort_keys=True).encode())
            wanted = {self.pack_name, INDEX}
            for path in self.folder.iterdir():
                if path.name not in wanted:
                    path.unlink(missing_ok=True)
        except OSError:
            return  # the next build renders what it cannot find


def site_key(state: SiteState, config: Mapping[str, Any], options: Mapping[str, Any],
             navigation: Iterable[tuple[str, str]]) -> str:
    """Everything every kept page depends on, as one digest: the SiteState (which holds
    sets, so it goes through page_reuse.signature), the versions of MkDocs and the theme,
    StoryHub's code and templates (build_cache.digest_of), its `options`, the loaded config
    values that reach the theme's templates (the config file's text alone misses `!ENV`
    values) and the (path, title) of the generated pages in the navigation, which every
    page shows."""
    theme = config["theme"]
    values = {name: config[name] for name in CONFIG_KEYS if name in config}
    values["storyhub"] = dict(options)
    values["navigation"] = list(navigation)
    values["extra_javascript"] = [dict(item) if isinstance(item, Mapping) else str(item)
                                  for item in config["extra_javascript"]]
    values["theme"] = (theme.name, theme.dirs, sorted(theme.static_templates),
                       [(name, theme[name]) for name in theme])
    return build_cache.digest_of(pages.TEMPLATES, [signature(state, {}), VERSIONS, values])
