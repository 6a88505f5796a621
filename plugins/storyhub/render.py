"""Markdown to safe HTML, once per story, with excerpts and a content-hash cache."""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Protocol

import markdown
import nh3

from . import parallel, quick_inline
from .atomic import write_atomic
from .model import Story

if TYPE_CHECKING:
    from .head_start import HeadStart

RENDER_VERSION = "4"  # bump when sanitising or rendering changes, to refresh caches
MORE = "<!-- more -->"
_MORE_TOKEN = "STORYHUBMOREc0ffee"
WORDS_PER_MINUTE = 220
SUMMARY_LIMIT = 280
# From this many stories to convert, a forked child converts half of them (parallel.py).
PARALLEL_MIN = 64


class Text(Protocol):
    """What converting a story reads of it: a `Story`, or a story file read on its own."""

    @property
    def path(self) -> str: ...
    @property
    def summary(self) -> str | None: ...
    @property
    def body(self) -> str: ...


ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "col", "colgroup", "dd",
    "del", "details", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4",
    "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q",
    "s", "small", "span", "strong", "sub", "summary", "sup", "table", "tbody", "td",
    "tfoot", "th", "thead", "tr", "u", "ul",
}
ALLOWED_ATTRIBUTES = {
    "*": {"class", "id", "title", "lang", "dir"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height", "loading", "decoding"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "ol": {"start", "reversed"},
    "details": {"open"},
}
URL_SCHEMES = {"http", "https", "mailto", "tel"}


@dataclass(frozen=True)
class Rendered:
    """A story's HTML and what is derived from that single rendering."""

    html: str
    summary: str
    words: int
    images: tuple[str, ...]  # project-relative paths of images the body references
    # Every local link/image target the rendering looked up, with the URL it got (None: left
    # as written). A cached rendering is only reused while each lookup still gives that URL,
    # so adding or removing an image file re-renders the stories that point at it.
    lookups: tuple[tuple[str, str | None], ...] = ()

    @property
    def minutes(self) -> int:
        return max(1, round(self.words / WORDS_PER_MINUTE))


# Values the HTML standard allows, so that a story cannot make a page invalid.
_ENUMS = {
    "dir": {"ltr", "rtl", "auto"},
    "scope": {"row", "col", "rowgroup", "colgroup"},
    "loading": {"lazy", "eager"},
    "decoding": {"sync", "async", "auto"},
}
_NUMBERS = {"width", "height", "colspan", "rowspan", "start"}
_LANG = re.compile(r"^[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*$")
# Ids and classes of the page around the story: Material's `__config`, `__search`,
# `md-*` and StoryHub's `sh-*`. A story using them could clobber the DOM that the
# theme's script reads (`#__config` holds its settings) or restyle the page's chrome.
_RESERVED_PREFIXES = ("__", "md-", "sh-")


def _attribute_filter() -> Callable[[str, str, str], str | None]:
    """Per-fragment attribute check: reserved or repeated ids, page classes, bad values."""
    seen_ids: set[str] = set()

    def keep(tag: str, attr: str, value: str) -> str | None:
        if attr == "id":
            if not value or any(c.isspace() for c in value) or value in seen_ids \
                    or value.startswith(_RESERVED_PREFIXES):
                return None
            seen_ids.add(value)
            return value
        if attr == "class":
            names = [n for n in value.split() if not n.startswith(_RESERVED_PREFIXES)]
            return " ".join(names) or None
        if attr in _ENUMS:
            return value.lower() if value.lower() in _ENUMS[attr] else None
        if attr in _NUMBERS:
            return value if value.isascii() and value.isdigit() and len(value) < 6 \
                and (int(value) > 0 or attr == "start") else None
        if attr == "lang":
            return value if _LANG.match(value) else None
        return value

    return keep


_IMG = re.compile(r"<img\b([^>]*)>")
_ATTR = re.compile(r'([^\s=]+)(?:="([^"]*)")?')
_A_WITHOUT_HREF = re.compile(r'<a\b((?:(?!\shref=)[^>])*?) rel="noopener noreferrer"')
_REMOTE = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*:|//)")


def _fix_image(match: re.Match[str]) -> str:
    """Images must stay on the site: a remote one becomes a link, one without src its alt text."""
    attrs = {name: value or "" for name, value in _ATTR.findall(match.group(1))}
    src = attrs.get("src")
    alt = attrs.get("alt", "")
    if not src:
        return alt  # already escaped by the sanitiser
    if _REMOTE.match(html.unescape(src)):
        return f'<a href="{src}" rel="noopener noreferrer">{alt or "External image"}</a>'
    if "alt" not in attrs:
        return f'<img alt=""{match.group(1)}>'
    return match.group(0)


def sanitize(fragment: str) -> str:
    """Allow-list cleaning of story HTML: no scripts, handlers, styles or unsafe URLs.

    The result also makes no request outside the site (remote images become links) and
    is valid HTML: attribute values are checked, ids are unique and do not clash with
    the page around the story.
    """
    clean = nh3.clean(
        fragment,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
        attribute_filter=_attribute_filter(),
    )
    clean = _IMG.sub(_fix_image, clean)
    # A link whose unsafe href was removed must not keep `rel`, which needs an href.
    return _A_WITHOUT_HREF.sub(r"<a\1", clean)


_H1_TAG = re.compile(r"<(/?)h1\b")


def demote_h1(fragment: str) -> str:
    """Body headings written as `# ...` become <h2>: the page's one <h1> is the story title."""
    return _H1_TAG.sub(r"<\1h2", fragment)


_TAGS = re.compile(r"<[^>]+>")
_PARA = re.compile(r"<p>(.*?)</p>", re.S)


def plain_text(fragment: str) -> str:
    return " ".join(_words(fragment))


def _words(fragment: str) -> list[str]:
    return html.unescape(_TAGS.sub(" ", fragment)).split()


def shorten(text: str, limit: int = SUMMARY_LIMIT) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(",;:.")
    return cut + "…"


def excerpt(story: Text, body_html: str) -> tuple[str, str]:
    """(HTML without the more-marker, plain-text summary) for a rendered body."""
    marker = f"<p>{_MORE_TOKEN}</p>"
    head, sep, tail = body_html.partition(marker)
    full = head + tail if sep else body_html.replace(_MORE_TOKEN, "")
    if story.summary:
        return full, shorten(story.summary, 600)
    if sep:
        return full, shorten(plain_text(head))
    first = _PARA.search(full)
    return full, shorten(plain_text(first.group(1)) if first else plain_text(full))


_URL_ATTR = re.compile(r'(<(?:img|a)\b[^>]*?\s(?:src|href)=")([^"]*)(")')


def rewrite_local_urls(fragment: str, story_dir: PurePosixPath,
                       to_url: Callable[[str], str | None]) -> tuple[str, list[str]]:
    """Point relative image/link URLs at their place in the site.

    `to_url` receives a project-relative path and returns the URL to use, or None to keep it.
    """
    found: list[str] = []

    def swap(match: re.Match[str]) -> str:
        url = html.unescape(match.group(2))
        if not url or url.startswith(("#", "/")) or re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", url):
            return match.group(0)
        path = url.split("#", 1)[0].split("?", 1)[0]
        target = os.path.normpath((story_dir / path).as_posix())
        new = to_url(target)
        if new is None:
            return match.group(0)
        found.append(target)
        return f"{match.group(1)}{html.escape(new)}{match.group(3)}"

    return _URL_ATTR.sub(swap, fragment), found


class Renderer:
    """Converts story Markdown with the site's Markdown extensions, one story at a time."""

    def __init__(self, extensions: list[Any], configs: dict[str, Any],
                 to_url: Callable[[str], str | None]):
        self._md = markdown.Markdown(extensions=extensions, extension_configs=configs)
        quick_inline.install(self._md)
        self._to_url = to_url
        self.signature = hashlib.sha256(
            json.dumps([RENDER_VERSION, [str(e) for e in extensions], configs],
                       sort_keys=True, default=repr).encode()
        ).hexdigest()

    def key(self, story: Text) -> str:
        digest = hashlib.sha256()
        for part in (self.signature, story.path, story.summary or "", story.body):
            digest.update(part.encode("utf-8", "surrogatepass"))
            digest.update(b"\0")
        return digest.hexdigest()

    def render(self, story: Text) -> Rendered:
        body = story.body.replace(MORE, f"\n\n{_MORE_TOKEN}\n\n", 1)
        self._md.reset()
        converted = self._md.convert(body)
        clean = demote_h1(sanitize(converted))
        asked: dict[str, str | None] = {}

        def lookup(target: str) -> str | None:
            asked[target] = self._to_url(target)
            return asked[target]

        clean, images = rewrite_local_urls(clean, PurePosixPath(story.path).parent, lookup)
        full, summary = excerpt(story, clean)
        return Rendered(full, summary, len(_words(full)), tuple(images),
                        tuple(sorted(asked.items(), key=lambda item: item[0])))

    def still_valid(self, rendered: Rendered) -> bool:
        """Whether every URL the rendering looked up would still come out the same."""
        return all(self._to_url(target) == url for target, url in rendered.lookups)


class RenderCache:
    """Rendered stories by content key, kept in memory and in one JSON file on disk."""

    def __init__(self, path: Path | None):
        self.path = path
        self.entries: dict[str, Rendered] = {}
        self.hits = self.misses = 0
        self._dirty = False
        self._used: set[str] = set()  # keys asked for since the last prune
        if path and path.is_file():
            try:
                raw = json.loads(path.read_text("utf-8"))
                self.entries = {k: Rendered(v["html"], v["summary"], v["words"], tuple(v["images"]),
                                            tuple((t, u) for t, u in v["lookups"]))
                                for k, v in raw.items()}
            except (OSError, ValueError, KeyError, TypeError):
                self.entries = {}  # a damaged cache is only a slower build

    def get(self, renderer: Renderer, story: Story) -> Rendered:
        return self.get_all(renderer, [story])[story.slug]

    def cached(self, renderer: Renderer, key: str) -> Rendered | None:
        """The cached rendering of `key`, if its links still resolve the same."""
        entry = self.entries.get(key)
        return entry if entry is not None and renderer.still_valid(entry) else None

    def get_all(self, renderer: Renderer, stories: Sequence[Story],
                head_start: HeadStart | None = None) -> dict[str, Rendered]:
        """Each story's rendering by slug: from the cache while its key matches and its
        links still resolve the same, else converted now. When many are to be converted, a
        forked copy of the process (parallel.py) converts half of them meanwhile, or the
        `head_start` already converts them."""
        keys = [renderer.key(story) for story in stories]
        self._used.update(keys)
        found = [self.cached(renderer, key) for key in keys]
        missing = [i for i, entry in enumerate(found) if entry is None]
        self.hits += len(stories) - len(missing)
        if head_start is not None:
            converted = {i: renderer.render(stories[i]) for i in missing
                         if head_start.take(stories[i].path)}
            theirs = head_start.converted()
            for i in missing:
                if i not in converted:  # what the copy could not read as the build did
                    converted[i] = theirs.get(keys[i]) or renderer.render(stories[i])
        else:
            half = len(missing) // 2 if len(missing) >= PARALLEL_MIN else 0
            share = missing[len(missing) - half:]
            child = parallel.in_child(lambda: [renderer.render(stories[i]) for i in share]) \
                if share else None
            mine = missing[:len(missing) - half] if child is not None else missing
            converted = {i: renderer.render(stories[i]) for i in mine}
            if child is not None:
                theirs_in_order = child()  # None if the child failed: converted here then
                converted.update(zip(share, theirs_in_order, strict=True)
                                 if theirs_in_order is not None
                                 else ((i, renderer.render(stories[i])) for i in share))
        for i, rendered in converted.items():
            self.entries[keys[i]] = rendered
        self.misses += len(converted)
        self._dirty = self._dirty or bool(converted)
        return {story.slug: found[i] or converted[i] for i, story in enumerate(stories)}

    def prune(self) -> None:
        """Forget the renderings no `get` asked for since the last prune (deleted or edited
        stories)."""
        stale = set(self.entries) - self._used
        self._used = set()
        for key in stale:
            del self.entries[key]
        self._dirty = self._dirty or bool(stale)

    def save(self) -> None:
        if not self.path or not self._dirty:
            return
        data = {k: asdict(v) for k, v in sorted(self.entries.items())}
        write_atomic(self.path, json.dumps(data, ensure_ascii=False).encode("utf-8"))
        self._dirty = False
