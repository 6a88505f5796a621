"""Preview rebuilds: generated pages whose inputs did not change keep their last output.

`mkdocs serve` rebuilds the whole site after every saved file, and the theme alone costs a few
milliseconds per page, so at thousands of stories a rebuild takes many seconds although one
story changed. Between two rebuilds of one `mkdocs serve`, this module decides which
generated pages would come out exactly as last time, and those are served from a copy of
their last output (a static file at the page's place) instead of being rendered again.

A page is reused only when all of these are unchanged:

- everything every page depends on (`SiteState`): the config file, the files in docs/, the
  templates and assets of StoryHub, the registries, the problems shown in the banner, the
  images, and the *structure* of the catalog: every field of every story that decides where
  it is listed, in which order and with what counts (all fields but the ones it only
  displays, `DISPLAY_FIELDS`), and which stories are scheduled;
- the page itself: path, title, template, description, feed and its context. Most pages are
  simply equal to last time's (`==`, a few milliseconds for thousands of pages); the
  others are compared by `signature`, value by value with a story counting as its slug
  (its structure is compared above). A function or an object without value equality
  matches only itself under `==`, and nothing by signature. (`==` takes 1 and 1.0 as equal
  and ignores the order of a dict; contexts are made by StoryHub from the catalog, whose
  order depends on structure fields only, so this cannot hide a change. The signature of
  every page took 0.4 s of every rebuild at 2,000 stories.)
- every story whose displayed data the page read last time, compared field by field with
  its rendered HTML. `TrackingEnvironment` notes them while the page's template renders:
  any attribute of a story but its structure fields (so `story.title`, `story.url`,
  `story.result_for(...)`), and any `site.rendered[slug]`.

Pages that appear in the navigation (section pages such as `teams/`) are always rendered,
because MkDocs builds the navigation from the pages it renders. The cost of the preview: its
sitemap.xml only lists the pages rendered by the latest rebuild. `mkdocs build` never reuses
anything.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import itertools
import os
import secrets
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping, Set
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import jinja2

from .atomic import write_atomic
from .catalog import Catalog
from .model import Story
from .render import Rendered

# Story fields that change what a story's own page and its cards show, but never where it is
# listed, in which order or how often. Every other field (and any field added later) is
# structure: changing it renders every page again.
DISPLAY_FIELDS = frozenset({"title", "body", "summary", "results", "cover_alt", "body_line"})
_STRUCTURE_FIELDS = tuple(f.name for f in dataclasses.fields(Story) if f.name not in DISPLAY_FIELDS)
_STRUCTURE = frozenset(_STRUCTURE_FIELDS)
# A page that read the rendered stories in a way that does not name one (`.items()`, ...).
EVERY_STORY = "*"


class _Never:
    """A value equal to nothing, for context values that cannot be compared (functions)."""

    _made = itertools.count()
    # Digests are kept from one build to the next (page_cache.py): a number alone would
    # come out the same in the next process.
    _process = secrets.token_hex(8)

    def __init__(self) -> None:
        self.number = next(self._made)

    def __eq__(self, other: object) -> bool:
        return False

    def __repr__(self) -> str:
        # Unique, so a digest of it matches nothing either, in this process or another.
        return f"<never {self._process} {self.number}>"

    __hash__ = None  # type: ignore[assignment]


def structure(catalog: Catalog, now: datetime) -> tuple[Any, ...]:
    """What decides the place of every story on every page (see DISPLAY_FIELDS)."""
    return (tuple((s.slug, *(getattr(s, name) for name in _STRUCTURE_FIELDS))
                  for s in catalog.stories),
            frozenset(s.slug for s in catalog.stories if s.date > now))


def same_objects(stories: list[Story], last: Mapping[str, Story]) -> list[Story]:
    """`stories`, each unchanged one replaced by the equal object of the last rebuild (by path).

    Validation makes new objects on every rebuild, so comparing a page with its last version
    (PageReuse) compared every field of every story the page lists: 0.1-0.2 s a rebuild at
    2,000 stories. With the same objects, the comparison stops at their identity.
    """
    return [old if (old := last.get(story.path)) == story else story for story in stories]


def page_key(spec: Any) -> tuple[Any, ...]:
    """What a generated page (a pages.PageSpec) is made from: its path, title, template,
    feed, description and context."""
    return (spec.path, spec.title, spec.template, spec.feed, spec.description, spec.context)


def signature(value: Any, memo: dict[int, tuple[Any, Any]]) -> Any:
    """A comparable summary of a page (spec and context): values, with stories as their slugs.

    Lists, mappings and objects become a digest of their parts, computed once per object in
    `memo` (many pages share big context objects, e.g. the KPI connection matrix).
    """
    if isinstance(value, Story):
        return ("story", value.slug)
    if isinstance(value, str | bytes | int | float | bool | date | type(None)):
        return value
    known = memo.get(id(value))
    if known is not None:
        return known[1]
    parts: Any
    if isinstance(value, list | tuple):
        # Stories inline: the lists of feeds and newsletter issues hold ~10,000 of them.
        parts = tuple(("story", item.slug) if type(item) is Story else signature(item, memo)
                      for item in value)
    elif isinstance(value, Mapping):
        parts = tuple((signature(k, memo), signature(v, memo)) for k, v in value.items())
    elif isinstance(value, set | frozenset):
        parts = sorted(repr(signature(item, memo)) for item in value)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        parts = (type(value).__qualname__,
                 tuple(signature(getattr(value, f.name), memo) for f in dataclasses.fields(value)))
    else:
        parts = _Never()  # functions and other objects: the page is always rendered
    result = ("#", type(value).__name__,
              hashlib.blake2b(repr(parts).encode("utf-8", "surrogatepass"), digest_size=16).digest())
    memo[id(value)] = (value, result)  # holding the value keeps its id from being reused
    return result


class TrackingEnvironment(jinja2.Environment):
    """Jinja environment that notes the stories whose displayed data a template reads."""

    touched: set[str] | None = None  # set while a page renders
    rendered: Mapping[str, Rendered] | None = None  # the build's rendered stories

    def getattr(self, obj: Any, attribute: str) -> Any:
        # Called for every `a.b` of every template: Jinja's lookup (Environment.getattr) is
        # written out here rather than called, a third of the time (0.4 s of a 1,000-story
        # build went to this method).
        touched = self.touched
        if touched is not None:
            if isinstance(obj, Story):
                if attribute not in _STRUCTURE:
                    touched.add(obj.slug)
            elif obj is self.rendered:
                touched.add(EVERY_STORY)
        try:
            return getattr(obj, attribute)
        except AttributeError:
            pass
        try:
            return obj[attribute]
        except (TypeError, LookupError, AttributeError):
            return self.undefined(obj=obj, name=attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        value = super().getitem(obj, argument)
        if self.touched is not None:
            if isinstance(obj, Story) and argument not in _STRUCTURE:
                self.touched.add(obj.slug)
            elif isinstance(value, Rendered):
                self.touched.add(argument if isinstance(argument, str) else EVERY_STORY)
        return value


def tracked(env: jinja2.Environment, touched: set[str], make: Callable[[], str]) -> str:
    """`make()`, with `env` (if a TrackingEnvironment) adding the stories it reads to `touched`
    (and not to the set of an enclosing `tracked`, which is in force again afterwards)."""
    if not isinstance(env, TrackingEnvironment):
        return make()
    outer, env.touched = env.touched, touched
    try:
        return make()
    finally:
        env.touched = outer


def folder_state(folder: Path) -> tuple[tuple[str, int, int], ...]:
    """Names, sizes and modification times of every file under `folder` (not its contents)."""
    found = []
    for base, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(base, name)
            stat = os.stat(path)
            found.append((os.path.relpath(path, folder), stat.st_size, stat.st_mtime_ns))
    return tuple(sorted(found))


@dataclass
class SiteState:
    """Everything all generated pages depend on; compared whole between two rebuilds."""

    config_file: str  # a string, so that page_cache.py can take a signature of the whole state
    config_text: bytes
    folders: tuple[Any, ...]  # folder_state of docs/, templates and assets
    registry: Any
    problems: tuple[Any, ...]
    images: dict[str, str]  # content key of every image by project path
    structure: tuple[Any, ...]


def site_state(config_file: Path, folders: Iterable[Path], catalog: Catalog, now: datetime,
               problems: Iterable[Any], images: Mapping[str, str]) -> SiteState:
    """The SiteState of this build."""
    return SiteState(str(config_file), config_file.read_bytes(), tuple(folder_state(f) for f in folders),
                     catalog.registry, tuple(problems), dict(images), structure(catalog, now))


def dest_uri(src_uri: str) -> str:
    """Where a generated page ('teams/hr/index.md') is written: 'teams/hr/index.html'."""
    return src_uri[: -len(".md")] + ".html"


# The last preview's output, moved aside before MkDocs empties the site folder.
KEPT = ".storyhub-last"


def set_aside(site_dir: Path) -> None:
    """Before a preview rebuild: move the last output into a hidden folder of the site.

    MkDocs empties the site folder at the start of every build but leaves hidden entries
    alone. `merge_kept` then moves what this build writes into the old folders, instead of
    making thousands of folders again for the pages and cards it reuses (at 2,000 stories,
    emptying the folder and linking everything back took 0.9 s of every rebuild).
    """
    kept = site_dir / KEPT
    shutil.rmtree(kept, ignore_errors=True)  # left by a build that failed
    entries = [name for name in os.listdir(site_dir) if not name.startswith(".")] \
        if site_dir.is_dir() else []
    if entries:
        kept.mkdir()
        for name in entries:
            os.rename(site_dir / name, kept / name)


def _scan(folder: Path, skip: str = "") -> tuple[dict[str, int], set[str]]:
    """Files under `folder` (relative POSIX path -> inode, which the directory listing
    gives for free) and its folders ('' for `folder` itself), not below the entry `skip`."""
    files: dict[str, int] = {}
    folders = {""}
    pending = [""]
    while pending:
        base = pending.pop()
        with os.scandir(os.path.join(folder, base)) as entries:
            for entry in entries:
                name = f"{base}/{entry.name}" if base else entry.name
                if entry.is_dir(follow_symlinks=False):
                    if name != skip:
                        folders.add(name)
                        pending.append(name)
                else:
                    files[name] = entry.inode()
    return files, folders


def merge_kept(site_dir: Path, files: Mapping[str, Path], keep: Set[str] = frozenset()) -> None:
    """After a preview build: the site as a fresh build would leave it, made from the last
    output set aside by `set_aside`, what MkDocs wrote now, and our `files` (site path ->
    cached file, hard-linked; a link already in place is kept). The files named in `keep`
    stay as they are (feeds and digests, which DeferredFiles replaces a little later).

    Files are only ever replaced (os.replace), never written into, so no cached file changes
    through a link. Anything of the last output that this build did not write goes. The
    kept folder is listed once (file, folder, inode) instead of asking about each of the
    ~5,000 files of a 2,000-story site (0.2 s of every rebuild).
    """
    kept = site_dir / KEPT
    if not kept.is_dir():
        publish_files(site_dir, files, link=True)
        return
    written = list(_scan(site_dir, skip=KEPT)[0])
    old, folders = _scan(kept)
    wanted = {*written, *files}
    parents = {os.path.dirname(name) for name in wanted}
    for parent in list(parents):
        while parent:
            parent = os.path.dirname(parent)
            parents.add(parent)
    if wanted & folders or parents & old.keys():  # a file became a folder, or the reverse
        shutil.rmtree(kept, ignore_errors=True)
        publish_files(site_dir, files, link=True)
        return
    place = _placer(kept, folders)
    for name in written:
        os.replace(site_dir / name, place(name))
    device = os.stat(kept).st_dev
    for name, source in files.items():
        if name in old and name not in written:
            info = os.stat(source)
            if (info.st_dev, info.st_ino) == (device, old[name]):
                continue  # the same file, linked by the last build
        target = place(name)
        _link(source, target + ".new")
        os.replace(target + ".new", target)
    for name in old.keys() - wanted - keep:
        _remove(kept / name)
    for name in os.listdir(site_dir):
        if not name.startswith("."):
            shutil.rmtree(site_dir / name)  # MkDocs' folders, emptied above
    for name in os.listdir(kept):
        os.rename(kept / name, site_dir / name)
    kept.rmdir()


def _remove(path: Path) -> None:
    """Delete a file (if still there) and the folders it leaves empty."""
    path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        os.removedirs(path.parent)


def _placer(folder: Path, existing: Iterable[str] = ()) -> Callable[[str], str]:
    """A function giving the path of a site path under `folder`, its folders made once
    (`existing`: folders known to be there, relative to `folder`)."""
    made = {os.path.join(folder, name) if name else str(folder) for name in existing}

    def place(name: str) -> str:
        target = os.path.join(folder, name)
        parent = os.path.dirname(target)
        if parent not in made:
            os.makedirs(parent, exist_ok=True)
            made.add(parent)
        return target

    return place


def _link(source: Path, target: str) -> None:
    """Hard-link `source` at `target` (a copy across file systems). A file already there is
    replaced, never written into: it may itself be a link to a cached file."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(target)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def publish_files(site_dir: Path, files: Mapping[str, Path], link: bool) -> None:
    """Put each file at its site path: a copy, or with `link` a hard link (a copy across
    file systems), which costs a tenth of a copy.

    Links are only for previews: the site folder is MkDocs' temporary one, whose files are
    replaced, never edited in place, so the cached files cannot change through it.
    """
    place = _placer(site_dir)
    for site_path, source in files.items():
        # A file of docs/ at the same place is replaced: ours wins, as in a build.
        (_link if link else shutil.copyfile)(source, place(site_path))


