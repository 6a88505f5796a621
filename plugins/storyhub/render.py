"""Markdown to safe HTML, once per story, with excerpts and a content-hash cache."""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import markdown
import nh3

from .model import Story

RENDER_VERSION = "1"
MORE = "<!-- more -->"
_MORE_TOKEN = "STORYHUBMOREc0ffee"
WORDS_PER_MINUTE = 220
SUMMARY_LIMIT = 280

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "col", "colgroup", "dd",
    "del", "details", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4",
    "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "picture", "pre", "q",
    "s", "small", "source", "span", "strong", "sub", "summary", "sup", "table", "tbody", "td",
    "tfoot", "th", "thead", "tr", "u", "ul",
}
ALLOWED_ATTRIBUTES = {
    "*": {"class", "id", "title", "lang", "dir"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height", "loading", "srcset", "sizes", "decoding"},
    "source": {"srcset", "sizes", "type", "media", "width", "height"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "align", "scope"},
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

    @property
    def minutes(self) -> int:
        return max(1, round(self.words / WORDS_PER_MINUTE))


def sanitize(fragment: str) -> str:
    """Allow-list cleaning of story HTML: no scripts, handlers, styles or unsafe URLs."""
    return nh3.clean(
        fragment,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


_TAGS = re.compile(r"<[^>]+>")
_PARA = re.compile(r"<p>(.*?)</p>", re.S)


def plain_text(fragment: str) -> str:
    return " ".join(html.unescape(_TAGS.sub(" ", fragment)).split())


def shorten(text: str, limit: int = SUMMARY_LIMIT) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(",;:.")
    return cut + "…"


def excerpt(story: Story, body_html: str) -> tuple[str, str]:
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


_URL_ATTR = re.compile(r'(<(?:img|a|source)\b[^>]*?\b(?:src|href)=")([^"]*)(")')


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
        self._to_url = to_url
        self.signature = hashlib.sha256(
            json.dumps([RENDER_VERSION, [str(e) for e in extensions], configs],
                       sort_keys=True, default=repr).encode()
        ).hexdigest()

    def key(self, story: Story) -> str:
        digest = hashlib.sha256()
        for part in (self.signature, story.path, story.summary or "", story.body):
            digest.update(part.encode("utf-8", "surrogatepass"))
            digest.update(b"\0")
        return digest.hexdigest()

    def render(self, story: Story) -> Rendered:
        body = story.body.replace(MORE, f"\n\n{_MORE_TOKEN}\n\n", 1)
        self._md.reset()
        converted = self._md.convert(body)
        clean = sanitize(converted)
        clean, images = rewrite_local_urls(clean, PurePosixPath(story.path).parent, self._to_url)
        full, summary = excerpt(story, clean)
        return Rendered(full, summary, len(plain_text(full).split()), tuple(images))


class RenderCache:
    """Rendered stories by content key, kept in memory and in one JSON file on disk."""

    def __init__(self, path: Path | None):
        self.path = path
        self.entries: dict[str, Rendered] = {}
        self.hits = self.misses = 0
        self._dirty = False
        if path and path.is_file():
            try:
                raw = json.loads(path.read_text("utf-8"))
                self.entries = {k: Rendered(v["html"], v["summary"], v["words"], tuple(v["images"]))
                                for k, v in raw.items()}
            except (OSError, ValueError, KeyError, TypeError):
                self.entries = {}  # a damaged cache is only a slower build

    def get(self, renderer: Renderer, story: Story) -> Rendered:
        key = renderer.key(story)
        found = self.entries.get(key)
        if found is not None:
            self.hits += 1
            return found
        self.misses += 1
        rendered = renderer.render(story)
        self.entries[key] = rendered
        self._dirty = True
        return rendered

    def prune(self, keep: set[str]) -> None:
        stale = set(self.entries) - keep
        for key in stale:
            del self.entries[key]
        self._dirty = self._dirty or bool(stale)

    def save(self) -> None:
        if not self.path or not self._dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {k: asdict(v) for k, v in sorted(self.entries.items())}
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, ensure_ascii=False)
        os.replace(tmp, self.path)
        self._dirty = False
