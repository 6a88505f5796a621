"""Conservation: after a build, every published story is where it belongs, exactly once.

The check reads the built site on disk, not what the page builders meant to write, and
derives what each page must hold from the catalog alone:

- its own page at `stories/<slug>/`, with one `<h1>` holding its title;
- every paginated listing it belongs to (`teams/<id>/`, `kpis/<id>/`, `campaigns/<id>/`,
  `teams/<id>/featuring/`, `teams/<id>/inspired/`) exactly once across the listing's pages,
  and the archive (`archive/`, `archive/<year>/`); a listing links its stories inside
  elements marked `data-sh-listing`, and only the links there count;
- every feed it belongs to (the newest `feed_size` stories of that feed), in RSS, Atom and
  JSON Feed, when the site has feeds;
- the sitemap, and the search index when the site has one (Pagefind fragments).

Drafts and scheduled stories must appear nowhere: no page, no link, no feed item, no sitemap
entry, no search fragment. It is plain text scanning (regular expressions and the standard
XML and JSON parsers), so that it stays fast at thousands of stories.
"""

from __future__ import annotations

import html
import json
import posixpath
import re
import xml.etree.ElementTree as ElementTree
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from markupsafe import escape

from .catalog import Catalog
from .model import Story

ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
FEED_FILES = ("rss.xml", "atom.xml", "feed.json")
MAX_SHOWN = 200  # violations listed in the build error; the rest are counted

_LISTING = re.compile(r"<([a-zA-Z][a-zA-Z0-9]*)\b[^>]*\sdata-sh-listing\b[^>]*>")
_ANCHOR = re.compile(r"<a\b([^>]*)>")
_HREF = re.compile(r'\shref="([^"]*)"')
_H1 = re.compile(r"<h1\b[^>]*>(.*?)</h1>", re.S)
_TAG_RE_CACHE: dict[str, re.Pattern[str]] = {}


@dataclass(frozen=True)
class Listing:
    """A paginated listing at `base` (base, base/page/2/, ...) and the stories it must hold."""

    base: str
    stories: tuple[Story, ...]
    required: bool = True


def story_path(url: str) -> str:
    """A site path as pages link it, normalised: 'stories/x/index.html' -> 'stories/x/'."""
    path = url.split("#", 1)[0].split("?", 1)[0]
    if path.endswith("index.html"):
        path = path[: -len("index.html")]
    return path.lstrip("/")


def listings(catalog: Catalog, site_dir: Path) -> list[Listing]:
    """Every listing the catalog says exists, with its members."""
    registry = catalog.registry
    found = [Listing("archive/", tuple(catalog.stories))]
    years: dict[str, list[Story]] = {}
    for month, stories in sorted(catalog.by_month.items(), reverse=True):
        years.setdefault(month[:4], []).extend(stories)
    found += [Listing(f"archive/{year}/", tuple(stories)) for year, stories in years.items()]
    for team in registry.teams:
        found.append(Listing(f"teams/{team}/", tuple(catalog.told_by.get(team, []))))
        # The full lists behind the sections of a team page, where the site has them.
        for kind, index in (("featuring", catalog.featuring), ("inspired", catalog.inspired_by)):
            found.append(Listing(f"teams/{team}/{kind}/", tuple(index.get(team, [])), required=False))
    # KPI and campaign pages are required once the site has their overview page.
    kpi_pages = (site_dir / "kpis" / "index.html").is_file()
    found += [Listing(f"kpis/{kpi}/", tuple(catalog.by_kpi.get(kpi, [])), kpi_pages)
              for kpi in registry.kpis]
    campaign_pages = (site_dir / "campaigns" / "index.html").is_file()
    found += [Listing(f"campaigns/{c}/", tuple(catalog.by_campaign.get(c, [])), campaign_pages)
              for c in registry.campaigns]
    return found


def feed_channels(catalog: Catalog) -> dict[str, list[Story]]:
    """Feed folder -> the stories that belong in it, newest first (before the size limit)."""
    registry = catalog.registry
    channels = {"feeds/all/": list(catalog.stories)}
    channels |= {f"feeds/teams/{t}/": catalog.team_stories(t) for t in registry.teams}
    channels |= {f"feeds/kpis/{k}/": list(catalog.by_kpi.get(k, [])) for k in registry.kpis}
    channels |= {f"feeds/campaigns/{c}/": list(catalog.by_campaign.get(c, []))
                 for c in registry.campaigns}
    channels |= {f"feeds/newsletters/{n}/": catalog.newsletter_stories(n) for n in registry.newsletters}
    return channels


