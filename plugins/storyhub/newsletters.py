"""Newsletters: one issue per week or month, each an email-ready digest with a plain-text twin.

A newsletter (``stories/newsletters.yml``) gathers the stories of its teams, KPIs and campaigns
(``Catalog.newsletter_stories``). Its stories are grouped by the period they were published in,
in the site's time zone: ``2026-10`` for a monthly newsletter, the ISO week ``2026-W42`` for a
weekly one. Each period with at least one story is an issue:

- ``newsletters/<id>/<period>/index.html``: standalone email HTML (tables for layout, inline
  styles only, absolute URLs, no scripts or stylesheets), deliberately not wrapped in the site
  theme so that it can be pasted into an email or fetched by a newsletter tool as it is;
- ``newsletters/<id>/<period>/digest.txt``: the same issue as plain text.

``/newsletters/`` and ``/newsletters/<id>/`` are ordinary themed pages listing the issues.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta, tzinfo
from functools import cached_property
from typing import Any

import jinja2

from .feeds import FORMATS, Publisher
from .model import Newsletter, Story
from .pages import PageSpec, Site, human_date

TEXT_WIDTH = 72


@dataclass(frozen=True)
class Issue:
    """One period of a newsletter and the stories published in it, newest first."""

    letter: Newsletter
    key: str  # '2026-10' or '2026-W42'
    label: str  # 'October 2026' or 'Week 42, 2026'
    start: date
    end: date  # inclusive
    stories: tuple[Story, ...]

    @property
    def path(self) -> str:
        return f"newsletters/{self.letter.id}/{self.key}/"

    @property
    def span(self) -> str:
        """The days the issue covers, e.g. '12–18 October 2026'."""
        if self.start.month == self.end.month:
            return f"{self.start.day}–{self.end.day} {self.end:%B %Y}"
        if self.start.year == self.end.year:
            return f"{self.start.day} {self.start:%B} – {self.end.day} {self.end:%B %Y}"
        return f"{self.start.day} {self.start:%B %Y} – {self.end.day} {self.end:%B %Y}"


def period(day: date, cadence: str) -> tuple[str, str, date, date]:
    """(key, label, first day, last day) of the week or month holding `day`."""
    if cadence == "weekly":
        year, week, weekday = day.isocalendar()
        start = day - timedelta(days=weekday - 1)
        return f"{year}-W{week:02d}", f"Week {week}, {year}", start, start + timedelta(days=6)
    start = day.replace(day=1)
    following = (start + timedelta(days=32)).replace(day=1)
    return f"{day:%Y-%m}", f"{day:%B %Y}", start, following - timedelta(days=1)


def issues_of(letter: Newsletter, stories: list[Story], tz: tzinfo) -> list[Issue]:
    """The newsletter's issues, newest first; `stories` are its stories, newest first."""
    grouped: dict[str, list[Story]] = {}
    spans: dict[str, tuple[str, date, date]] = {}
    for story in stories:
        key, label, start, end = period(story.date.astimezone(tz).date(), letter.cadence)
        grouped.setdefault(key, []).append(story)
        spans[key] = (label, start, end)
    return [Issue(letter, key, spans[key][0], spans[key][1], spans[key][2], tuple(grouped[key]))
            for key in sorted(grouped, key=lambda k: spans[k][1], reverse=True)]


