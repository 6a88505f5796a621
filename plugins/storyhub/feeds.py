"""RSS 2.0, Atom 1.0 and JSON Feed 1.1 for all stories and every team, KPI, campaign and newsletter.

Every feed folder (``feeds/all/``, ``feeds/teams/<id>/``, ``feeds/kpis/<id>/``,
``feeds/campaigns/<id>/``, ``feeds/newsletters/<id>/``) holds ``rss.xml``, ``atom.xml`` and
``feed.json``. RSS and Atom are made with feedgen, JSON Feed with :mod:`json`; never with string
templates.

Item ids are tag URIs (RFC 4151) made of the site's host and path and the story slug only, e.g.
``tag:intranet.example.com,2026:/stories/why-people-stay``. The date part of a tag URI says when
the naming authority held the host name, not when the story was written, so it is the fixed
:data:`TAG_DATE`: editing a story, changing its date or moving it to another team folder keeps
its id. Only changing the slug (or the site's host or path) makes it a new item.

Feeds are deterministic: the feed's ``lastBuildDate``/``updated`` is the newest item's date, not
the clock, so two builds of the same stories give the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import nh3
from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from markupsafe import escape
from mkdocs.utils import get_relative_url

from . import render
from .catalog import Catalog
from .model import Story
from .pages import PageSpec, Site

TAG_DATE = "2026"
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
GENERATOR = "StoryHub"
# (file name, label, MIME type) of the three formats every feed folder holds.
FORMATS = (
    ("rss.xml", "RSS", "application/rss+xml"),
    ("atom.xml", "Atom", "application/atom+xml"),
    ("feed.json", "JSON Feed", "application/feed+json"),
)
IMAGE_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png",
               ".webp": "image/webp", ".gif": "image/gif"}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NEEDS_SITE_URL = (
    "storyhub: feeds and newsletter digests need absolute URLs, but mkdocs.yml has no site_url. "
    "Add the address the site is served from, e.g. 'site_url: https://intranet.example.com/stories/', "
    "or set 'feeds: false' under the storyhub plugin to build without feeds and newsletters."
)


@dataclass(frozen=True)
class Channel:
    """One feed (in three formats): what it holds and where it lives."""

    path: str  # site path of the feed folder, e.g. 'feeds/teams/hr/'
    name: str  # what it is about, e.g. 'People & HR'
    title: str  # the feed's title, e.g. 'Brightwave Stories — People & HR'
    holds: str  # one sentence saying which stories it holds
    page: str  # site path of the matching HTML page, e.g. 'teams/hr/'
    kind: str  # 'all', 'team', 'kpi', 'campaign' or 'newsletter'
    stories: tuple[Story, ...]  # every story that belongs, newest first (feeds keep the newest N)


def channels(catalog: Catalog, site_name: str) -> list[Channel]:
    """Every feed of the site, in a stable order: all, teams, KPIs, campaigns, newsletters."""
    registry = catalog.registry
    found = [Channel("feeds/all/", "All stories", site_name, "Every published story.", "", "all",
                     tuple(catalog.stories))]
    for team in registry.teams.values():
        found.append(Channel(
            f"feeds/teams/{team.id}/", team.name, f"{site_name} — {team.name}",
            f"Stories {team.name} told or is featured in.", f"teams/{team.id}/", "team",
            tuple(catalog.team_stories(team.id)),
        ))
    for kpi in registry.kpis.values():
        owner = registry.teams.get(kpi.owner)
        whose = f" (a KPI owned by {owner.name})" if owner else ""
        found.append(Channel(
            f"feeds/kpis/{kpi.id}/", kpi.name, f"{site_name} — {kpi.name}",
            f"Stories that moved or support {kpi.name}{whose}.", f"kpis/{kpi.id}/", "kpi",
            tuple(catalog.by_kpi.get(kpi.id, [])),
        ))
    for campaign in registry.campaigns.values():
        found.append(Channel(
            f"feeds/campaigns/{campaign.id}/", campaign.name, f"{site_name} — {campaign.name}",
            f"Stories of the campaign “{campaign.name}”, from briefing to results.",
            f"campaigns/{campaign.id}/", "campaign", tuple(catalog.by_campaign.get(campaign.id, [])),
        ))
    for letter in registry.newsletters.values():
        found.append(Channel(
            f"feeds/newsletters/{letter.id}/", letter.title, f"{site_name} — {letter.title}",
            letter.description or f"The stories of the {letter.title} newsletter.",
            f"newsletters/{letter.id}/", "newsletter",
            tuple(catalog.newsletter_stories(letter.id)),
        ))
    return found


@dataclass(frozen=True)
class Cover:
    """A story's cover as feeds announce it: absolute URL, size in bytes and MIME type."""

    url: str
    length: int
    mime: str
    alt: str