def _closing(tag: str) -> re.Pattern[str]:
    if tag not in _TAG_RE_CACHE:
        _TAG_RE_CACHE[tag] = re.compile(rf"<(/?){tag}\b[^>]*>", re.I)
    return _TAG_RE_CACHE[tag]


def listing_regions(text: str) -> Iterator[str]:
    """The inner HTML of every element marked `data-sh-listing`."""
    for match in _LISTING.finditer(text):
        depth = 1
        for tag in _closing(match.group(1)).finditer(text, match.end()):
            depth += -1 if tag.group(1) else 1
            if depth == 0:
                yield text[match.end(): tag.start()]
                break


def linked_stories(region: str, page_dir: str) -> Iterator[str]:
    """Site paths of the pages that a region links, one per visible link.

    A card links its story twice (cover and title); the cover link is `aria-hidden`, a
    duplicate by design, so it is not counted.
    """
    for anchor in _ANCHOR.finditer(region):
        attrs = anchor.group(1)
        href = _HREF.search(attrs)
        if not href or 'aria-hidden="true"' in attrs:
            continue
        url = html.unescape(href.group(1))
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:|^//", url):
            continue
        target = posixpath.normpath(posixpath.join(page_dir, url.split("#", 1)[0]))
        yield story_path(target + "/" if not target.endswith(".html") else target)


