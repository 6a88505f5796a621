"""Material's page around generated pages, rendered once and filled in for many pages.

The theme's template (`main.html`) costs about 0.8 ms a page. On the pages StoryHub
generates outside `nav` (stories, listings) its output differs from page to page only in
the page's title, content and canonical URL, and in the links it writes relative to the
page. `ThemeFrames` renders the theme once with markers in place of those three values (a
*frame*), and for the next page whose links come out the same gives the frame with that
page's values put in. Pages that do not fit are rendered as always.

A page gets its page from a frame only when all of this holds, else the theme renders it:

- it is a generated page outside `nav`, without a table of contents, previous or next page
  or parent (nothing in the navigation is active on it);
- its title (and the title in its meta data, if the same: StoryHub's titles are HTML text
  there, `&amp;`) is not empty. A title with one of `& < > " '`, a space other than a single
  space between words, only fills a frame that was checked with a title holding the same:
  escaping or `striptags` would change those;
- its frame was made for a page with the same template, meta data, `base_url`, extra CSS
  and JavaScript, whether its content has an `<h1>` (Material adds one otherwise), whether
  it has a canonical URL, and the same other context values (only plain values are
  compared; any other value rules the page out);
- every value the theme passed to MkDocs' `url` filter on that page gives the same link from
  this one. The values are noted while the frame renders; a value that leads into the page's
  own folder (its own URL, say) stops the frames of its kind. With MkDocs' own filter a
  link depends only on the parent and depth of the page's folder, so the links are worked
  out once per folder;
- the frame itself never shows the page it was made from: the page's URL in the frame's
  output or a marker the theme changed (escaped, cut) rules the frame out;
- the frame, filled in with the values of the page it was made from, gave exactly the output
  of the theme for that page (rendered as well, the first time).
"""

from __future__ import annotations

import posixpath
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import jinja2
from markupsafe import Markup
from mkdocs.utils.templates import url_filter

from .theme_memo import NavPages, noting_urls

FRAME_TEMPLATE = "storyhub-theme-frame.html"
FRAME_GLOBAL = "storyhub_theme_frame"
FRAME_SOURCE = "{{ " + FRAME_GLOBAL + "() }}"
THEME_TEMPLATE = "main.html"
# What MkDocs puts in every page's context (mkdocs.commands.build.get_context).
STANDARD_CONTEXT = frozenset({"nav", "pages", "base_url", "extra_css", "extra_javascript",
                              "mkdocs_version", "build_date_utc", "config", "page"})
_PLAIN = (str, int, float, bool, type(None))
HOLES = ("title", "content", "canonical_url")
SPECIAL = frozenset("&<>\"'")  # characters that escaping would change
MAX_FRAMES = 64  # a family with more sets of links stops (each set costs two renders)


@dataclass(frozen=True)
class Frame:
    """The theme's output around a page: `parts` with a hole (a name of HOLES) between each
    two."""

    parts: tuple[str, ...]
    holes: tuple[str, ...]
    checked: frozenset[str]  # the features of the title it was checked with (features())

    def fill(self, values: Mapping[str, str]) -> str:
        out = [self.parts[0]]
        for hole, part in zip(self.holes, self.parts[1:], strict=True):
            out.append(values[hole])
            out.append(part)
        return "".join(out)


@dataclass
class Family:
    """The frames of pages with one base key: the values passed to `url` (the same on every
    page of the family, else the family stops), and a frame for each set of their links."""

    values: tuple[str, ...]
    frames: dict[tuple[str, ...], Frame]
    stopped: bool = False


def features(title: str) -> frozenset[str]:
    """What in a title escaping or `striptags` would change: its SPECIAL characters, spaces
    other than single spaces between words."""
    found = {c for c in title if c in SPECIAL or (c.isspace() and c != " ")}
    if "  " in title:
        found.add("  ")
    if title != title.strip():
        found.add("edge")
    return frozenset(found)


def link_folder(url: str, page: bool = True) -> tuple[str, ...]:
    """The parts of a path as MkDocs' get_relative_url compares them: for a page's URL, the
    folder its links start from (without a last part holding a dot, a file name)."""
    if page:
        folder, _, name = url.rpartition("/")
        url = folder if "." in name else url
    return tuple(part for part in posixpath.normpath("/" + url).split("/") if part)


def absolute(value: str) -> bool:
    """A value MkDocs' url filter leaves as it is (mkdocs.utils._get_norm_url)."""
    parts = urlsplit(value)
    return bool(parts.scheme or parts.netloc) or value.startswith(("/", "#"))


def page_values(page: Any) -> dict[str, str]:
    return {"title": page.title, "content": page.content, "canonical_url": page.canonical_url}