def absolute_urls(fragment: str, base: str) -> str:
    """Make every href and src URL in story HTML absolute against `base` (the story's URL).

    The fragment is parsed again by the sanitiser with the story allow-list instead of being
    matched with a regex, so every attribute is found. That allow-list has no <picture>,
    <source> or srcset: responsive markup is reduced to its <img>, whose src is one image of
    feed size that every reader can fetch.
    """

    def absolute(tag: str, attribute: str, value: str) -> str:
        return urljoin(base, value) if attribute in ("href", "src") else value

    return nh3.clean(
        fragment, tags=render.ALLOWED_TAGS, attributes=render.ALLOWED_ATTRIBUTES,
        url_schemes=render.URL_SCHEMES, link_rel="noopener noreferrer", strip_comments=True,
        attribute_filter=absolute,
    )


def tag_uri(base_url: str, specific: str) -> str:
    """A tag URI naming `specific` under the site's host and path (see the module docstring)."""
    parts = urlsplit(base_url)
    return f"tag:{parts.hostname or 'localhost'},{TAG_DATE}:{parts.path or '/'}{specific}"


class AtomLinks(BaseEntryExtension):  # type: ignore[misc]
    """Gives an Atom entry's <link> elements their rel, type and length.

    feedgen 1.0.0 writes only the href of entry links (lkiesow/python-feedgen#135), which would
    make the cover enclosure a second "alternate" link. RSS output is not affected.
    """

    def __init__(self) -> None:
        self.links: list[dict[str, str]] = []

    def add(self, **link: str) -> dict[str, str]:
        self.links.append(link)
        return link

    def extend_atom(self, entry: Any) -> Any:
        for element, link in zip(entry.findall("link"), self.links, strict=True):
            for key, value in link.items():
                element.set(key, value)
        return entry


