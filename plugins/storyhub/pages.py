"""The generated HTML pages: what exists at which URL, and how each is rendered."""

from __future__ import annotations

import functools
import html
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page
from mkdocs.structure.toc import get_toc
from mkdocs.utils import get_relative_url
from mkdocs.utils.meta import get_data

from . import badges
from .catalog import Catalog
from .model import Story
from .render import Rendered
from .search_index import mark_input, mark_skipped

TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class PageSpec:
    """One generated page: its site path (e.g. 'teams/hr/'), title and template."""

    path: str
    title: str
    template: str
    context: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    feed: str | None = None  # site path of the matching feed folder, e.g. 'feeds/teams/hr/'
    description: str = ""

    @property
    def src_uri(self) -> str:
        return f"{self.path}index.md"

    @property
    def in_nav(self) -> bool:
        """Only section landing pages ('teams/', 'archive/') may appear in the navigation."""
        return self.path.count("/") <= 1

    @property
    def searched(self) -> bool:
        """Story pages are in the search index; listings are not."""
        return self.template == "story.html"


class GeneratedPage(Page):
    """The MkDocs page of a generated file (front_matter of `title`), made by the plugin
    (MkDocs uses a page that a plugin sets on a file). Its HTML comes from our templates,
    not from Markdown, so it makes no Markdown converter to convert nothing (0.5 s of a
    1,500-page build), and its metadata need not be parsed back from YAML (0.15 s).
    """

    def __init__(self, file: File, config: MkDocsConfig, title: str) -> None:
        super().__init__(None, file, config)
        self.front_matter_title = title

    def read_source(self, config: MkDocsConfig) -> None:
        source = config.plugins.on_page_read_source(page=self, config=config)
        if source is not None:  # another plugin's source: MkDocs reads it
            self.markdown, self.meta = get_data(source)
        else:  # what MkDocs reads from the file's front_matter
            self.markdown, self.meta = "", page_meta(self.front_matter_title)

    def render(self, config: MkDocsConfig, files: Files) -> None:
        if self.markdown:  # another plugin gave it Markdown: MkDocs converts it
            super().render(config, files)
            return
        # What Page.render gives for empty Markdown.
        self.content = ""
        self.toc = get_toc([])
        self.present_anchor_ids = set()
        self.links_to_anchors = {}


@dataclass(frozen=True)
class Pager:
    number: int
    count: int
    base: str

    def url_of(self, number: int) -> str:
        return self.base if number == 1 else f"{self.base}page/{number}/"

    @property
    def previous(self) -> str | None:
        return self.url_of(self.number - 1) if self.number > 1 else None

    @property
    def next(self) -> str | None:
        return self.url_of(self.number + 1) if self.number < self.count else None