class DeferredFiles:
    """Preview only: generated files that nobody waits for, written after the build.

    Feeds and newsletter digests take about a second at thousands of stories, while the
    page being edited is ready without them; they are written by a background thread (each
    file atomically) once no newer rebuild came for `delay` seconds, and a newer rebuild
    stops a run that has not finished. (Written right away, they held the interpreter while
    the writer's next save was being noticed and rebuilt: 0.6 s more per edit.)
    """

    def __init__(self, on_error: Callable[[Exception], None]):
        self.on_error = on_error
        self.thread: threading.Thread | None = None
        self.stop = threading.Event()
        self.hurry = threading.Event()
        # Site paths written by earlier runs: they stay in place (a little stale) until the
        # next run replaces them, rather than being missing for its delay.
        self.written: set[str] = set()

    def start(self, site_dir: Path, produce: Callable[[], Iterable[tuple[str, str | bytes]]],
              delay: float = 0.0) -> None:
        self.cancel()
        stop, hurry = self.stop, self.hurry = threading.Event(), threading.Event()

        def run() -> None:
            hurry.wait(delay)
            if stop.is_set():
                return
            produced: set[str] = set()
            try:
                for site_path, content in produce():
                    if stop.is_set():
                        self.written |= produced
                        return
                    write_atomic(site_dir / site_path, content.encode("utf-8")
                                 if isinstance(content, str) else content)
                    produced.add(site_path)
                for gone in self.written - produced:  # e.g. the feed of a deleted campaign
                    _remove(site_dir / gone)
                self.written = produced
            except Exception as error:  # noqa: BLE001 - reported, the preview keeps serving
                self.written |= produced
                self.on_error(error)

        self.thread = threading.Thread(target=run, name="storyhub-deferred-files", daemon=True)
        self.thread.start()

    def wait(self) -> None:
        """Let a run finish, without its delay."""
        self.hurry.set()
        if self.thread is not None:
            self.thread.join()
            self.thread = None

    def cancel(self) -> None:
        """Stop a run that is still going (before MkDocs cleans the site folder)."""
        self.stop.set()
        self.hurry.set()
        if self.thread is not None:
            self.thread.join()
            self.thread = None