class Publisher:
    """Absolute URLs, ids and feed documents for one build of the site."""

    def __init__(self, site: Site, base_url: str, size: int, served_file: Callable[[str], Path],
                 language: str | None = None):
        """`base_url` is MkDocs' site_url; `served_file` maps a project image path to the file
        the site serves for it (its size becomes the enclosure length)."""
        self.site = site
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.size = size
        self.served_file = served_file
        self.language = language
        self._content: dict[str, str] = {}

    @cached_property
    def channels(self) -> list[Channel]:
        return channels(self.site.catalog, self.site.site_name)

    def url(self, path: str) -> str:
        """Absolute URL of a site path such as 'stories/x/' or 'feeds/all/rss.xml'."""
        return self.base_url + self.site.page_url(path)

    def guid(self, story: Story) -> str:
        """The story's permanent feed id: site and slug only (see the module docstring)."""
        return tag_uri(self.base_url, story.slug)

    def content(self, story: Story) -> str:
        """The story's full HTML with every URL absolute (computed once per story)."""
        if story.slug not in self._content:
            html = self.site.rendered[story.slug].html
            self._content[story.slug] = absolute_urls(html, self.url(story.url))
        return self._content[story.slug]

    def cover(self, story: Story) -> Cover | None:
        if not story.cover:
            return None
        served = self.served_file(story.cover)
        mime = IMAGE_TYPES.get(served.suffix.lower(), "application/octet-stream")
        return Cover(self.url(self.site.media_url(story.cover)), served.stat().st_size, mime,
                     story.cover_alt or "")

    def newest(self, channel: Channel) -> tuple[Story, ...]:
        return channel.stories[: self.size]

    def updated(self, stories: tuple[Story, ...]) -> datetime:
        """The feed's date: its newest item, else the site's newest story, never the clock."""
        dated = stories or tuple(self.site.catalog.stories[:1])
        return max((s.date for s in dated), default=EPOCH)

    def files(self) -> Iterator[tuple[str, bytes]]:
        """(site path, bytes) of every feed file, in a stable order."""
        for channel in self.channels:
            generator = self._generator(channel)
            # Each format points its self link at its own file.
            generator.link(self._links(channel, "rss.xml"), replace=True)
            # RSS readers take <description> as HTML, Atom's <subtitle> is text: names from
            # the registries are escaped for RSS only.
            generator.description(str(escape(channel.holds)))
            yield f"{channel.path}rss.xml", generator.rss_str(pretty=True)
            generator.description(channel.holds)
            generator.link(self._links(channel, "atom.xml"), replace=True)
            yield f"{channel.path}atom.xml", generator.atom_str(pretty=True)
            yield f"{channel.path}feed.json", self.json_feed(channel)

    def _links(self, channel: Channel, name: str) -> list[dict[str, str]]:
        mime = next(m for n, _, m in FORMATS if n == name)
        # feedgen takes the RSS <link> from the last link, so the HTML page comes last.
        return [{"href": self.url(channel.path + name), "rel": "self", "type": mime},
                {"href": self.url(channel.page), "rel": "alternate", "type": "text/html"}]

    def _generator(self, channel: Channel) -> FeedGenerator:
        registry = self.site.catalog.registry
        stories = self.newest(channel)
        generator = FeedGenerator()
        generator.load_extension("dc", atom=False, rss=True)  # dc:creator names RSS authors
        generator.register_extension("atom_links", BaseExtension, AtomLinks, atom=True, rss=False)
        generator.id(tag_uri(self.base_url, channel.path))
        generator.title(channel.title)
        generator.description(channel.holds)
        generator.author({"name": self.site.site_name, "uri": self.base_url})
        generator.generator(GENERATOR)
        generator.docs("https://www.rssboard.org/rss-specification")
        if self.language:
            generator.language(self.language)
        # feedgen defaults lastBuildDate/updated to now; the newest item keeps builds identical.
        generator.lastBuildDate(self.updated(stories))
        for story in stories:
            entry = generator.add_entry(order="append")
            entry.id(self.guid(story))
            entry.title(story.title)
            entry.link(entry.atom_links.add(href=self.url(story.url), rel="alternate",
                                            type="text/html"))
            entry.published(story.date)
            entry.updated(story.date)
            # RSS readers and newsletter tools read <description> as HTML: the plain-text
            # summary goes in escaped, so markup a contributor typed stays text.
            entry.summary(str(escape(self.site.rendered[story.slug].summary)), type="html")
            entry.content(self.content(story), type="html")
            for author_id in story.authors:
                author = registry.authors[author_id]
                entry.author({"name": author.name, "uri": self.url(f"authors/{author.id}/")})
                entry.dc.dc_creator(author.name)
            entry.category(self._categories(story))
            cover = self.cover(story)
            if cover:
                entry.link(entry.atom_links.add(href=cover.url, rel="enclosure", type=cover.mime,
                                                length=str(cover.length)))
        return generator

    def _categories(self, story: Story) -> list[dict[str, str]]:
        """Team, featured teams, KPIs, campaign and tags: ids as terms, names as labels."""
        registry = self.site.catalog.registry
        found = [{"term": t, "scheme": self.base_url + "teams/", "label": registry.teams[t].name}
                 for t in (story.team, *story.featuring)]
        found += [{"term": k, "scheme": self.base_url + "kpis/", "label": registry.kpis[k].name}
                  for k in story.kpis]
        if story.campaign:
            found.append({"term": story.campaign, "scheme": self.base_url + "campaigns/",
                          "label": registry.campaigns[story.campaign].name})
        found += [{"term": tag} for tag in story.tags]
        return found

    def json_feed(self, channel: Channel) -> bytes:
        """The channel as JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/)."""
        feed: dict[str, object] = {
            "version": JSON_FEED_VERSION,
            "title": channel.title,
            "home_page_url": self.url(channel.page),
            "feed_url": self.url(channel.path + "feed.json"),
            "description": channel.holds,
            "authors": [{"name": self.site.site_name, "url": self.base_url}],
        }
        if self.language:
            feed["language"] = self.language
        feed["items"] = [self._json_item(story) for story in self.newest(channel)]
        return (json.dumps(feed, ensure_ascii=False, indent=2) + "\n").encode("utf-8")

    def _json_item(self, story: Story) -> dict[str, object]:
        registry = self.site.catalog.registry
        item: dict[str, object] = {
            "id": self.guid(story),
            "url": self.url(story.url),
            "title": story.title,
            "summary": self.site.rendered[story.slug].summary,
            "content_html": self.content(story),
            "date_published": story.date.isoformat(),
            "date_modified": story.date.isoformat(),
            "authors": [{"name": registry.authors[a].name, "url": self.url(f"authors/{a}/")}
                        for a in story.authors],
            "tags": [c.get("label", c["term"]) for c in self._categories(story)],
        }
        cover = self.cover(story)
        if cover:
            item["image"] = cover.url
            # `image` is only a URL; the attachment carries the size and MIME type.
            item["attachments"] = [{"url": cover.url, "mime_type": cover.mime,
                                    "size_in_bytes": cover.length, "title": cover.alt}]
        # Ids for tools that sort stories by team, KPI or campaign (a JSON Feed extension).
        item["_storyhub"] = {"about": self.url("feeds/"), "team": story.team,
                             "featuring": list(story.featuring), "kpis": list(story.kpis),
                             "campaign": story.campaign, "tags": list(story.tags)}
        return item

    def link_tags(self, feed: str, page_url: str) -> list[str]:
        """`<link rel="alternate">` tags advertising the feed folder `feed` in three formats.

        The hrefs are relative to the page, so that the requests the theme makes for every
        alternate link (it looks for a sitemap.xml beside it) stay on the host serving the page.
        """
        channel = self._by_path.get(feed)
        if channel is None:
            return []
        return [
            f'<link rel="alternate" type="{mime}" title="{escape(channel.title)} ({label})" '
            f'href="{escape(get_relative_url(channel.path + name, page_url))}">'
            for name, label, mime in FORMATS
        ]

    @cached_property
    def _by_path(self) -> dict[str, Channel]:
        return {channel.path: channel for channel in self.channels}

    def index_page(self, site: Site) -> Iterator[PageSpec]:
        """The /feeds/ page: every feed, what it holds and its three URLs (a page builder)."""
        yield PageSpec("feeds/", "Feeds", "feeds.html", {
            # Plain values only: a page whose context holds a function is never reused.
            "channels": self.channels, "formats": FORMATS, "base_url": self.base_url,
            "size": self.size,
        }, feed="feeds/all/", description="Every StoryHub feed in RSS, Atom and JSON Feed.")
