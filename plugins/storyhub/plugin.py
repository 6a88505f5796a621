"""The MkDocs plugin: adapts MkDocs events to StoryHub's pure functions."""

from __future__ import annotations

import atexit
import functools
import gc
import logging
import os
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2
from jinja2.utils import LRUCache
from mkdocs.commands.build import get_context
from mkdocs.config import base
from mkdocs.config import config_options as c
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, event_priority
from mkdocs.structure.files import File, Files, InclusionLevel
from mkdocs.structure.nav import Navigation
from mkdocs.structure.pages import Page
from mkdocs.utils import get_relative_url

from . import (
    build_cache,
    cards,
    conservation,
    feeds,
    head_start,
    images,
    load,
    page_cache,
    page_reuse,
    pages,
    parallel,
    preview,
    project,
    publishing,
    render,
    report,
    reproducible,
    search,
    search_index,
    split,
    theme_frame,
    theme_html,
    theme_memo,
    validate,
)
from . import catalog as catalog_mod
from .model import Problem, Registry, Story

if TYPE_CHECKING:  # only `mkdocs serve` needs them: a build does not import watchdog (40 ms)
    from mkdocs.livereload import LiveReloadServer

log = logging.getLogger("mkdocs.plugins.storyhub")
ASSETS = Path(__file__).parent / "assets"
# Each feature keeps its own stylesheet in assets/; all of them are served under this folder.
CSS_DIR = "assets/storyhub/"
STYLESHEETS = sorted(p.name for p in ASSETS.glob("*.css"))
# Story HTML is rendered once, with URLs relative to a page at this depth (any story page;
# with use_directory_urls off it is stories/<slug>/index.html, the same folder depth).
STORY_PAGE = "stories/x/"
# Scripts are served beside the stylesheets but only the pages that need one load it.
SCRIPTS = sorted(p.name for p in ASSETS.glob("*.js"))


class StoryHubConfig(base.Config):
    enabled = c.Type(bool, default=True)
    stories_dir = c.Type(str, default="stories")
    cache_dir = c.Type(str, default=".cache/storyhub")
    timezone = c.Type(str, default="UTC")
    page_size = c.Type(int, default=20)
    feed_size = c.Type(int, default=50)
    # Feeds, the /feeds/ page and newsletter digests; they need site_url for absolute URLs.
    feeds = c.Type(bool, default=True)
    home_latest = c.Type(int, default=12)
    max_story_bytes = c.Type(int, default=1_000_000)
    search_index = c.Type(bool, default=True)  # build the Pagefind index after the site
    # Stories per search index shard: Pagefind needs ~190 KB of memory per story it indexes.
    search_shard_size = c.Type(int, default=search.SHARD_SIZE)
    # `mkdocs serve` notices saves through the system's file events instead of polling
    # (watch.py); false for folders that deliver none (some network and container mounts).
    file_events = c.Type(bool, default=True)
    # Material's page around generated pages rendered once and filled in (theme_frame.py);
    # false renders it for every page.
    theme_frames = c.Type(bool, default=True)


