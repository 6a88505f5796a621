"""Parts of Material's pages that come out the same on many pages, rendered once a build.

Material renders `partials/nav.html` and `partials/tabs.html` on every page: with the site's
navigation that was about 45% of the theme's time a page (py-spy, 1,000 stories). On a page
that is not in `nav` (the stories and listings StoryHub generates) nothing in the navigation is
active or expanded, so the two partials come out the same on every such page whose links in
them, written relative to the page by MkDocs' `url` filter, are the same.

`NavMemo` wraps such a partial's render function. The first time it renders, it notes every
value the partial passed to the `url` filter; for a later page it applies the filter to those
values and, when the results match an earlier page's, gives that page's output. Pages in
`nav`, and a partial that passed other values on another page (then the memo stops), are
rendered as always.

`TranslationMemo` does the same for the texts of Material's `t` macro
(`partials/language.html`), about 20 a page: the macro builds a dictionary of every text of
the language on each call, and gives the same text for a key on every page of a build.

A partial that a theme override (`custom_dir`) replaces is left alone.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import jinja2

LANGUAGE = "partials/language.html"
PARTIALS = ("partials/nav.html", "partials/tabs.html", LANGUAGE)


class NavPages:
    """Whether a page is in `nav`, by identity (MkDocs makes a new `nav` for every build)."""

    def __init__(self) -> None:
        self.nav: Any = None
        self.ids: set[int] = set()

    def holds(self, nav: Any, page: Any) -> bool:
        if self.nav is not nav:
            self.nav, self.ids = nav, {id(item) for item in getattr(nav, "pages", ())}
        return id(page) in self.ids


@contextlib.contextmanager
def noting_urls(env: jinja2.Environment) -> Iterator[list[str]]:
    """The values templates pass to the `url` filter of `env` while in the block."""
    url = env.filters["url"]
    seen: list[str] = []

    @jinja2.pass_context
    def noting(inner: Any, value: Any) -> Any:
        seen.append(str(value))
        return url(inner, value)

    env.filters["url"] = noting
    try:
        yield seen
    finally:
        env.filters["url"] = url


class NavMemo:
    """The render function of one partial, remembering its output by the page's links."""

    def __init__(self, env: jinja2.Environment, render: Callable[[Any], Iterator[str]]):
        self.env = env
        self.render = render
        self.urls: tuple[str, ...] | None = None  # what the partial passed to `url`
        self.outputs: dict[tuple[str, ...], str] = {}
        self.nav_pages = NavPages()
        self.stopped = False

    def __call__(self, context: Any) -> Iterator[str]:
        page, nav = context.get("page"), context.get("nav")
        if self.stopped or page is None or nav is None or self.nav_pages.holds(nav, page):
            yield from self.render(context)
            return
        url = self.env.filters["url"]
        key = tuple(url(context, value) for value in self.urls) if self.urls is not None \
            else None
        if key is not None and key in self.outputs:
            yield self.outputs[key]
            return
        with noting_urls(self.env) as seen:
            output = "".join(self.render(context))
        if self.urls is None:
            self.urls = tuple(seen)
            key = tuple(url(context, value) for value in self.urls)
        if tuple(seen) != self.urls:
            self.stopped = True  # it depends on the page in a way this memo cannot see
        else:
            self.outputs[key] = output  # type: ignore[index]
        yield output



def remember(env: jinja2.Environment, theme_dirs: Sequence[str], custom_dir: str | None) -> None:
    """Memoize Material's navigation partials in `env`, unless a theme override replaced them."""
    for name in PARTIALS:
        try:
            template = env.get_template(name)
        except jinja2.TemplateNotFound:
            continue
        source = Path(template.filename or "")
        if custom_dir and source.is_relative_to(custom_dir) \
                or not any(source.is_relative_to(folder) for folder in theme_dirs):
            continue
        if not isinstance(template.root_render_func, NavMemo | TranslationMemo):
            template.root_render_func = (  # type: ignore[method-assign]
                TranslationMemo(template.root_render_func) if name == LANGUAGE
                else NavMemo(env, template.root_render_func))


class TranslationMemo:
    """The render function of Material's `partials/language.html`, whose module's `t` macro
    gives the same text for a key on every page of a build (the theme's language is set in
    mkdocs.yml): its texts are looked up once a key."""

    def __init__(self, render: Callable[[Any], Iterator[str]]):
        self.render = render
        self.texts: dict[Any, Any] = {}

    def __call__(self, context: Any) -> Iterator[str]:
        yield from self.render(context)
        t = context.vars.get("t")
        if isinstance(t, jinja2.runtime.Macro):
            context.vars["t"] = self._remembering(t)

    def _remembering(self, t: jinja2.runtime.Macro) -> Callable[[Any], Any]:
        texts = self.texts

        def remembered(key: Any) -> Any:
            try:
                return texts[key]
            except KeyError:
                texts[key] = t(key)
                return texts[key]
            except TypeError:  # a key that is not hashable
                return t(key)
        return remembered
