"""Reproducible builds: the same input gives byte-identical output, whenever it is built."""

from __future__ import annotations

import gzip
import shutil
import struct
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import lxml.etree
import mkdocs.utils
import pytest

from conftest import Built, Project, differences, snapshot

REPO = Path(__file__).resolve().parent.parent
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def png(color: str) -> bytes:
    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    Image.new("RGB", (640, 360), color).save(buffer, "PNG")
    return buffer.getvalue()


def rich_corpus(project: Project) -> None:
    """Covers, inline images, a campaign, a newsletter, drafts, a scheduled story, pages of 2."""
    project.config(page_size=2)
    project.add("marketing/images/cover.png", png("#9c2b00"))
    project.add("support/images/chart.png", png("#00695c"))
    project.story("marketing", "2026-03-02-launch", title="Launch day", authors=["ana"], featured=True,
                  kpis=["nps", "csat"], campaign="spring", featuring=["support"], tags=["launch"],
                  cover="images/cover.png", cover_alt="An orange square",
                  results={"nps": "+6"}, inspired_by=[{"team": "support", "note": "Ticket trends"}])
    project.story("support", "2026-02-11-tickets", title="Ticket trends", authors=["ben"], kpis=["csat"],
                  body="Intro.\n\n![A green chart](images/chart.png)\n\nMore text.")
    project.story("hr", "2026-01-15-people", title="People first", authors=["chloe"], kpis=["turnover"])
    project.story("hr", "2025-11-03-older", title="An older one", authors=["chloe"])
    project.story("hr", "2026-01-16-draft", title="Draft", authors=["chloe"], draft=True)
    project.story("hr", "2099-01-01-later", title="Later", authors=["chloe"])


def build_into(project: Project, name: str) -> Built:
    return project.build(site_dir=project.root / name)


def test_two_builds_at_different_times_are_byte_identical(project: Project,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    rich_corpus(project)
    first = build_into(project, "site-a")
    time.sleep(1.1)  # anything taken from the clock at second resolution would now differ
    # MkDocs' own clock (page dates, sitemap, gzip header) moved three days on; the cache is warm.
    later = datetime.now(UTC) + timedelta(days=3)
    monkeypatch.setattr(mkdocs.utils, "get_build_datetime", lambda: later)
    second = build_into(project, "site-b")
    files = snapshot(first.site)
    assert len(files) > 50
    assert {"sitemap.xml", "sitemap.xml.gz", "feeds/all/rss.xml", "stories/launch/index.html"} <= set(files)
    assert differences(first.site, second.site) == []


def test_a_cold_cache_gives_the_same_bytes_as_a_warm_one(project: Project,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    rich_corpus(project)
    warm_up = build_into(project, "site-a")
    shutil.rmtree(project.root / ".cache")
    cold = build_into(project, "site-b")
    again = build_into(project, "site-c")
    assert differences(warm_up.site, cold.site) == []
    assert differences(cold.site, again.site) == []


def sitemap_dates(built: Built) -> dict[str, str]:
    root = lxml.etree.fromstring(built.path("sitemap.xml").read_bytes())
    return {url.findtext(f"{SITEMAP}loc"): url.findtext(f"{SITEMAP}lastmod")
            for url in root.iter(f"{SITEMAP}url")}


def gzip_mtime(path: Path) -> int:
    header = path.read_bytes()[:10]
    assert header[:2] == b"\x1f\x8b"
    return int(struct.unpack("<I", header[4:8])[0])


def test_sitemap_dates_come_from_the_stories(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    rich_corpus(project)
    built = project.build()
    dates = sitemap_dates(built)
    base = "https://intranet.example.com/stories/"
    assert dates[f"{base}stories/launch/"] == "2026-03-02"
    assert dates[f"{base}stories/tickets/"] == "2026-02-11"
    assert dates[f"{base}stories/older/"] == "2025-11-03"
    # Every other page carries the newest published story's day.
    others = {loc: day for loc, day in dates.items() if "/stories/stories/" not in loc}
    assert others and set(others.values()) == {"2026-03-02"}
    assert f"{base}stories/draft/" not in dates and f"{base}stories/later/" not in dates
    gz = built.path("sitemap.xml.gz")
    assert gzip.decompress(gz.read_bytes()) == built.path("sitemap.xml").read_bytes()
    assert gzip_mtime(gz) == int(datetime(2026, 3, 2, tzinfo=UTC).timestamp())


def test_source_date_epoch_dates_the_pages_that_are_not_stories(project: Project,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(datetime(2026, 6, 1, 12, tzinfo=UTC).timestamp())))
    rich_corpus(project)
    built = project.build()
    dates = sitemap_dates(built)
    base = "https://intranet.example.com/stories/"
    assert dates[f"{base}stories/launch/"] == "2026-03-02"
    assert dates[f"{base}teams/hr/"] == "2026-06-01"
    assert dates[base] == "2026-06-01"
    assert gzip_mtime(built.path("sitemap.xml.gz")) == int(datetime(2026, 6, 1, tzinfo=UTC).timestamp())


def test_a_site_without_stories_takes_no_date_from_the_clock(project: Project,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    built = project.build()
    assert set(sitemap_dates(built).values()) == {"1970-01-01"}
    assert gzip_mtime(built.path("sitemap.xml.gz")) == 0


def test_the_example_site_builds_byte_identically_twice(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    root = tmp_path / "example"
    root.mkdir()
    shutil.copy(REPO / "mkdocs.yml", root / "mkdocs.yml")
    for folder in ("stories", "docs"):
        shutil.copytree(REPO / folder, root / folder)
    project = Project.__new__(Project)  # the example as it is, without the test registries
    project.root = root
    first = project.build(site_dir=tmp_path / "site-a")
    time.sleep(1.1)
    monkeypatch.setattr(mkdocs.utils, "get_build_datetime", lambda: datetime.now(UTC) + timedelta(days=40))
    second = project.build(site_dir=tmp_path / "site-b")
    assert len(snapshot(first.site)) > 100
    assert differences(first.site, second.site) == []