class StoryHubPlugin(BasePlugin[StoryHubConfig]):
    """Turns the stories folder into story, listing and taxonomy pages."""

    supports_multiple_instances = False

    def __init__(self) -> None:
        self.command = "build"
        self.frozen = False  # whether this build froze Python's heap (on_files)
        # The render cache deliberately outlives one build: `mkdocs serve` rebuilds reuse it.
        self.cache: render.RenderCache | None = None
        # Image derivatives are cached on disk by content; the store also outlives one build.
        self.image_store: images.ImageStore | None = None
        self.problems: list[Problem] = []
        # Previews index in the background; the indexer outlives one build to cancel a late run.
        self.indexer = search_index.BackgroundIndexer(_index_done)
        # Preview rebuilds serve unchanged pages from their last output (page_reuse.py) and
        # parse only the story files that changed.
        self.page_reuse: page_reuse.PageReuse | None = None
        self.parse_memo = load.ParseMemo()
        self.story_memo = validate.StoryMemo()
        self.deferred = page_reuse.DeferredFiles(
            lambda error: log.error(f"storyhub: writing feeds and digests failed: {error}"))
        self.deferred_files: build_cache.Produce | None = None
        # Feeds and digests a forked copy of the build is making: (result, producer, taken).
        self.publishing: tuple[Callable[[], list[tuple[str, str | bytes]] | None],
                               build_cache.Produce, set[str]] | None = None
        self.card_drawing: cards.CardDrawing | None = None
        # The search index being made by a forked copy of the build (on_post_page).
        self.indexing: Callable[[], search_index.IndexReport | search_index.SearchIndexError
                                | None] | None = None
        self.last_catalog: catalog_mod.Catalog | None = None  # related stories for rebuilds
        self.last_stories: dict[str, Story] = {}  # by path, as the last preview rebuild had them
        # Compiled templates (ours and the theme's): compiling them took a tenth of a
        # second per template on every build and every preview rebuild.
        self.bytecode: build_cache.TemplateCache | None = None
        self.dirty = False
        self.page_cache: page_cache.PageCache | None = None
        self.kept: set[str] = set()  # src_uri of the pages kept from the last build (page_cache.py)
        self.touched: dict[str, set[str]] = {}  # src_uri -> stories its template read
        # A clean build's forked copy that renders part of the pages (split.py): this
        # process holds `copy`, the copy holds `sender`; both know the copy's pages.
        self.copy: parallel.Copy | None = None
        self.sender: parallel.Sender | None = None
        self.copied: set[str] = set()
        self.copy_pages: dict[str, dict[str, Any]] | None = None  # the copy's page pack index
        # What rendering the copy's pages here takes, if the copy fails (_render_here).
        self.nav: Navigation | None = None
        self.theme_env: jinja2.Environment | None = None
        self.doc_files: Sequence[File] = ()
        self.frames_wanted = False  # generated pages get the theme's page from frames
        self.frames: theme_frame.ThemeFrames | None = None

    def on_startup(self, *, command: Literal["build", "gh-deploy", "serve"], dirty: bool) -> None:
        """Remember whether we preview (serve shows drafts and scheduled stories)."""
        self.command = command
        self.dirty = dirty
        _freeze_at_exit()

    def on_shutdown(self) -> None:
        """Stop a background search index run when `mkdocs serve` exits; save the render cache."""
        self.indexer.cancel()
        self.deferred.wait()
        if self.cache is not None:
            self.cache.save()
        if self.page_reuse is not None:
            self.page_reuse.close()
            self.page_reuse = None

    def on_config(self, config: MkDocsConfig) -> MkDocsConfig | None:
        """Resolve folders against mkdocs.yml and register the stylesheet."""
        if not self.config.enabled:
            return None
        self.root = Path(config.config_file_path).resolve().parent
        self.stories_dir = (self.root / self.config.stories_dir).resolve()
        try:
            self.tz = ZoneInfo(self.config.timezone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise PluginError(
                f"storyhub: unknown timezone {self.config.timezone!r} in mkdocs.yml "
                "(use an IANA name such as 'Europe/Berlin' or 'UTC')"
            ) from error
        if self.config.page_size < 1:
            raise PluginError("storyhub: page_size must be at least 1 in mkdocs.yml")
        if self.config.search_shard_size < 1:
            raise PluginError("storyhub: search_shard_size must be at least 1 in mkdocs.yml")
        cache_path = (self.root / self.config.cache_dir / "render.json") \
            if self.config.cache_dir else None
        template_dir = self.root / self.config.cache_dir / "templates" \
            if self.config.cache_dir else None
        if template_dir is None:
            self.bytecode = None
        elif self.bytecode is None or self.bytecode.directory != str(template_dir):
            self.bytecode = build_cache.TemplateCache(str(template_dir))
        if self.cache is None or self.cache.path != cache_path:
            self.cache = render.RenderCache(cache_path)
        for name in STYLESHEETS:
            if CSS_DIR + name not in config.extra_css:
                config.extra_css.append(CSS_DIR + name)
        self.preview = self.command == "serve"
        self.frames_wanted = self.config.enabled and self.config.theme_frames \
            and config.theme.name == "material"
        self.frames = None
        self.indexer.cancel(wait=False)  # before MkDocs cleans the site folder for this build
        self.page_cache, self.kept, self.touched = None, set(), {}
        self.deferred.cancel()
        if self.card_drawing is not None:  # left over by a build that failed
            self.card_drawing.wait()
        if self.indexing is not None:  # likewise: its index is lost
            self.indexing()
        if self.copy is not None:  # likewise
            self.copy.stop()
        self.copy, self.copied, self.copy_pages = None, set(), None
        # The search index's input while MkDocs writes the pages (on_post_page).
        self.index_input: tuple[list[list[str]], dict[str, str]] | None = None
        # The shards and their input, once the first page gave the language (on_post_page).
        self.index_ready: tuple[list[list[str]], search_index.Reader] | None = None
        self.indexing = None
        if self.publishing is not None:  # likewise: wait for its child, whose work is lost
            self.publishing[0]()
            self.publishing = None
        self.searchable: list[str] = []  # hand-written pages, which the search index holds
        self.specs: dict[str, pages.PageSpec] = {}
        # Functions (spec or None, page) -> HTML tags for <head>; one per feature.
        self.head_tags: list[Callable[[pages.PageSpec | None, Page], list[str]]] = []
        image_dir = self.root / self.config.cache_dir / "images" if self.config.cache_dir else None
        if self.image_store is None or (image_dir and self.image_store.folder != image_dir):
            self.image_store = images.ImageStore(image_dir) if image_dir \
                else images.ImageStore.temporary()
        self.head_tags.append(lambda spec, page: cards.story_tags(spec, self.site, config.site_url))
        if self.config.search_index:
            self.head_tags.append(lambda spec, page: search.preload_tags(spec, page.url))
        self.feed_links: Callable[[str, str], list[str]] = lambda feed, page_url: []
        if self.config.feeds:
            if not config.site_url:
                raise PluginError(feeds.NEEDS_SITE_URL)
            if self.config.feed_size < 1:
                raise PluginError("storyhub: feed_size must be at least 1 in mkdocs.yml")
            self.head_tags.append(lambda spec, page: self.feed_links(spec.feed, page.url)
                                  if spec and spec.feed else [])
        return config

    def on_env(self, env: jinja2.Environment, /, *, config: MkDocsConfig,
               files: Files) -> jinja2.Environment | None:
        """Let the theme's templates use the compiled-template cache too; add the feeds and
        digests a forked copy of the build made meanwhile (MkDocs copies files right after)."""
        if self.config.enabled and self.publishing is not None:
            child, produce, taken = self.publishing
            self.publishing = None
            made = child()  # None if the child failed: then made here, with its error if any
            self._add_generated(files, config, taken, made if made is not None else produce())
        if self.config.enabled and self.bytecode is not None:
            env.bytecode_cache = self.bytecode
        if self.config.enabled and self.config.search_index and not self.preview \
                and not self.dirty and list(config.plugins) == ["storyhub"]:
            self.index_input = self._index_input(files)
        if self.copied:  # to render the copy's pages there, or here if the copy fails
            self.theme_env = env
            self.doc_files = files.documentation_pages(inclusion=InclusionLevel.is_included)
        if self.config.enabled and (self.kept or self.copied):
            # Pages kept from the last build render nothing; on_post_page gives their bytes.
            assert env.loader is not None
            env.loader = jinja2.ChoiceLoader([
                jinja2.DictLoader({page_cache.REUSED_TEMPLATE: ""}), env.loader])
        if self.frames_wanted:
            self.frames = theme_frame.ThemeFrames(env)
            self.frames.install()
        if self.config.enabled and isinstance(env.cache, LRUCache):
            # As our own templates (pages.make_environment): a dict, a third of the lookup time.
            env.cache = dict(env.cache.items())
        if self.config.enabled and config.theme.name == "material":
            # After the loader is final: Jinja keeps templates by loader.
            theme_memo.remember(env, config.theme.dirs, config.theme.custom_dir)
        return env

    def on_pre_build(self, *, config: MkDocsConfig) -> None:
        """A preview rebuild keeps the last output aside for the pages it reuses (page_reuse)."""
        if self.config.enabled and self.preview and self.page_reuse is not None and not self.dirty:
            page_reuse.set_aside(Path(config.site_dir))

    def on_serve(self, server: LiveReloadServer, /, *, config: MkDocsConfig, builder: Any) -> None:
        """Rebuild when a story or registry changes, as soon as it is saved."""
        if self.config.enabled:
            server.watch(str(self.stories_dir))
        if self.config.enabled and self.config.file_events:
            from . import watch

            watch.use_file_events(server, [
                config.docs_dir, config.config_file_path, *config.theme.dirs,
                str(self.stories_dir)])

    # Run after other plugins have added their files, so our pages cannot be shadowed silently.
    @event_priority(-50)
    def on_files(self, files: Files, /, *, config: MkDocsConfig) -> Files | None:
        """Load and validate every story, then add the generated pages and media."""
        if not self.config.enabled:
            return None
        # Site paths of the files already there (docs/, other plugins): ours must not shadow
        # them. One set instead of asking `files` for each of thousands of pages.
        taken = {file.src_uri for file in files}
        assert self.cache is not None
        renderer = render.Renderer(
            config.markdown_extensions, config.mdx_configs,
            images.inline_url(self.root, self.config.stories_dir, STORY_PAGE)
        )
        # Converting stories starts on the other core while this process loads them.
        early = head_start.start(renderer, self.cache, self.stories_dir, self.root,
                                 self.config.max_story_bytes)
        try:
            added = self._added_files(files, config, taken, renderer, early)
        finally:
            if early is not None:
                early.stop()  # a build that failed before it converted the stories
        if not self.preview and gc.get_freeze_count() == 0:
            # The stories, their HTML and the pages made of them live until the build ends:
            # Python's collections need not go through them again (0.1 of 0.3 s at 1,000
            # stories). Unfrozen when the build ends (_unfreeze); never in `mkdocs serve`.
            gc.freeze()
            self.frozen = True
        return added

    def _unfreeze(self) -> None:
        """A program that runs many builds (the tests) must be able to collect each one."""
        if self.frozen:
            gc.unfreeze()
            self.frozen = False

    def _added_files(self, files: Files, config: MkDocsConfig, taken: set[str],
                     renderer: render.Renderer, early: head_start.HeadStart | None) -> Files:
        registry, stories, processed = self._checked_stories()
        assert self.image_store is not None
        now = datetime.now(UTC)
        cat = catalog_mod.build_catalog(registry, stories, now, self.preview,
                                        self.last_catalog if self.preview else None)
        self.last_catalog = cat
        # Drafts and scheduled stories: the conservation check makes sure they appear nowhere.
        self.hidden = [s for s in stories if s.slug not in cat.by_slug]
        self.after_build: dict[str, Path] = {}  # site path -> file, put in place after the build
        self._start_cards(taken, config, cat, processed)
        rendered, image_set = self._rendered_stories(cat, processed, renderer, early)
        self.image_set = image_set
        self.site = pages.Site(
            catalog=cat, rendered=rendered, site_name=config.site_name,
            directory_urls=config.use_directory_urls, now=now, preview=self.preview,
            media_url=image_set.feed_path, image_html=image_set.image_html,
            page_size=self.config.page_size,
            extra={"home_latest": self.config.home_latest, "images": image_set,
                   "search_shard_size": self.config.search_shard_size},
        )
        # Previews and builds that keep their pages note which stories each page reads:
        # a page is reused while those stories stay the same (page_reuse.py, page_cache.py).
        keeps_pages = self._keeps_pages(config)
        self.env = pages.make_environment(
            page_reuse.TrackingEnvironment if self.preview or keeps_pages else jinja2.Environment,
            self.bytecode)
        publications = None
        if self.config.feeds:
            # A preview makes them anew: they are written once the writer pauses anyway.
            cache = self.root / self.config.cache_dir / "publications" \
                if self.config.cache_dir and not self.preview else None
            publications = publishing.publications(
                self.site, image_set, self.env, self.tz, config.site_url or "",
                config.theme.get("language"), self.config.feed_size, self.config, cache)
            self.feed_links = publications.link_tags
        specs = pages.all_pages(self.site, publications.builders if publications else ())
        reuse = self._page_reuse(config, image_set)
        self.page_cache = self._page_cache(config, image_set, specs) if keeps_pages else None
        self._add_pages(files, config, specs, taken, reuse)
        # Only derivatives are published: originals may carry EXIF, GPS and other metadata.
        media = {s.cover for s in cat.stories if s.cover} | {i for r in rendered.values()
                                                             for i in r.images}
        for site_path, cached in image_set.files(media):
            self._add_file(files, config, site_path, cached)
        images.prune(self.image_store.folder, {p.key for p in image_set.processed.values()})
        for name in (*STYLESHEETS, *SCRIPTS):
            files.append(File.generated(config, CSS_DIR + name, abs_src_path=str(ASSETS / name)))
        self.deferred_files = self.publishing = None
        if publications:
            self._add_publications(files, config, taken, publications.produce, len(cat.stories))
        if self.page_cache is not None:  # a copy of the build renders these (on_post_page)
            self.copied = set(split.copy_pages([spec for spec in self.specs.values()
                                                if spec.src_uri not in self.kept]))
        return files

    def _start_copy(self) -> None:
        """Have a forked copy of the build render the pages of `copied` (split.py), once
        MkDocs has written the first page: the theme's templates are compiled then, and the
        other files written. The copy goes on with MkDocs' build from there, as this process
        does; if it cannot start, this process renders the pages itself (_render_here)."""
        forked = parallel.fork_copy()
        if isinstance(forked, parallel.Copy):
            self.copy = forked
        elif isinstance(forked, parallel.Sender):
            # The copy: the build waits for the cards and starts the search index, not it.
            self.sender, self.copy_pages = forked, {}
            self.card_drawing = self.index_input = None
            for file in self.doc_files:
                if file.page is None:
                    continue
                if file.src_uri in self.copied:
                    del file.page.meta["template"]  # the theme's, as for any page
                    self._frame_page(file.page)
                else:  # written by the build: the copy goes through it without rendering it
                    file.page.meta["template"] = page_cache.REUSED_TEMPLATE
        else:
            self.copy_pages = {}

    def on_page_context(self, context: Any, /, *, page: Page, config: MkDocsConfig,
                        nav: Navigation) -> Any:
        """The copy of a build renders the content of its pages right before their template."""
        if self.sender is not None and page.file.src_uri in self.copied:
            page.content = self._content("", page)
        return context

    def _rendered_stories(self, cat: catalog_mod.Catalog, processed: dict[str, images.Processed],
                          renderer: render.Renderer, early: head_start.HeadStart | None
                          ) -> tuple[dict[str, render.Rendered], images.ImageSet]:
        """Every story's HTML (render cache), with the images its body shows checked and
        served as derivatives."""
        assert self.cache is not None and self.image_store is not None
        rendered = self.cache.get_all(renderer, cat.stories, early)
        self.cache.prune()
        late_problems, late = images.check(images.late_refs(cat.stories, rendered, processed),
                                           self.root, self.image_store)
        if late_problems and not self.preview:
            raise PluginError(report.build_failure(late_problems))
        image_set = images.ImageSet({**processed, **late}, self.image_store, images.media_path)
        return images.responsive_stories(rendered, image_set, STORY_PAGE), image_set

    def _add_publications(self, files: Files, config: MkDocsConfig, taken: set[str],
                          produce: build_cache.Produce, stories: int) -> None:
        """Feeds and digests are generated files rather than writes in on_post_build, so that
        `mkdocs serve` serves them too and a docs/ file at the same path is caught.

        A preview makes them once the writer pauses: the page being previewed need not wait
        (page_reuse.DeferredFiles). At a thousand stories they take a second or more, so a
        build of many stories has a forked copy of itself make them while MkDocs converts
        the pages, and on_env adds them (parallel.py).
        """
        if self.preview and self.page_reuse is not None:
            self.deferred_files = produce
            return
        child = parallel.in_child(lambda: list(produce())) \
            if not self.preview and stories >= render.PARALLEL_MIN else None
        if child is not None:
            self.publishing = (child, produce, taken)
        else:
            self._add_generated(files, config, taken, produce())

    def _add_generated(self, files: Files, config: MkDocsConfig, taken: set[str],
                       made: Iterable[tuple[str, str | bytes]]) -> None:
        """Add the feeds and digests as files MkDocs writes, where no docs/ file is."""
        for path, content in made:
            if path in taken:
                raise PluginError(f"storyhub: docs/{path} conflicts with the generated /{path}; "
                                  "rename or remove the hand-written file")
            files.append(File.generated(config, path, content=content,
                                        inclusion=InclusionLevel.INCLUDED))

    def _checked_stories(self) -> tuple[Registry, list[Story], dict[str, images.Processed]]:
        """Load and validate every registry, story and image. A build fails with the list of
        every problem; a preview logs them and leaves the broken parts out."""
        loaded = load.load_all(self.stories_dir, self.root, self.config.max_story_bytes,
                               self.parse_memo if self.preview else None)
        checked = validate.validate(loaded, self.stories_dir, self.root, self.tz,
                                    self.story_memo if self.preview else None)
        assert self.image_store is not None
        # Decoding images is part of validation: a bad image fails the build with the rest.
        image_problems, processed = images.check(checked.images, self.root, self.image_store)
        checked.problems.extend(image_problems)
        for warning in checked.warnings:
            log.warning(str(warning))
        if checked.errors and not self.preview:
            raise PluginError(report.build_failure(checked.problems))
        if checked.errors:
            # The preview keeps serving: the problems go on every page and the broken parts
            # are left out, so fixing a file brings its story back on the next rebuild.
            log.error(preview.log_text(checked.errors))
        self.problems = checked.problems if self.preview else []
        registry, stories = preview.usable(checked, project.registry_files(self.stories_dir, self.root))
        if self.preview:
            stories = page_reuse.same_objects(stories, self.last_stories)
            self.last_stories = {story.path: story for story in stories}
        return registry, stories, processed

    def _add_pages(self, files: Files, config: MkDocsConfig, specs: list[pages.PageSpec],
                   taken: set[str], reuse: page_reuse.PageReuse | None) -> None:
        """Add the generated pages as MkDocs files; a preview links the pages it can reuse
        after the build instead, and a build notes those it takes from the page cache."""
        self.specs = {}
        for spec in specs:
            if spec.src_uri in taken:
                raise PluginError(
                    f"storyhub: docs/{spec.src_uri} conflicts with the generated page "
                    f"/{spec.path}; rename or remove the hand-written file"
                )
            in_nav = spec.in_nav
            stashed = reuse.reusable(spec) if reuse and not in_nav else None
            if reuse and stashed:
                self._add_file(files, config, page_reuse.dest_uri(spec.src_uri), stashed)
                continue
            if reuse and not in_nav:
                reuse.will_render(spec)
            if self.page_cache and self.page_cache.kept(spec):
                self.kept.add(spec.src_uri)
            self.specs[spec.src_uri] = spec
            title = spec.title.replace("\n", " ")
            file = File.generated(
                config, spec.src_uri, content=pages.front_matter(title),
                inclusion=InclusionLevel.UNDEFINED if in_nav else InclusionLevel.NOT_IN_NAV,
            )
            if not in_nav:  # a page in `nav` takes its title from there, so MkDocs makes it
                pages.GeneratedPage(file, config, title)  # sets file.page
            files.append(file)

    def _start_cards(self, taken: set[str], config: MkDocsConfig, cat: catalog_mod.Catalog,
                     covers: dict[str, images.Processed]) -> None:
        """Start drawing the social cards, which go on while the Markdown and the pages are
        rendered (cards.CardDrawing). A worker process writes the cards it draws into the
        site; the others are put there after the build."""
        assert self.image_store is not None
        card_dir = self.image_store.folder.parent / "cards"
        jobs = cards.plan_cards(cat.stories, cat.registry.teams, config.site_name,
                                images.ImageSet(dict(covers), self.image_store, images.media_path),
                                card_dir)
        site_files: dict[Path, list[Path]] = {}  # a build's worker writes them (not a preview's)
        for story in cat.stories:
            if cards.card_path(story) in taken:
                raise PluginError(f"storyhub: docs/{cards.card_path(story)} conflicts with the "
                                  "generated social card; rename or remove the hand-written file")
            self.after_build[cards.card_path(story)] = jobs[story.slug][0]
            site_files.setdefault(jobs[story.slug][0], []).append(
                Path(config.site_dir) / cards.card_path(story))
        images.prune(card_dir, {job[0].stem for job in jobs.values()})
        self.card_drawing = cards.CardDrawing(jobs.values(),
                                              site_files=None if self.preview else site_files)

    def _add_file(self, files: Files, config: MkDocsConfig, site_path: str, source: Path) -> None:
        """A file published as it is: copied by MkDocs, or hard-linked after a preview build.

        A preview rebuild at thousands of stories would otherwise spend a second copying
        cards and reused pages (os.link costs a tenth of a copy).
        """
        if self.preview and self.page_reuse is not None:
            self.after_build[site_path] = source
        else:
            files.append(File.generated(config, site_path, abs_src_path=str(source)))

    def _site_state(self, config: MkDocsConfig, image_set: images.ImageSet) -> page_reuse.SiteState:
        folders = [Path(config.docs_dir), pages.TEMPLATES, ASSETS]
        if config.theme.custom_dir:
            folders.append(Path(config.theme.custom_dir))
        return page_reuse.site_state(
            Path(config.config_file_path), folders, self.site.catalog, self.site.now,
            self.problems, {path: p.key for path, p in image_set.processed.items()})

    def _page_reuse(self, config: MkDocsConfig,
                    image_set: images.ImageSet) -> page_reuse.PageReuse | None:
        """Under `mkdocs serve` (not --dirty): the pages of the last build, ready for this one."""
        if not self.preview or self.dirty:
            return None
        if self.page_reuse is None:
            self.page_reuse = page_reuse.PageReuse()
        state = self._site_state(config, image_set)
        self.page_reuse.start(state, self.site.catalog.stories, self.site.rendered)
        if isinstance(self.env, page_reuse.TrackingEnvironment):
            self.env.rendered = self.site.rendered
            self.env.globals["reused_section"] = self.page_reuse.section
        return self.page_reuse

    def _keeps_pages(self, config: MkDocsConfig) -> bool:
        """Whether this build keeps its pages for the next one (page_cache.py): a build (not
        a preview, not dirty) with a cache folder, of a site where StoryHub is the only plugin."""
        return not self.preview and not self.dirty and bool(self.config.cache_dir) \
            and list(config.plugins) == ["storyhub"]

    def _page_cache(self, config: MkDocsConfig, image_set: images.ImageSet,
                    specs: list[pages.PageSpec]) -> page_cache.PageCache:
        key = page_cache.site_key(self._site_state(config, image_set), config, self.config,
                                  [(spec.path, spec.title) for spec in specs if spec.in_nav])
        return page_cache.PageCache.open(
            self.root / self.config.cache_dir / "pages", key,
            page_cache.story_digests(self.site.catalog.stories, self.site.rendered))

    def on_pre_page(self, page: Page, /, *, config: MkDocsConfig, files: Files) -> Page | None:
        """Date the page from the stories, not the clock (the sitemap's <lastmod> and gzip time)."""
        if not self.config.enabled:
            return None
        spec = self.specs.get(page.file.src_uri)
        story = spec.context.get("story") if spec and spec.template == "story.html" else None
        stories = self.site.catalog.stories
        page.update_date = reproducible.page_date(story, stories[0] if stories else None, os.environ)
        return page

    def on_nav(self, nav: Navigation, /, *, config: MkDocsConfig, files: Files) -> None:
        self.nav = nav  # to render the pages of a copy that failed (_render_here)

    def on_page_markdown(self, markdown: str, /, *, page: Page, config: MkDocsConfig,
                         files: Files) -> str | None:
        """Generated pages carry no Markdown: their HTML comes from our templates."""
        return "" if page.file.src_uri in self.specs else None

    def on_page_content(self, html: str, /, *, page: Page, config: MkDocsConfig,
                        files: Files) -> str | None:
        """The page's content. Pages kept from the last build and pages a copy of the build
        renders (split.py) get no content and the empty theme template here: on_post_page
        gives their bytes."""
        if page.file.src_uri in self.kept or page.file.src_uri in self.copied:
            page.meta["template"] = page_cache.REUSED_TEMPLATE
            return ""
        self._frame_page(page)
        return self._content(html, page)

    def _frame_page(self, page: Page) -> None:
        """A generated page outside `nav` gets the theme's page through a frame where one
        fits (theme_frame.py)."""
        spec = self.specs.get(page.file.src_uri)
        if self.frames_wanted and spec is not None and not spec.in_nav \
                and "template" not in page.meta:
            page.meta["template"] = theme_frame.FRAME_TEMPLATE

    def _content(self, html: str, page: Page) -> str:
        spec = self.specs.get(page.file.src_uri)
        if spec is not None:
            def make() -> str:
                return pages.render_page(self.env, self.site, spec, page.url)

            if self.page_reuse and self.preview:
                html = self.page_reuse.render(spec, self.env, make, spec.in_nav)
            elif self.page_cache:
                html = page_reuse.tracked(self.env, self.touched.setdefault(spec.src_uri, set()),
                                          make)
            else:
                html = make()
        elif self.config.search_index:
            # Hand-written pages are searchable; generated listings are not (stories mark
            # their own body in the template).
            html = search.mark_page_body(html, page.title or "")
            self.searchable.append(page.file.dest_uri)
        if self.problems:
            guide = get_relative_url(self.site.page_url("write/"), page.url)
            html = preview.banner(self.env, self.problems, guide) + html
        return html

    def _shards(self) -> list[list[str]]:
        """Story pages and hand-written pages; Pagefind need not parse the listings."""
        return search_index.plan_shards([f"{s.url}index.html" for s in self.site.catalog.stories],
                                        self.searchable, self.config.search_shard_size)

    def _index_input(self, files: Files) -> tuple[list[list[str]], dict[str, str]] | None:
        """The shards and the content of each of their pages, when every page has its
        content here (not in a build that kept pages from the last one: those are indexed
        from the written site after the build)."""
        shards = self._shards()
        wanted = {name for shard in shards for name in shard}
        contents = {file.dest_uri: file.page.content for file in files.documentation_pages()
                    if file.dest_uri in wanted and file.page is not None and file.page.content}
        return (shards, contents) if wanted and len(contents) == len(wanted) else None

    def on_post_page(self, output: str, /, *, page: Page, config: MkDocsConfig) -> str | None:
        """Add head tags (feed links, social cards) for the pages that have them; with the
        first page rendered (its language known), start the search index."""
        if not self.config.enabled:
            return None
        if self.copied and self.copy is None and self.copy_pages is None:
            self._start_copy()
        if self.index_input is not None:
            (shards, contents), self.index_input = self.index_input, None
            self.index_ready = (shards, search_index.content_reader(
                contents, search_index.language(output)))
        if self.index_ready is not None and not self._copy_in_memory(self.index_ready[0]):
            self._start_index(config)
        spec = self.specs.get(page.file.src_uri)
        if self.sender is not None:  # the copy: its pages go to the build through its pack
            if spec is not None and spec.src_uri in self.copied:
                self._finish_page(output, spec, page)
                page.content = None  # in its pack now: its memory serves the next pages
            return ""
        if spec is not None and spec.src_uri in self.kept and self.page_cache is not None:
            return self.page_cache.take(spec)
        if spec is not None and spec.src_uri in self.copied and self.page_cache is not None:
            if self.copy_pages is None and self.copy is not None:
                self.copy_pages = self.copy.result() or {}
            entry = (self.copy_pages or {}).get(spec.src_uri)
            if entry is not None:
                return self.page_cache.take(spec, entry)
            output = self._render_here(page, config)
        return self._finish_page(output, spec, page)

    def _copy_in_memory(self, shards: list[list[str]]) -> bool:
        """Whether the copy of the build still runs while a shard is large (or the shards
        indexed at once are): Pagefind holds about 190 KB a story, so at thousands of stories
        the two together took the build's peak to 935 MB. The index then starts once the
        copy is done."""
        sizes = list(map(len, shards))
        held = sum(sizes) if self._at_once() else max(sizes, default=0)
        return self.copy is not None and not self.copy.ended \
            and held >= search_index.BESIDE_COPY_MAX

    def _at_once(self) -> bool:
        """Whether the site's shards are the two halves indexed at once (split_in_two)."""
        return search_index.split_in_two(len(self.site.catalog.stories),
                                         self.config.search_shard_size)

    def _start_index(self, config: MkDocsConfig) -> None:
        """Start writing the search index (search_index.IndexWorker) from the pages' input."""
        assert self.index_ready is not None
        (shards, read), self.index_ready = self.index_ready, None
        try:
            self.indexing = search_index.IndexWorker(
                Path(config.site_dir), shards, read, not config.use_directory_urls,
                self._search_cache(), self._at_once()).result
        except (OSError, search_index.SearchIndexError) as error:
            # Not staged or not started: the written site is indexed after the build.
            log.info(f"storyhub: search index after the build ({error})")

    def _render_here(self, page: Page, config: MkDocsConfig) -> str:
        """A page the copy of the build failed to render, rendered here as MkDocs would
        have (mkdocs.commands.build)."""
        assert self.nav is not None and self.theme_env is not None
        del page.meta["template"]
        self._frame_page(page)
        page.content = self._content("", page)
        context = get_context(self.nav, self.doc_files, config, page)
        context = config.plugins.on_page_context(context, page=page, config=config, nav=self.nav)
        return self.theme_env.get_template(page.meta.get("template", "main.html")).render(context)

    def _finish_page(self, output: str, spec: pages.PageSpec | None, page: Page) -> str:
        output = theme_html.valid_html(output)
        if self.config.search_index:
            action = get_relative_url(self.site.page_url(search.SEARCH_PATH), page.url)
            output = search.header_search(output, action)
        tags = [tag for make in self.head_tags for tag in make(spec, page)]
        if tags:
            output = output.replace("</head>", "\n".join(tags) + "\n</head>", 1)
        if spec is not None and self.page_cache is not None:
            self.page_cache.store(spec, self.touched.get(spec.src_uri, ()), output)
        return output

    def on_post_template(self, output_content: str, /, *, template_name: str,
                         config: MkDocsConfig) -> str | None:
        """Theme pages that are not documentation pages (404.html) get the same HTML fixes."""
        if not self.config.enabled or not template_name.endswith(".html"):
            return None
        return theme_html.valid_html(output_content)

    def on_post_build(self, *, config: MkDocsConfig) -> None:
        """Persist the render cache for the next build, then index the built site for search."""
        if self.config.enabled and self.sender is not None and self.page_cache is not None:
            self.sender.finish(self.page_cache.close())  # the copy of a build ends here
        if self.config.enabled and self.cache is not None and not self.preview:
            self.cache.save()  # a preview saves it once, when `mkdocs serve` stops
        if self.config.enabled and self.page_cache is not None:
            self.page_cache.save()
            by_copy = f" ({len(self.copied)} of them by a copy of the build)" if self.copied else ""
            log.info(f"storyhub: {len(self.kept)} pages kept from the last build, "
                     f"{len(self.specs) - len(self.kept)} rendered{by_copy}")
        if self.frames is not None:
            families = self.frames.families.values()
            log.debug(f"storyhub: theme frames filled {self.frames.filled} pages, the theme "
                      f"rendered {self.frames.rendered}; {len(families)} families, "
                      f"{sum(f.stopped for f in families)} stopped")
        if self.config.enabled and self.card_drawing is not None:
            self.card_drawing.wait()
            # Hard links in a preview (MkDocs' temporary folder); copies in a real build.
            if self.preview and self.page_reuse is not None:
                page_reuse.merge_kept(Path(config.site_dir), self.after_build,
                                      keep=self.deferred.written)
            else:
                published = self.card_drawing.published
                page_reuse.publish_files(Path(config.site_dir), {
                    path: file for path, file in self.after_build.items() if file not in published
                }, link=self.preview)
        if self.config.enabled and self.preview and self.page_reuse is not None:
            self.page_reuse.stash(Path(config.site_dir))
            log.info(f"storyhub: {self.page_reuse.reused} unchanged pages reused, "
                     f"{len(self.page_reuse.rendered)} rendered")
        if self.config.enabled and self.index_ready is not None:
            self._start_index(config)  # waited for the copy, which the last page ended
        if self.config.enabled and self.config.search_index and self.indexing is None:
            self._index_site(config)  # else started while MkDocs wrote the pages
        if self.config.enabled and not (self.preview and self.page_reuse is not None):
            # Last, so that it sees everything the build wrote, search index included.
            # Not in a preview that reuses pages: its sitemap lists only the pages it rendered,
            # and reading thousands of pages back would cost seconds of every rebuild.
            self._check_conservation(config)
        self._index_written(config)
        if self.config.enabled and self.deferred_files is not None:
            # Last: its thread would slow down the rest of the build (the GIL).
            self.deferred.start(Path(config.site_dir), self.deferred_files,
                                delay=search_index.PREVIEW_DELAY_S)
        self._unfreeze()

    def on_build_error(self, *, error: Exception) -> None:
        """A copy of the build stops at its first error: the build renders its pages itself
        (and meets the error there, if it lies in them). The build stops its copy."""
        if self.sender is not None:
            self.sender.fail()
        if self.copy is not None:
            self.copy.stop()
        self._unfreeze()

    def _index_site(self, config: MkDocsConfig) -> None:
        """Index the written site: in the background in a preview, else now."""
        if self.preview:
            # Pagefind takes seconds at thousands of stories; the preview must not wait for it.
            self.indexer.start(Path(config.site_dir), self._shards(),
                               keep_index_url=not config.use_directory_urls,
                               delay=search_index.PREVIEW_DELAY_S)
            return
        try:
            report = search_index.build_index(
                Path(config.site_dir), self._shards(), keep_index_url=not config.use_directory_urls,
                cache_dir=self._search_cache(), at_once=self._at_once())
        except search_index.SearchIndexError as error:
            raise PluginError(f"storyhub: search index: {error}") from error
        _index_done(report)

    def _index_written(self, config: MkDocsConfig) -> None:
        """Wait for the search index started while MkDocs wrote the pages (if any); if the
        copy of the build making it died, index the written site now."""
        indexing, self.indexing = self.indexing, None
        if indexing is None:
            return
        result = indexing()
        if result is None:
            self._index_site(config)
        elif isinstance(result, search_index.SearchIndexError):
            raise PluginError(f"storyhub: search index: {result}")
        else:
            _index_done(result)

    def _search_cache(self) -> Path | None:
        return self.root / self.config.cache_dir / "search" if self.config.cache_dir else None

    def _check_conservation(self, config: MkDocsConfig) -> None:
        """Fail the build when a story is missing, duplicated or misplaced in the output."""
        started = time.perf_counter()
        problems = conservation.check(Path(config.site_dir), self.site.catalog, self.hidden,
                                      site_url=config.site_url or "", feed_size=self.config.feed_size,
                                      search_ready=lambda: self._index_written(config))
        if problems and not self.preview:
            raise PluginError(conservation.format_problems(problems))
        if problems:
            log.error(conservation.format_problems(problems))
        log.info(f"storyhub: conservation check of {len(self.site.catalog.stories)} stories "
                 f"in {time.perf_counter() - started:.2f} s")


@functools.cache
def _freeze_at_exit() -> None:
    """When the program ends, nothing needs collecting any more, yet Python's last garbage
    collection goes through the whole heap of a big build: 0.2 s at 1,000 stories. Frozen,
    the heap is skipped. Only at exit: a program running many builds still collects."""
    atexit.register(gc.freeze)


def _index_done(result: search_index.IndexReport | search_index.SearchIndexError) -> None:
    if isinstance(result, search_index.SearchIndexError):
        log.warning(f"storyhub: search index: {result}")
    else:
        log.info(f"storyhub: indexed {result.pages} pages for search in {result.seconds:.2f} s")
