"""Check every feed and newsletter digest of a built site against the stories (a release check).

    python scripts/check_feeds.py SITE_DIR [--config mkdocs.yml]

Which stories belong in which feed is worked out here again from the story files, with plain
rules written independently of `catalog.py`, so that a mistake in the indexes shows up as a
difference. Feeds are parsed with feedparser (no `bozo`) and lxml, JSON Feed with `json`
against the required fields of JSON Feed 1.1; digests are parsed with lxml.html.
Prints one line per problem and a summary; exits 1 when anything is wrong.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import feedparser
import lxml.etree
import lxml.html
from mkdocs.config import load_config

from storyhub import load, validate
from storyhub.model import Story

FILES = ("rss.xml", "atom.xml", "feed.json")


def published_stories(root: Path, options: Any, tz: ZoneInfo) -> tuple[Any, list[Story]]:
    stories_dir = (root / options["stories_dir"]).resolve()
    checked = validate.validate(load.load_all(stories_dir, root, options["max_story_bytes"]),
                                stories_dir, root, tz)
    if checked.errors:
        sys.exit("the stories have errors; run `storyhub check` first")
    now = datetime.now(UTC)
    live = [s for s in checked.stories if not s.draft and s.date <= now]
    return checked.registry, sorted(live, key=lambda s: (s.date, s.slug), reverse=True)


def expected_feeds(registry: Any, stories: list[Story]) -> dict[str, list[Story]]:
    """Feed folder -> the stories that belong, newest first, by the rules of the issue."""
    def team_rule(team: str) -> Any:
        return lambda s: s.team == team or team in s.featuring

    def kpi_rule(kpi: str) -> Any:
        return lambda s: kpi in s.kpis

    def campaign_rule(campaign: str) -> Any:
        return lambda s: s.campaign == campaign

    rules: dict[str, Any] = {"feeds/all/": lambda s: True}
    rules |= {f"feeds/teams/{t}/": team_rule(t) for t in registry.teams}
    rules |= {f"feeds/kpis/{k}/": kpi_rule(k) for k in registry.kpis}
    rules |= {f"feeds/campaigns/{c}/": campaign_rule(c) for c in registry.campaigns}
    for letter in registry.newsletters.values():
        parts = [*map(team_rule, letter.teams), *map(kpi_rule, letter.kpis),
                 *map(campaign_rule, letter.campaigns)]
        rules[f"feeds/newsletters/{letter.id}/"] = \
            lambda s, parts=parts: any(rule(s) for rule in parts)
    return {path: [s for s in stories if rule(s)] for path, rule in rules.items()}


def absolute(url: str | None) -> bool:
    return bool(url) and bool(urlsplit(url).scheme) and (urlsplit(url).scheme in
                                                          ("mailto", "tel") or bool(urlsplit(url).netloc))


def html_urls(fragment: str) -> list[str]:
    if not fragment.strip():
        return []
    tree = lxml.html.fragment_fromstring(fragment, create_parent="div")
    found = [e.get(a) for a in ("href", "src") for e in tree.iter() if e.get(a) is not None]
    for element in tree.iter():
        for candidate in (element.get("srcset") or "").split(","):
            if candidate.strip():
                found.append(candidate.split()[0])
    return found


class Checker:
    def __init__(self, site: Path, base: str):
        self.site = site
        self.base = base
        self.problems: list[str] = []
        self.sizes: list[int] = []
        self.items = 0

    def fail(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def feed(self, folder: str, expected: list[Story], size: int) -> None:
        want = [f"{self.base}stories/{s.slug}/" for s in expected[:size]]
        ids: dict[str, list[str]] = {}
        for name in FILES:
            path = self.site / folder / name
            if not path.is_file():
                self.fail(folder + name, "missing")
                continue
            data = path.read_bytes()
            self.sizes.append(len(data))
            if name == "feed.json":
                links, ids[name] = self.json_feed(folder + name, data)
            else:
                links, ids[name] = self.xml_feed(folder + name, data)
            if links != want:
                self.fail(folder + name, f"holds {len(links)} items, expected {len(want)}: "
                          f"extra {sorted(set(links) - set(want))}, missing {sorted(set(want) - set(links))}"
                          if set(links) != set(want) else "items out of order")
            self.items += len(links)
        if len({tuple(v) for v in ids.values()}) > 1:
            self.fail(folder, "item ids differ between formats")

    def xml_feed(self, where: str, data: bytes) -> tuple[list[str], list[str]]:
        lxml.etree.fromstring(data)  # raises on anything that is not well-formed XML
        parsed = feedparser.parse(data)
        if parsed.bozo:
            self.fail(where, f"feedparser: {parsed.bozo_exception}")
        for entry in parsed.entries:
            for field in ("id", "title", "link", "published", "updated", "summary"):
                if not entry.get(field):
                    self.fail(where, f"{entry.get('id')}: no {field}")
            if not entry.get("authors") or not entry.get("tags"):
                self.fail(where, f"{entry.get('id')}: no authors or categories")
            if entry.get("published_parsed") is None:
                self.fail(where, f"{entry.get('id')}: published date does not parse")
            content = entry.get("content") or []
            if not content:
                self.fail(where, f"{entry.id}: no full content")
            for block in content:
                for url in html_urls(block.value):
                    if not absolute(url):
                        self.fail(where, f"{entry.id}: relative URL {url!r} in content")
            for enclosure in entry.get("enclosures", []):
                self.enclosure(where, enclosure.get("href"), int(enclosure.get("length") or -1))
        return [e.link for e in parsed.entries], [e.id for e in parsed.entries]

    def json_feed(self, where: str, data: bytes) -> tuple[list[str], list[str]]:
        feed = json.loads(data)
        if feed.get("version") != "https://jsonfeed.org/version/1.1":
            self.fail(where, "version is not JSON Feed 1.1")
        for key in ("title", "items"):
            if key not in feed:
                self.fail(where, f"required '{key}' missing")
        for key in ("home_page_url", "feed_url"):
            if not absolute(feed.get(key)):
                self.fail(where, f"'{key}' is not an absolute URL")
        for item in feed.get("items", []):
            if not isinstance(item.get("id"), str) or not item["id"]:
                self.fail(where, "item without a string id")
            if not (item.get("content_html") or item.get("content_text")):
                self.fail(where, f"{item.get('id')}: no content_html or content_text")
            for key in ("date_published", "date_modified"):
                moment = datetime.fromisoformat(item[key])
                if moment.tzinfo is None:
                    self.fail(where, f"{item['id']}: {key} has no time zone")
            for url in html_urls(item.get("content_html", "")):
                if not absolute(url):
                    self.fail(where, f"{item['id']}: relative URL {url!r} in content_html")
            for attachment in item.get("attachments", []):
                self.enclosure(where, attachment["url"], attachment["size_in_bytes"])
        items = feed.get("items", [])
        return [i.get("url") for i in items], [i.get("id") for i in items]

    def enclosure(self, where: str, url: str | None, length: int) -> None:
        if not url or not url.startswith(self.base):
            self.fail(where, f"enclosure {url!r} is not on this site")
            return
        served = self.site / url[len(self.base):]
        if not served.is_file() or served.stat().st_size != length:
            self.fail(where, f"enclosure {url} length {length} is not the size of the served file")

    def digest(self, folder: str, stories: list[Story]) -> None:
        page = self.site / folder / "index.html"
        text = self.site / folder / "digest.txt"
        if not page.is_file() or not text.is_file():
            self.fail(folder, "digest index.html or digest.txt missing")
            return
        tree = lxml.html.fromstring(page.read_bytes())
        if tree.xpath("//script | //style | //link[@rel='stylesheet']"):
            self.fail(folder, "digest has a script, style element or stylesheet link")
        if not tree.xpath("//table"):
            self.fail(folder, "digest has no table layout")
        for element in tree.iter():
            for attribute in ("href", "src"):
                value = element.get(attribute)
                if value is not None and not absolute(value):
                    self.fail(folder, f"relative URL {value!r}")
        for image in tree.xpath("//img"):
            if not (image.get("alt") or "").strip():
                self.fail(folder, f"image {image.get('src')} has no alt text")
        titles = [h.text_content().strip() for h in tree.xpath("//h2")]
        if titles != [s.title for s in stories]:
            self.fail(folder, f"digest lists {titles}, expected {[s.title for s in stories]}")
        plain = text.read_text("utf-8")
        for story in stories:
            if story.title not in plain or f"{self.base}stories/{story.slug}/" not in plain:
                self.fail(folder + "digest.txt", f"misses {story.title!r}")


def period_key(day: date, cadence: str) -> str:
    if cadence == "weekly":
        iso = day.isocalendar()
        return f"{iso.year}-W{iso.week:02d}"
    return f"{day:%Y-%m}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("site", type=Path)
    parser.add_argument("--config", type=Path, default=Path("mkdocs.yml"))
    args = parser.parse_args()
    config = load_config(str(args.config))
    options = config.plugins["storyhub"].config
    tz = ZoneInfo(options["timezone"])
    registry, stories = published_stories(args.config.resolve().parent, options, tz)
    checker = Checker(args.site, config.site_url or "")
    expected = expected_feeds(registry, stories)
    for folder, belong in expected.items():
        checker.feed(folder, belong, options["feed_size"])
    on_disk = {p.parent.relative_to(args.site).as_posix() + "/"
               for p in (args.site / "feeds").rglob("rss.xml")}
    for stray in sorted(on_disk - set(expected)):
        checker.fail(stray, "feed folder that belongs to nothing in the registries")
    digests = 0
    for letter in registry.newsletters.values():
        periods: dict[str, list[Story]] = {}
        for story in expected[f"feeds/newsletters/{letter.id}/"]:
            key = period_key(story.date.astimezone(tz).date(), letter.cadence)
            periods.setdefault(key, []).append(story)
        for key, belong in periods.items():
            checker.digest(f"newsletters/{letter.id}/{key}/", belong)
            digests += 1
        made = {p.name for p in (args.site / "newsletters" / letter.id).iterdir() if p.is_dir()}
        for stray in sorted(made - set(periods)):
            checker.fail(f"newsletters/{letter.id}/{stray}/", "issue without stories")
    for problem in checker.problems:
        print(problem)
    sizes = checker.sizes
    print(f"{len(expected)} feeds x 3 formats = {len(sizes)} files, {checker.items} items, "
          f"{sum(sizes) / 1024:.0f} KiB in all (smallest {min(sizes)} B, "
          f"largest {max(sizes) / 1024:.0f} KiB); {digests} digests; "
          f"{len(stories)} published stories; {len(checker.problems)} problem(s)")
    sys.exit(1 if checker.problems else 0)


if __name__ == "__main__":
    main()