class Digests:
    """Newsletter pages and digest files for one build."""

    def __init__(self, publisher: Publisher, tz: tzinfo, env: jinja2.Environment):
        self.publisher = publisher
        self.site = publisher.site
        self.tz = tz
        self.env = env

    @cached_property
    def issues(self) -> dict[str, list[Issue]]:
        catalog = self.site.catalog
        return {letter.id: issues_of(letter, catalog.newsletter_stories(letter.id), self.tz)
                for letter in catalog.registry.newsletters.values()}

    def pages(self, site: Site) -> Iterator[PageSpec]:
        """The /newsletters/ index and one page per newsletter listing its issues."""
        letters = list(site.catalog.registry.newsletters.values())
        yield PageSpec("newsletters/", "Newsletters", "newsletters.html",
                       {"letters": letters, "issues": self.issues},
                       description="Email digests of the stories each audience cares about.")
        for letter in letters:
            yield PageSpec(
                f"newsletters/{letter.id}/", letter.title, "newsletter.html",
                {"letter": letter, "letter_issues": self.issues[letter.id], "formats": FORMATS},
                feed=f"feeds/newsletters/{letter.id}/", description=letter.description,
            )

    def files(self) -> Iterator[tuple[str, str]]:
        """(site path, text) of every issue's email HTML and plain-text digest."""
        for letter_issues in self.issues.values():
            for issue in letter_issues:
                yield f"{issue.path}index.html", self.email_html(issue)
                yield f"{issue.path}digest.txt", self.digest_text(issue)

    def _items(self, issue: Issue) -> list[dict[str, Any]]:
        registry = self.site.catalog.registry
        items = []
        for story in issue.stories:
            rendered = self.site.rendered[story.slug]
            items.append({
                "story": story,
                "url": self.publisher.url(story.url),
                "team": registry.teams[story.team],
                "authors": ", ".join(registry.authors[a].name for a in story.authors),
                "date": human_date(story.date.astimezone(self.tz)),
                "minutes": rendered.minutes,
                "summary": rendered.summary,
                "cover": self.publisher.cover(story),
                "kpis": [(registry.kpis[k].name, story.result_for(k)) for k in story.kpis],
            })
        return items

    def _links(self, issue: Issue) -> dict[str, Any]:
        url = self.publisher.url
        feed = f"feeds/newsletters/{issue.letter.id}/"
        return {
            "issue": url(issue.path),
            "text": url(issue.path + "digest.txt"),
            "letter": url(f"newsletters/{issue.letter.id}/"),
            "home": url(""),
            "feeds": [(label, url(feed + name)) for name, label, _ in FORMATS],
        }

    def email_html(self, issue: Issue) -> str:
        """Standalone email HTML of one issue (Jinja autoescape escapes every story string)."""
        template = self.env.get_template("newsletter_email.html")
        return template.render(site_name=self.site.site_name, letter=issue.letter, issue=issue,
                               items=self._items(issue), links=self._links(issue),
                               language=self.publisher.language or "en")

    def digest_text(self, issue: Issue) -> str:
        """The issue as plain text, wrapped for email."""
        links = self._links(issue)
        count = len(issue.stories)
        lines = [
            f"{issue.letter.title}: {issue.label} ({issue.span})",
            self.site.site_name,
            "",
            *_wrap(issue.letter.description),
            "",
            f"{count} {'story' if count == 1 else 'stories'} in this issue.",
        ]
        for number, item in enumerate(self._items(issue), start=1):
            meta = f"{item['team'].name} · {item['date']} · {item['authors']} · " \
                   f"{item['minutes']} min read"
            lines += ["", "-" * TEXT_WIDTH, ""]
            lines += _wrap(f"{number}. {item['story'].title}", subsequent_indent="   ")
            lines += [*_indented(meta), "", *_indented(item["summary"])]
            results = [line for name, result in item["kpis"] if result
                       for line in _indented(f"- {name}: {result}", "     ")]
            if results:
                lines += ["", "   Results:", *results]
            lines += ["", f"   Read the story: {item['url']}"]
        lines += ["", "-" * TEXT_WIDTH, "",
                  f"Read this issue on the intranet: {links['issue']}",
                  f"All issues of {issue.letter.title}: {links['letter']}",
                  *(f"{label}: {href}" for label, href in links["feeds"]), ""]
        return "\n".join(lines)


def _indented(text: str, following: str = "   ") -> list[str]:
    """`text` wrapped for email, indented under a numbered story."""
    return _wrap(text, initial_indent="   ", subsequent_indent=following)


# The whitespace textwrap also breaks at (and turns into spaces): then it wraps the text.
_OTHER_SPACE = re.compile("[\t\n\x0b\x0c\r]")


def _wrap(text: str, initial_indent: str = "", subsequent_indent: str = "") -> list[str]:
    """Lines of at most TEXT_WIDTH characters, broken at spaces only: not inside a
    hyphenated word or URL (which also makes wrapping 2.5 times faster)."""
    words = text.split(" ")
    room = TEXT_WIDTH - max(len(initial_indent), len(subsequent_indent))
    if _OTHER_SPACE.search(text) or "" in words or max(map(len, words)) > room:
        return textwrap.wrap(text, TEXT_WIDTH, break_on_hyphens=False,
                             initial_indent=initial_indent, subsequent_indent=subsequent_indent)
    # Words between single spaces, each fitting a line: textwrap's lines, twice as fast
    # (its wrapping was an eighth of the time a build spends on feeds and digests).
    lines, line, indent = [], [words[0]], initial_indent
    size = len(indent) + len(words[0])
    for word in words[1:]:
        if size + 1 + len(word) > TEXT_WIDTH:
            lines.append(indent + " ".join(line))
            line, indent = [word], subsequent_indent
            size = len(indent) + len(word)
        else:
            line.append(word)
            size += 1 + len(word)
    lines.append(indent + " ".join(line))
    return lines
