"""Reproducible output: the dates MkDocs would take from the clock come from the stories.

MkDocs gives every page `update_date = today` (or the `SOURCE_DATE_EPOCH` day); the sitemap
prints it as `<lastmod>` and `sitemap.xml.gz` stores the newest one as its gzip header time.
Two builds on different days would differ. Instead a story page is dated by its story, and
every other page by `SOURCE_DATE_EPOCH` when it is set, else by the newest published story.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from .model import Story

# With no story and no SOURCE_DATE_EPOCH there is no date to derive: use the epoch, a
# constant, rather than the clock.
NO_DATE = "1970-01-01"


def source_date(environ: Mapping[str, str]) -> str | None:
    """The day of SOURCE_DATE_EPOCH (UTC) when it is set to a valid number, else None."""
    value = environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not value.isdigit():
        return None
    return datetime.fromtimestamp(int(value), UTC).strftime("%Y-%m-%d")


def page_date(story: Story | None, newest: Story | None, environ: Mapping[str, str]) -> str:
    """The `update_date` (YYYY-MM-DD) of a page: its story's day, else the site's date."""
    if story is not None:
        return story.date.strftime("%Y-%m-%d")  # in the site's time zone, as the page shows it
    fixed = source_date(environ)
    if fixed:
        return fixed
    return newest.date.strftime("%Y-%m-%d") if newest else NO_DATE