def paginate(items: list[Story], size: int, base: str) -> Iterator[tuple[Pager, list[Story]]]:
    """Pages of `size` items at base, base/page/2/, ...; an empty list still has page 1."""
    count = max(1, -(-len(items) // size))
    for number in range(1, count + 1):
        yield Pager(number, count, base), items[(number - 1) * size: number * size]


@functools.lru_cache(maxsize=4096)  # a story's date is shown on ten pages or more
def human_date(moment: datetime) -> str:
    return f"{moment.day} {moment:%B %Y}"


def month_name(key: str) -> str:
    return datetime.strptime(key, "%Y-%m").strftime("%B %Y")


def make_environment(kind: type[jinja2.Environment] = jinja2.Environment,
                     bytecode_cache: jinja2.BytecodeCache | None = None) -> jinja2.Environment:
    """The Jinja environment of StoryHub's templates (`kind`: a subclass, e.g. for previews;
    `bytecode_cache`: compiled templates kept between builds)."""
    env = kind(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        bytecode_cache=bytecode_cache,
        # Templates are packaged files: checking their modification time on every
        # get_template (tens of thousands of times per build) would only cost time.
        auto_reload=False,
        # Every template stays compiled, in a dict: a lookup in Jinja's default cache (LRU)
        # takes 2 us, tens of thousands of times per build; in a dict, 0.8 us.
        cache_size=-1,
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["human_date"] = human_date
    env.filters["month_name"] = month_name
    # `{% filter search_input %}...{% endfilter %}`: what the search index reads of a page.
    env.filters["search_input"] = lambda html: Markup(mark_input(html))
    # `{% filter search_skip %}...{% endfilter %}`: a part of it the index ignores anyway.
    env.filters["search_skip"] = lambda html: Markup(mark_skipped(html))
    # `{% call reused_section(name, parts) %}...{% endcall %}`: a part of a page that a
    # preview rebuild may take from the last one (page_reuse.PageReuse.section).
    env.globals["reused_section"] = _render_section
    env.globals["alike"] = Alike(env)
    # team_badge, kpi_chip, status_badges, audience: functions, not macros (badges.py).
    badges.Badges().install(env)
    return env


class Alike:
    """`{% call alike(name, story) %}...{% endcall %}`: a part of a page that comes out the
    same on every page rendered from one template in one folder, such as a related story's
    card on every story page (stories/<slug>/): each link to a place outside the page's own
    folder is the same relative URL from all of them. It is rendered once per build.

    The stories the part read are noted for each page that shows it (page_reuse.tracked).
    Only for parts whose links never lead into the page's own folder.
    """

    def __init__(self, env: jinja2.Environment) -> None:
        self.env = env
        self.made: dict[tuple[str, str], tuple[str, set[str]]] = {}

    def __call__(self, name: str, story: Story, caller: Callable[[], str]) -> str:
        touched: set[str] | None = getattr(self.env, "touched", None)
        key = (name, story.slug)
        if key not in self.made:
            read: set[str] = set()
            if touched is not None:
                self.env.touched = read  # type: ignore[attr-defined]
            try:
                self.made[key] = (caller(), read)
            finally:
                if touched is not None:
                    self.env.touched = touched  # type: ignore[attr-defined]
        html, read = self.made[key]
        if touched is not None:
            touched.update(read)
        return html


def _render_section(name: Any, parts: Any, caller: Callable[[], str]) -> str:
    return caller()


@dataclass
class Site:
    """Everything templates may look up, shared by all pages of one build."""

    catalog: Catalog
    rendered: dict[str, Rendered]
    site_name: str
    directory_urls: bool
    now: datetime
    preview: bool
    media_url: Callable[[str], str]  # project-relative image path -> site path
    page_size: int = 20
    # Optional responsive-image renderer: (path, alt, url, class, eager) -> HTML.
    image_html: Callable[..., Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def page_url(self, path: str) -> str:
        if self.directory_urls or not path or path.endswith((".xml", ".json", ".html", ".txt")) \
                or not path.endswith("/"):
            return path
        return f"{path}index.html"


def page_meta(title: str) -> dict[str, Any]:
    """The metadata of a generated page: its title, and full width (Material's `hide`)."""
    # The theme prints `page.meta.title` into <title> and the header without escaping
    # (MkDocs templates do not autoescape), so the title goes in as HTML text.
    return {"title": html.escape(title, quote=True), "hide": ["navigation", "toc"]}


def front_matter(title: str) -> str:
    """page_meta as the front matter of the page's file, which MkDocs reads as that."""
    # JSON strings are valid YAML scalars and escape everything YAML cares about.
    meta = page_meta(title)
    return (f"---\ntitle: {json.dumps(meta['title'], ensure_ascii=False)}\n"
            f"hide: [{', '.join(meta['hide'])}]\n---\n")


def render_page(env: jinja2.Environment, site: Site, spec: PageSpec, page_url: str) -> str:
    """Render a generated page's content HTML for the page at `page_url`."""

    known: dict[str, str] = {}  # a listing links each team and story several times

    def url(target: str) -> str:
        found = known.get(target)
        if found is None:
            found = known[target] = get_relative_url(site.page_url(target) or ".", page_url) \
                if target else get_relative_url(".", page_url)
        return found

    template = env.get_template(spec.template)
    return template.render(site=site, catalog=site.catalog, registry=site.catalog.registry,
                           spec=spec, url=url, **spec.context)


def story_pages(site: Site) -> Iterator[PageSpec]:
    for story in site.catalog.stories:
        yield PageSpec(story.url, story.title, "story.html", {"story": story},
                       description=site.rendered[story.slug].summary)


def listing_pages(path: str, title: str, template: str, stories: list[Story], size: int,
                  feed: str | None = None, **context: Any) -> Iterator[PageSpec]:
    """A paginated listing at `path`, `path`page/2/, ..."""
    for pager, chunk in paginate(stories, size, path):
        label = title if pager.number == 1 else f"{title} (page {pager.number})"
        yield PageSpec(pager.url_of(pager.number), label, template,
                       {"stories": chunk, "pager": pager, "total": len(stories), **context},
                       feed=feed)


def home_page(site: Site) -> Iterator[PageSpec]:
    latest_count = int(site.extra.get("home_latest", 12))
    yield PageSpec("", site.site_name, "home.html", {
        "featured": site.catalog.featured[:6],
        "latest": site.catalog.stories[:latest_count],
    }, feed="feeds/all/")


def archive_pages(site: Site) -> Iterator[PageSpec]:
    months = sorted(site.catalog.by_month, reverse=True)
    years: dict[str, list[str]] = {}
    for month in months:
        years.setdefault(month[:4], []).append(month)
    yield PageSpec("archive/", "Archive", "archive.html",
                   {"years": years, "months": months, "year": None}, feed="feeds/all/")
    for year, year_months in years.items():
        yield PageSpec(f"archive/{year}/", f"Archive {year}", "archive.html",
                       {"years": years, "months": year_months, "year": year}, feed="feeds/all/")


def author_pages(site: Site) -> Iterator[PageSpec]:
    for author in site.catalog.registry.authors.values():
        yield from listing_pages(
            f"authors/{author.id}/", author.name, "author.html",
            site.catalog.by_author.get(author.id, []), site.page_size, author=author,
        )


PageBuilder = Callable[[Site], Iterator[PageSpec]]


def all_pages(site: Site, extra: Sequence[PageBuilder] = ()) -> list[PageSpec]:
    """Every generated page of the site, in a stable order."""
    # Feature modules build on this one (PageSpec, paginate), so they are imported here.
    from . import taxonomy_pages
    from .guide import write_page
    from .search import search_page

    builders = [home_page, story_pages, archive_pages, *taxonomy_pages.BUILDERS, author_pages,
                search_page, write_page, *extra]
    return [spec for build in builders for spec in build(site)]
