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
build. Each kept file is named by a digest of its inputs, so a build that fails halfway
leaves no file that an index entry would wrongly point at.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from . import build_cache, pages
from .build_cache import write_atomic
from .model import Story
from .page_reuse import EVERY_STORY, SiteState, signature
from .render import Rendered

# The template of a kept page: nothing, as its bytes come from the cache in on_post_page.
REUSED_TEMPLATE = "storyhub-kept-page.html"
INDEX = "index.json"
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

    def kept(self, spec: Any) -> Path | None:
        """The kept file of a page (a pages.PageSpec) if it would come out the same."""
        entry = self.entries.get(spec.src_uri)
        if not isinstance(entry, dict) or entry.get("page") != self._key(spec):
            return None
        stories = entry.get("stories")
        if not isinstance(stories, dict) or any(self.stories.get(slug) != value
                                                for slug, value in stories.items()):
            return None
        path = self.folder / f"{entry.get('file')}.html"
        if not path.is_file():
            return None
        self.index[spec.src_uri] = entry
        return path

    def store(self, spec: Any, touched: Iterable[str], output: str) -> None:
        """Keep the output of a page rendered by this build, and the stories it read.

        Best effort, like the compiled templates: a cache folder that cannot be written only
        means the page is rendered again next time.
        """
        stories = {slug: self.stories.get(slug, "") for slug in sorted(touched)}
        page = self._key(spec)
        name = digest((page, stories))
        target = self.folder / f"{name}.html"
        try:
            if not target.is_file():
                # The bytes MkDocs writes for this output.
                write_atomic(target, output.encode("utf-8", errors="xmlcharrefreplace"))
        except OSError:
            return
        self.index[spec.src_uri] = {"page": page, "stories": stories, "file": name}

    def save(self) -> None:
        """Write the index of this build; drop the kept pages it no longer points at."""
        if not self.folder.is_dir():
            return
        try:
            write_atomic(self.folder / INDEX, json.dumps(self.index, sort_keys=True).encode())
            wanted = {f"{entry['file']}.html" for entry in self.index.values()} | {INDEX}
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
