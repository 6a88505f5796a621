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

import json
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from lxml import etree
from markupsafe import escape

from .catalog import Catalog
from .model import Story
from .search_index import bundles, read_fragments

ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
# The build's own feeds and sitemap: no entities to resolve, nothing to fetch.
_XML = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
FEED_FILES = ("rss.xml", "atom.xml", "feed.json")
MAX_SHOWN = 200  # violations listed in the build error; the rest are counted

# Pages are scanned as bytes: decoding them costs as much as the scanning itself.
_LISTING = re.compile(rb"<([a-zA-Z][a-zA-Z0-9]*)\b[^>]*\sdata-sh-listing\b[^>]*>")
# A relative link to a story page: (attributes, '../' climbs, slug, more attributes).
_STORY_LINK = re.compile(
    rb'<a\b([^>]*?)\shref="((?:\.\./)*)stories/([a-z0-9-]+)/(?:index\.html)?(?:#[^"]*)?"([^>]*)>'
)
_PAGED = re.compile(r"^(.*/)page/\d+/$")
_H1 = re.compile(rb"<h1\b[^>]*>(.*?)</h1>", re.S)
_TAG_RE_CACHE: dict[bytes, re.Pattern[bytes]] = {}


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


def _closing(tag: bytes) -> re.Pattern[bytes]:
    if tag not in _TAG_RE_CACHE:
        _TAG_RE_CACHE[tag] = re.compile(rb"<(/?)" + tag + rb"\b[^>]*>", re.I)
    return _TAG_RE_CACHE[tag]


def listing_regions(text: bytes) -> Iterator[bytes]:
    """The inner HTML of every element marked `data-sh-listing`."""
    for match in _LISTING.finditer(text):
        depth = 1
        for tag in _closing(match.group(1)).finditer(text, match.end()):
            depth += -1 if tag.group(1) else 1
            if depth == 0:
                yield text[match.end(): tag.start()]
                break


def linked_stories(region: bytes, depth: int) -> Iterator[str]:
    """Site paths of the story pages that a region links, one per visible link.

    `depth` is how many folders below the site root the page is: a link reaches a story
    only if it climbs exactly that many `../` (pages link relatively). A card links its story
    twice (cover and title); the cover link is `aria-hidden`, a duplicate by design.
    """
    for match in _STORY_LINK.finditer(region):
        if b'aria-hidden="true"' in match.group(1) + match.group(4):
            continue
        if len(match.group(2)) // 3 == depth:
            yield f"stories/{match.group(3).decode()}/"


def listing_base(path: str) -> str:
    """The listing a page belongs to: 'teams/hr/page/2/index.html' -> 'teams/hr/'."""
    folder = path[: -len("index.html")] if path.endswith("index.html") else path
    paged = _PAGED.match(folder)
    return paged.group(1) if paged else folder


def _pages(site_dir: Path, bases: Iterable[str], stories: Iterable[Story], everything: bool) -> list[str]:
    """Site paths of the HTML files to read: every page, or only story and listing pages."""
    if everything:  # os.walk: half the time of Path.rglob over thousands of folders
        cut = len(str(site_dir)) + 1
        return sorted(os.path.join(base, name)[cut:].replace(os.sep, "/")
                      for base, _, names in os.walk(site_dir) for name in names
                      if name.endswith(".html"))
    found = {f"{s.url}index.html" for s in stories}
    for base in bases:
        found.add(f"{base}index.html")
        found.update(p.relative_to(site_dir).as_posix()
                     for p in (site_dir / base / "page").glob("*/index.html"))
    return sorted(found)