@dataclass
class _Entry:
    page: tuple[Any, ...]  # page_key of the PageSpec
    stories: frozenset[str]  # whose displayed data the page read
    stash: Path | None = None  # a copy of the whole page, for pages outside the navigation
    content: str | None = None  # the template's HTML, for pages in the navigation


@dataclass
class _Rendering:
    page: tuple[Any, ...]
    stories: set[str] = field(default_factory=set)
    content: str | None = None


@dataclass
class _Section:
    parts: tuple[Any, ...]  # what it was made from, compared by identity
    stories: frozenset[str]  # whose displayed data it read
    html: str


@dataclass
class PageReuse:
    """Remembers the pages of the last preview build and which of them can be reused.

    Pages outside the navigation are reused whole (a stashed copy of the written file); pages
    in it stay MkDocs pages, because the navigation is built from pages, and reuse only the
    HTML of StoryHub's template, the costly part of those listings.
    """

    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="storyhub-pages-")))
    state: SiteState | None = None
    stories: dict[str, tuple[Story, Rendered]] = field(default_factory=dict)
    entries: dict[str, _Entry] = field(default_factory=dict)
    rendered: dict[str, _Rendering] = field(default_factory=dict)  # by this build
    memo: dict[int, tuple[Any, Any]] = field(default_factory=dict)  # signature() of this build
    reused: int = 0
    # Sections of the pages this build renders, by (page, name); see `section`.
    sections: dict[tuple[str, Any], _Section] = field(default_factory=dict)
    page: tuple[str, TrackingEnvironment] | None = None  # the page rendering now

    def start(self, state: SiteState, stories: Iterable[Story],
              rendered: Mapping[str, Rendered]) -> None:
        """Begin a rebuild: forget everything if the site state changed."""
        current = {s.slug: (s, rendered[s.slug]) for s in stories}
        if state != self.state:
            self.entries.clear()
            self.sections.clear()
        else:
            changed = {slug for slug, pair in current.items() if self.stories.get(slug) != pair}
            if changed:
                changed.add(EVERY_STORY)
            self.entries = {uri: entry for uri, entry in self.entries.items()
                            if not (entry.stories & changed)}
            self.sections = {key: section for key, section in self.sections.items()
                             if not (section.stories & changed)}
        self.state = state
        self.stories = current
        self.rendered = {}
        self.memo = {}
        self.reused = 0

    def _entry(self, spec: Any) -> _Entry | None:
        entry = self.entries.get(spec.src_uri)
        if entry is None:
            return None
        page = page_key(spec)
        if entry.page == page or signature(entry.page, self.memo) == signature(page, self.memo):
            return entry
        return None

    def reusable(self, spec: Any) -> Path | None:
        """The stashed output of a page (a pages.PageSpec) if it would come out the same."""
        entry = self._entry(spec)
        if entry is None or entry.stash is None or not entry.stash.is_file():
            return None
        self.reused += 1
        return entry.stash

    def will_render(self, spec: Any) -> None:
        """Note a page (a pages.PageSpec) that this build renders."""
        self.rendered[spec.src_uri] = _Rendering(page_key(spec))

    def render(self, spec: Any, env: jinja2.Environment, make: Callable[[], str],
               in_nav: bool) -> str:
        """The HTML of a page's template: `make()`, noting the stories it reads, or (for a
        page in the navigation) the HTML of the last build when it would come out the same."""
        if in_nav:
            entry = self._entry(spec)
            if entry is not None and entry.content is not None:
                self.reused += 1
                return entry.content
            self.will_render(spec)
        rendering = self.rendered.get(spec.src_uri)
        if rendering is None:
            return make()
        self.page = (spec.src_uri, env) if isinstance(env, TrackingEnvironment) else None
        try:
            html = tracked(env, rendering.stories, make)
        finally:
            self.page = None
        if in_nav:
            rendering.content = html
        return html

    def section(self, name: Any, parts: Iterable[Any], caller: Callable[[], str]) -> str:
        """A part of the page rendering now (`caller()`, a template's `{% call %}` block):
        its HTML from the last rebuild if it was made from the very same objects (`parts`,
        in order) and no story it read has changed since.

        The archive page lists every story, so a page that must be rendered again for one
        edited story need not render every month again (70-140 ms at 2,000 stories).
        Everything all pages depend on is in the SiteState: when it changes, `start`
        forgets every section, as it forgets every page.
        """
        if self.page is None:
            return caller()
        page, env = self.page
        parts = tuple(parts)
        key = (page, name)
        known = self.sections.get(key)
        assert env.touched is not None  # the page's own set, from `render`
        if known is None or len(known.parts) != len(parts) \
                or any(a is not b for a, b in zip(known.parts, parts, strict=True)):
            read: set[str] = set()
            html = tracked(env, read, caller)
            known = self.sections[key] = _Section(parts, frozenset(read), html)
        env.touched |= known.stories  # in place: it is the page's own set
        return known.html

    def stash(self, site_dir: Path) -> None:
        """After a build: keep what it rendered for the next rebuild."""
        for src_uri, rendering in self.rendered.items():
            shown = frozenset(rendering.stories)
            if rendering.content is not None:
                self.entries[src_uri] = _Entry(rendering.page, shown, content=rendering.content)
                continue
            written = site_dir / dest_uri(src_uri)
            if not written.is_file():
                self.entries.pop(src_uri, None)
                continue
            target = self.folder / dest_uri(src_uri)
            target.parent.mkdir(parents=True, exist_ok=True)
            _link(written, str(target))  # the next build replaces, never edits, the file
            self.entries[src_uri] = _Entry(rendering.page, shown, stash=target)
        self.memo = {}

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
