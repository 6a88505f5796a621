"""Feeds and newsletter digests as one set of generated files, taken from the build cache
when nothing they show has changed."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path
from typing import Any

import jinja2

from . import build_cache, feeds, newsletters, pages
from .images import ImageSet


@dataclass(frozen=True)
class Publications:
    builders: list[pages.PageBuilder]  # the /feeds/ page and the newsletter pages
    produce: build_cache.Produce  # (site path, content) of every file, made when called
    link_tags: Callable[[str, str], list[str]]  # (feed, page URL) -> <link> tags for <head>


def publications(site: pages.Site, image_set: ImageSet, env: jinja2.Environment, tz: tzinfo,
                 site_url: str, language: str | None, feed_size: int,
                 options: Mapping[str, Any], cache_dir: Path | None) -> Publications:
    """The feeds and digests of a build. With `cache_dir`, a build with the same inputs
    (stories, images, templates, `options`) takes the files from the cache (build_cache.py)."""
    publisher = feeds.Publisher(site, site_url, feed_size, image_set.served_file, language)
    digests = newsletters.Digests(publisher, tz, env)

    def produce() -> Iterator[tuple[str, str | bytes]]:
        return itertools.chain(publisher.files(), digests.files())

    builders: list[pages.PageBuilder] = [publisher.index_page, digests.pages]
    if cache_dir is None:
        return Publications(builders, produce, publisher.link_tags)
    key = build_cache.digest_of(pages.TEMPLATES, build_cache.publication_inputs(
        site, {path: p.key for path, p in image_set.processed.items()},
        {"site_url": site_url, "language": language, "plugin": dict(options)}))
    store = build_cache.FileSetCache(cache_dir)
    return Publications(builders, lambda: iter(store.files(key, produce)), publisher.link_tags)