def check_pages(site_dir: Path, catalog: Catalog, hidden: list[Story]) -> list[str]:
    """Story pages, listings and links to unpublished stories, reading each page once."""
    stories = {f"{s.url}index.html": s for s in catalog.stories}
    wanted = {listing.base: listing for listing in listings(catalog, site_dir)}
    counts: dict[str, Counter[str]] = {base: Counter() for base in wanted}
    present: set[str] = set()
    known = {s.url for s in catalog.stories} | {s.url for s in hidden}
    hidden_link = re.compile(rb'href="[^"]*stories/(' + b"|".join(re.escape(s.slug.encode())
                                                                 for s in hidden)
                             + rb')/(?:index\.html)?[#"]') if hidden else None
    problems = [f"{s.url}: '{s.slug}' is not published but has a page" for s in hidden
                if (site_dir / s.url).exists()]
    read: set[str] = set()
    for path in _pages(site_dir, wanted, catalog.stories, everything=bool(hidden)):
        page = site_dir / path
        if not page.is_file():
            continue
        text = page.read_bytes()
        read.add(path)
        story = stories.get(path)
        if story is not None:
            headings = _H1.findall(text)
            if len(headings) != 1 or str(escape(story.title)).encode() not in headings[0]:
                problems.append(f"{story.url}: expected one <h1> with the title of '{story.slug}', "
                                f"found {len(headings)} <h1>")
        base = listing_base(path)
        if base in wanted:
            if path == f"{base}index.html":
                present.add(base)
            depth = path.count("/")
            for region in listing_regions(text):
                counts[base].update(u for u in linked_stories(region, depth) if u in known)
        if hidden_link is not None:
            for slug in sorted(set(hidden_link.findall(text))):
                problems.append(f"{path}: links '{slug.decode()}', which is not published")
    problems += [f"{s.url}: the page of '{s.slug}' is missing" for path, s in stories.items()
                 if path not in read]
    for base, listing in wanted.items():
        if base not in present:
            problems += [f"{base}: listing page is missing"] if listing.required else []
            continue
        expected = {s.url for s in listing.stories}
        problems += [f"{base}: '{s.slug}' is listed {counts[base][s.url]} times across its pages, "
                     "not once" for s in listing.stories if counts[base][s.url] != 1]
        problems += [f"{base}: lists '{url}', which does not belong there"
                     for url in sorted(set(counts[base]) - expected)]
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
    # lxml rather than the standard library: it parsed the 64 feeds of 1,000 stories in
    # 0.12 s instead of 0.19 s, at the end of the build.
    root = etree.fromstring(path.read_bytes(), _XML)
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
            except (ValueError, KeyError, TypeError, etree.XMLSyntaxError) as error:
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
            for loc in etree.fromstring(path.read_bytes(), _XML).iter(f"{SITEMAP}loc")]
    counts = Counter(locs)
    problems = [f"sitemap.xml: '{s.url}' appears {counts[s.url]} times, not once"
                for s in catalog.stories if counts[s.url] != 1]
    problems += [f"sitemap.xml: lists '{s.url}', which is not published" for s in hidden
                 if counts[s.url]]
    return problems


def check_search(site_dir: Path, catalog: Catalog, hidden: list[Story]) -> list[str]:
    """Each published story page is indexed once; no unpublished one is (Pagefind fragments)."""
    if not bundles(site_dir):
        return []
    counts = Counter(story_path(str(f.get("url", ""))) for f in read_fragments(site_dir))
    problems = [f"search index: '{s.url}' is indexed {counts[s.url]} times, not once"
                for s in catalog.stories if counts[s.url] != 1]
    problems += [f"search index: holds '{s.url}', which is not published" for s in hidden
                 if counts[s.url]]
    return problems


def check(site_dir: Path, catalog: Catalog, hidden: Iterable[Story], *, site_url: str = "",
          feed_size: int = 50, search_ready: Callable[[], object] = lambda: None) -> list[str]:
    """Every way a published story can be lost, duplicated or misplaced, and every trace of a
    story that is not published, as one message per problem (empty when all is well).

    `search_ready()` is called before the search index is checked: the index may still be
    being written while the rest is checked."""
    hidden = [s for s in hidden if s.slug not in catalog.by_slug]
    problems = check_pages(site_dir, catalog, hidden)
    problems += check_feeds(site_dir, catalog, hidden, site_url, feed_size)
    problems += check_sitemap(site_dir, catalog, hidden, site_url)
    search_ready()
    problems += check_search(site_dir, catalog, hidden)
    return problems


def format_problems(problems: list[str]) -> str:
    """The build error: how many, then each problem on its own line."""
    lines = [f"StoryHub conservation check: {len(problems)} problem(s) in the built site:"]
    lines += [f"  {p}" for p in problems[:MAX_SHOWN]]
    if len(problems) > MAX_SHOWN:
        lines.append(f"  ... and {len(problems) - MAX_SHOWN} more")
    return "\n".join(lines)