def _listing_pages(site_dir: Path, base: str) -> list[Path]:
    first = site_dir / base / "index.html"
    if not first.is_file():
        return []
    more = sorted((site_dir / base / "page").glob("*/index.html"),
                  key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    return [first, *more]


def check_listing(site_dir: Path, listing: Listing, known: set[str]) -> list[str]:
    """Each member linked exactly once across the listing's pages; no other story linked."""
    pages = _listing_pages(site_dir, listing.base)
    if not pages:
        return [f"{listing.base}: listing page is missing"] if listing.required else []
    counts: Counter[str] = Counter()
    for page in pages:
        page_dir = page.parent.relative_to(site_dir).as_posix()
        for region in listing_regions(page.read_text("utf-8")):
            counts.update(p for p in linked_stories(region, page_dir) if p in known)
    problems = []
    expected = {s.url for s in listing.stories}
    for story in listing.stories:
        if counts[story.url] != 1:
            problems.append(f"{listing.base}: '{story.slug}' is listed {counts[story.url]} times "
                            "across its pages, not once")
    for url in sorted(set(counts) - expected):
        problems.append(f"{listing.base}: lists '{url}', which does not belong there")
    return problems


def check_story_pages(site_dir: Path, stories: Iterable[Story]) -> list[str]:
    """Each story page exists and has one <h1>, holding the story's title."""
    problems = []
    for story in stories:
        page = site_dir / story.url / "index.html"
        if not page.is_file():
            problems.append(f"{story.url}: the page of '{story.slug}' is missing")
            continue
        headings = _H1.findall(page.read_text("utf-8"))
        if len(headings) != 1 or str(escape(story.title)) not in headings[0]:
            problems.append(f"{story.url}: expected one <h1> with the title of '{story.slug}', "
                            f"found {len(headings)}")
    return problems


def check_hidden(site_dir: Path, hidden: list[Story]) -> list[str]:
    """Drafts and scheduled stories: no page and no link from any page."""
    if not hidden:
        return []
    problems = [f"{s.url}: '{s.slug}' is not published but has a page" for s in hidden
                if (site_dir / s.url).exists()]
    pattern = re.compile(r'href="[^"]*stories/(' + "|".join(re.escape(s.slug) for s in hidden)
                         + r')/(?:index\.html)?[#"]')
    for page in sorted(site_dir.rglob("*.html")):
        for match in set(pattern.findall(page.read_text("utf-8"))):
            problems.append(f"{page.relative_to(site_dir).as_posix()}: links '{match}', "
                            "which is not published")
    return problems


def site_path(url: str, site_url: str) -> str:
    """The site path of an absolute URL of the site ('' if it is elsewhere)."""
    base = urlsplit(site_url).path if site_url else "/"
    path = unquote(urlsplit(url).path)
    if not path.startswith(base):
        return ""
    return story_path(path[len(base):])


def feed_links(path: Path) -> list[str]:
    """The item links of an RSS, Atom or JSON feed file."""
    if path.suffix == ".json":
        return [str(item.get("url", "")) for item in json.loads(path.read_text("utf-8"))["items"]]
    root = ElementTree.fromstring(path.read_bytes())
    if root.tag == "rss":
        return [item.findtext("link") or "" for item in root.iter("item")]
    return [link.get("href", "") for entry in root.iter(f"{ATOM}entry")
            for link in entry.iter(f"{ATOM}link") if link.get("rel", "alternate") == "alternate"]


def check_feeds(site_dir: Path, catalog: Catalog, hidden: list[Story], site_url: str,
                feed_size: int) -> list[str]:
    """Each feed file holds exactly the newest `feed_size` stories of its channel, once each."""
    if not (site_dir / "feeds" / "all").is_dir():
        return []
    problems = []
    hidden_urls = {s.url for s in hidden}
    for folder, members in feed_channels(catalog).items():
        expected = {s.url for s in members[:feed_size]}
        for name in FEED_FILES:
            path = site_dir / folder / name
            if not path.is_file():
                problems.append(f"{folder}{name}: feed is missing")
                continue
            try:
                counts = Counter(site_path(link, site_url) for link in feed_links(path))
            except (ValueError, KeyError, TypeError, ElementTree.ParseError) as error:
                problems.append(f"{folder}{name}: cannot be read ({error})")
                continue
            for url in sorted(expected):
                if counts[url] != 1:
                    problems.append(f"{folder}{name}: '{url}' appears {counts[url]} times, not once")
            for url in sorted(set(counts) - expected):
                why = "is not published" if url in hidden_urls else "does not belong there"
                problems.append(f"{folder}{name}: holds '{url}', which {why}")
    return problems


def check_sitemap(site_dir: Path, catalog: Catalog, hidden: list[Story], site_url: str) -> list[str]:
    path = site_dir / "sitemap.xml"
    # Without site_url MkDocs writes an empty sitemap: there is no page address to list.
    if not path.is_file() or not site_url:
        return []
    locs = [site_path(loc.text or "", site_url)
            for loc in ElementTree.fromstring(path.read_bytes()).iter(f"{SITEMAP}loc")]
    counts = Counter(locs)
    problems = [f"sitemap.xml: '{s.url}' appears {counts[s.url]} times, not once"
                for s in catalog.stories if counts[s.url] != 1]
    problems += [f"sitemap.xml: lists '{s.url}', which is not published" for s in hidden
                 if counts[s.url]]
    return problems


def check_search(site_dir: Path, catalog: Catalog, hidden: list[Story]) -> list[str]:
    """Each published story page is indexed once; no unpublished one is (Pagefind fragments)."""
    if not (site_dir / "pagefind" / "fragment").is_dir():
        return []
    from .search_index import read_fragments

    counts = Counter(story_path(str(f.get("url", ""))) for f in read_fragments(site_dir))
    problems = [f"search index: '{s.url}' is indexed {counts[s.url]} times, not once"
                for s in catalog.stories if counts[s.url] != 1]
    problems += [f"search index: holds '{s.url}', which is not published" for s in hidden
                 if counts[s.url]]
    return problems


def check(site_dir: Path, catalog: Catalog, hidden: Iterable[Story], *, site_url: str = "",
          feed_size: int = 50) -> list[str]:
    """Every way a published story can be lost, duplicated or misplaced, and every trace of a
    story that is not published, as one message per problem (empty when all is well)."""
    hidden = [s for s in hidden if s.slug not in catalog.by_slug]
    known = {s.url for s in catalog.stories} | {s.url for s in hidden}
    problems = check_story_pages(site_dir, catalog.stories)
    for listing in listings(catalog, site_dir):
        problems += check_listing(site_dir, listing, known)
    problems += check_hidden(site_dir, hidden)
    problems += check_feeds(site_dir, catalog, hidden, site_url, feed_size)
    problems += check_sitemap(site_dir, catalog, hidden, site_url)
    problems += check_search(site_dir, catalog, hidden)
    return problems


def format_problems(problems: list[str]) -> str:
    """The build error: how many, then each problem on its own line."""
    lines = [f"StoryHub conservation check: {len(problems)} problem(s) in the built site:"]
    lines += [f"  {p}" for p in problems[:MAX_SHOWN]]
    if len(problems) > MAX_SHOWN:
        lines.append(f"  ... and {len(problems) - MAX_SHOWN} more")
    return "\n".join(lines)