class ThemeFrames:
    """The theme's page for the pages whose template is FRAME_TEMPLATE (see the module)."""

    def __init__(self, env: jinja2.Environment):
        self.env = env
        self.nav_pages = NavPages()
        self.families: dict[tuple[Any, ...], Family] = {}
        token = secrets.token_hex(8)
        self.markers = {hole: f"storyhub-{hole}-{token}" for hole in HOLES}
        self._split = re.compile("|".join(map(re.escape, self.markers.values())))
        self._holes = {marker: hole for hole, marker in self.markers.items()}
        self.link_memo: dict[tuple[Any, ...], tuple[str, ...]] = {}
        self.targets: dict[tuple[str, ...], tuple[tuple[str, ...], ...]] = {}  # by values
        self.filled = self.rendered = 0  # pages given from a frame, pages the theme rendered

    def install(self) -> None:
        """Make FRAME_TEMPLATE available in the theme's environment."""
        assert self.env.loader is not None
        self.env.loader = jinja2.ChoiceLoader([
            jinja2.DictLoader({FRAME_TEMPLATE: FRAME_SOURCE}), self.env.loader])

        @jinja2.pass_context
        def page(context: jinja2.runtime.Context) -> Markup:
            return Markup(self.render(context))

        self.env.globals[FRAME_GLOBAL] = page

    def render(self, context: jinja2.runtime.Context) -> str:
        """The theme's page for the page of `context`, from a frame where one fits."""
        page = context["page"]
        base = self._base_key(context, page)
        family = self.families.get(base) if base is not None else None
        if family is not None and not family.stopped:
            links = self._links(context, family.values)
            frame = family.frames.get(links) if links is not None else None
            if frame is not None and features(page.title) <= frame.checked:
                self.filled += 1
                return frame.fill(page_values(page))
        output = self._theme(context)
        self.rendered += 1
        if base is not None and (family is None or not family.stopped):
            self._learn(base, family, context, page, output)
        return output

    def _theme(self, context: jinja2.runtime.Context) -> str:
        return self.env.get_template(THEME_TEMPLATE).render(context.get_all())

    def _base_key(self, context: jinja2.runtime.Context, page: Any) -> tuple[Any, ...] | None:
        """What a page must share with the page a frame was made from, or None if the page
        cannot have a frame."""
        if self.nav_pages.holds(context.get("nav"), page) or page.toc or page.previous_page is not None \
                or page.next_page is not None or page.parent is not None \
                or not isinstance(page.title, str) or not page.title \
                or not isinstance(page.content, str) \
                or page.is_homepage:
            return None
        if any(self._split.search(str(value)) for value in page_values(page).values()):
            return None
        others = []
        for name in sorted(context.get_all().keys() - STANDARD_CONTEXT - self.env.globals.keys()):
            value = context[name]
            if not isinstance(value, _PLAIN):
                return None
            others.append((name, value))
        try:  # the title in the meta data (StoryHub sets it) is a hole as well
            meta = repr([(k, v) for k, v in page.meta.items()
                         if not (k == "title" and v == page.title)])
        except AttributeError:
            return None
        return (meta, page.meta.get("title") == page.title, str(context.get("base_url")),
                repr(context.get("extra_css")),
                repr([str(script) for script in context.get("extra_javascript") or ()]),
                "<h1" in page.content, page.canonical_url is None, page.edit_url,
                tuple(others))

    def _links(self, context: jinja2.runtime.Context, values: tuple[str, ...]
               ) -> tuple[str, ...] | None:
        """What the `url` filter gives for `values` on the page of `context`; None if one of
        them leads into the page's own folder (then it names the page itself, or its links
        differ from its neighbours' in a way a frame cannot show)."""
        own = link_folder(context["page"].url)
        targets = self.targets.get(values)
        if targets is None:
            targets = self.targets[values] = tuple(
                link_folder(value, page=False) for value in values if not absolute(value))
        if own and any(target[:len(own)] == own for target in targets):
            return None
        url = self.env.filters["url"]
        if url is not url_filter:
            return tuple(url(context, value) for value in values)
        # MkDocs' filter (get_relative_url): a link from a page depends only on its folder's
        # parent and depth, once no value leads into the folder itself.
        key = (values, own[:-1], len(own))
        links = self.link_memo.get(key)
        if links is None:
            links = self.link_memo[key] = tuple(url(context, value) for value in values)
        return links

    def _learn(self, base: tuple[Any, ...], family: Family | None,
               context: jinja2.runtime.Context, page: Any, output: str) -> None:
        """Render the theme again with markers for the page's values; keep the frame if it
        gives back `output` for this page."""
        frame, values = self._frame(context, page)
        links = self._links(context, values) if values is not None else None
        if frame is None or values is None or frame.fill(page_values(page)) != output \
                or (family is not None and family.values != values) or links is None:
            if family is None:
                family = self.families[base] = Family((), {})
            family.stopped = True
            return
        if family is None:
            family = self.families[base] = Family(values, {})
        known = family.frames.get(links)
        if known is not None and (known.parts, known.holes) == (frame.parts, frame.holes):
            frame = Frame(frame.parts, frame.holes, known.checked | frame.checked)
        family.frames[links] = frame
        if len(family.frames) > MAX_FRAMES:
            family.stopped = True

    def _frame(self, context: jinja2.runtime.Context, page: Any
               ) -> tuple[Frame | None, tuple[str, ...] | None]:
        """The theme's output for `page` with markers in place of its values, as a frame,
        and the values the theme passed to `url` (None, None if it cannot be a frame)."""
        saved = {name: page.__dict__[name] for name in HOLES if name in page.__dict__}
        title = page.title
        meta_title = page.meta.get("title") == title
        page.title, page.content = self.markers["title"], self.markers["content"] + (
            "<h1" if "<h1" in page.content else "")
        if meta_title:
            page.meta["title"] = page.title
        if page.canonical_url is not None:
            page.canonical_url = self.markers["canonical_url"]
        try:
            with noting_urls(self.env) as seen:
                output = self._theme(context)
        finally:
            for name in HOLES:
                page.__dict__.pop(name, None)
            page.__dict__.update(saved)
            if meta_title:
                page.meta["title"] = title
        if page.url and page.url in output:
            return None, None
        pieces = self._split.split(output)
        holes = tuple(self._holes[m] for m in self._split.findall(output))
        content = self.markers["content"] + ("<h1" if "<h1" in page.content else "")
        if holes.count("content") != 1 or content not in output:
            return None, None
        if "<h1" in page.content:  # the marker's "<h1" belongs to the content
            index = holes.index("content") + 1
            if not pieces[index].startswith("<h1"):
                return None, None
            pieces[index] = pieces[index][len("<h1"):]
        return Frame(tuple(pieces), holes, features(title)), tuple(seen)
