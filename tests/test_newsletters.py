"""Newsletters end to end: issues per ISO week or month, standalone email HTML and plain text."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from PIL import Image

from conftest import NEWSLETTERS, SITE_URL, Built, Project, guarding_warnings
from site_browser import browser, serve
from storyhub.model import Newsletter
from storyhub.newsletters import Issue, period

BASE = SITE_URL
INJECTION = 'Tickets <script>alert(1)</script> & "quotes"'
# Wrapped at 72 characters, a break at a hyphen would split the long word across two lines.
HYPHENATED = "Weekend cover moved to a rota, and the team wrote up the " \
             "self-service-portal-rollout notes for everyone."
# Issue -> story titles in it, newest first, written out by hand from the corpus below.
EXPECTED = {
    "newsletters/support-digest/2026-W11/": [INJECTION],
    "newsletters/support-digest/2026-W10/": ["Sunday shift", "CSAT from marketing",
                                             "Week one in support"],
    "newsletters/support-digest/2026-W01/": ["Year-end support"],
    "newsletters/people-monthly/2026-03/": ["HR in March", "Late February post"],
}


def png(color: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (800, 450), color).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    project = Project(tmp_path_factory.mktemp("letters") / "project")
    project.registry("newsletters", [*NEWSLETTERS, {
        "id": "people-monthly", "title": "People monthly", "description": "People news.",
        "teams": ["hr"], "kpis": ["turnover"], "cadence": "monthly"}])
    project.add("support/images/cover.png", png("#00695c"))
    project.story("support", "2026-03-02-week-one", title="Week one in support", authors=["ben"],
                  kpis=["csat"], cover="images/cover.png", cover_alt="Teal cover for support",
                  results={"csat": "CSAT 91%"})
    project.story("support", "2026-03-08-sunday", title="Sunday shift", authors=["ben"],
                  summary=HYPHENATED)
    project.story("marketing", "2026-03-04-csat-from-marketing", title="CSAT from marketing",
                  authors=["ana"], kpis=["csat"])
    project.story("support", "2026-03-09-week-two", title=INJECTION, authors=["ben"],
                  summary='A summary with <b>tags</b> & "quotes".')
    # 31 December 2025 is in ISO week 1 of 2026.
    project.story("support", "2025-12-31-year-end", title="Year-end support", authors=["ben"])
    # 23:30 UTC on 28 February is 00:30 on 1 March in Berlin: the March issue.
    project.story("hr", "2026-02-28-late-february", title="Late February post",
                  authors=["chloe"], date="2026-02-28 23:30:00+00:00")
    project.story("hr", "2026-03-15-hr-in-march", title="HR in March", authors=["chloe"],
                  kpis=["turnover"])
    project.story("hr", "2026-03-20-draft", title="Draft for HR", authors=["chloe"], draft=True)
    project.story("support", "2099-03-02-later", title="Support later", authors=["ben"])
    project.story("finance", "2026-03-03-unrelated", title="Unrelated finance", authors=["ana"])
    with guarding_warnings():
        yield project.build()


def test_periods_are_iso_weeks_and_calendar_months() -> None:
    assert period(date(2025, 12, 31), "weekly") == \
        ("2026-W01", "Week 1, 2026", date(2025, 12, 29), date(2026, 1, 4))
    assert period(date(2026, 3, 8), "weekly")[0] == "2026-W10"  # a Sunday ends its week
    assert period(date(2026, 3, 9), "weekly")[0] == "2026-W11"
    assert period(date(2026, 12, 31), "weekly")[0] == "2026-W53"
    assert period(date(2024, 2, 10), "monthly") == \
        ("2024-02", "February 2024", date(2024, 2, 1), date(2024, 2, 29))
    assert period(date(2026, 12, 5), "monthly")[3] == date(2026, 12, 31)


def test_issue_span_reads_naturally() -> None:
    letter = Newsletter("x", "X")
    assert Issue(letter, "k", "l", date(2026, 3, 2), date(2026, 3, 8), ()).span == "2–8 March 2026"
    assert Issue(letter, "k", "l", date(2026, 8, 31), date(2026, 9, 6), ()).span == \
        "31 August – 6 September 2026"
    assert Issue(letter, "k", "l", date(2025, 12, 29), date(2026, 1, 4), ()).span == \
        "29 December 2025 – 4 January 2026"


def test_each_period_with_stories_is_one_issue_holding_exactly_them(built: Built) -> None:
    made = sorted(p.parent.relative_to(built.site).as_posix() + "/"
                  for p in (built.site / "newsletters").glob("*/*/index.html"))
    assert made == sorted(EXPECTED)
    for issue, titles in EXPECTED.items():
        page = built.html(issue)
        assert [h.text_content().strip() for h in page.xpath("//h2")] == titles, issue


def test_digest_is_standalone_email_html(built: Built) -> None:
    for issue in EXPECTED:
        source = built.text(issue)
        page = built.html(issue)
        assert source.startswith("<!DOCTYPE html>")
        # Nothing an email client would drop or block: no scripts, style sheets or classes.
        assert page.xpath("//script | //style | //link | //iframe | //form") == []
        assert page.xpath("//@class") == []
        assert "md-" not in source and "assets/" not in source
        # Table layout, styled inline.
        assert page.xpath("/html/body/table[@role='presentation']//table[@width='600']")
        assert page.xpath("//body/@style") and page.xpath("//td[@style]")
        for element in page.iter():
            for attribute in ("href", "src"):
                value = element.get(attribute)
                if value is not None:
                    assert value.startswith(BASE), (issue, value)
        for image in page.xpath("//img"):
            assert image.get("alt"), image.get("src")


def test_digest_links_covers_and_results(built: Built) -> None:
    page = built.html("newsletters/support-digest/2026-W10/")
    assert page.xpath("//title")[0].text == "Support digest: Week 10, 2026"
    assert "Week 10, 2026 · 2–8 March 2026" in page.text_content()
    story = page.xpath("//h2[a='Week one in support']/a")[0]
    assert story.get("href") == BASE + "stories/week-one/"
    image = page.xpath("//img")[0]
    assert image.get("alt") == "Teal cover for support"
    assert image.get("src").startswith(BASE + "media/support/images/")
    assert (built.site / image.get("src")[len(BASE):]).is_file()
    assert "CSAT 91%" in page.text_content()
    assert page.xpath("//a[.='View this issue in your browser']/@href") == \
        [BASE + "newsletters/support-digest/2026-W10/"]
    assert page.xpath("//a[.='plain text']/@href") == \
        [BASE + "newsletters/support-digest/2026-W10/digest.txt"]
    assert page.xpath("//a[.='RSS']/@href") == [BASE + "feeds/newsletters/support-digest/rss.xml"]


def test_front_matter_is_escaped_in_the_digest(built: Built) -> None:
    source = built.text("newsletters/support-digest/2026-W11/")
    page = built.html("newsletters/support-digest/2026-W11/")
    assert page.xpath("//script") == [] and page.xpath("//b") == []
    assert "Tickets &lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;quotes&#34;" in source
    assert page.xpath("//h2")[0].text_content() == INJECTION
    assert 'A summary with <b>tags</b> & "quotes".' in page.text_content()


def test_plain_text_digest_beside_each_issue(built: Built) -> None:
    for issue, titles in EXPECTED.items():
        text = built.text(issue + "digest.txt")
        # No markup of ours; front-matter text is written as it is (plain text needs no escaping).
        assert not any(tag in text for tag in ("<p>", "<a ", "<h2", "<table", "&amp;", "&lt;"))
        positions = [text.index(title) for title in titles]
        assert positions == sorted(positions)
        assert f"Read this issue on the intranet: {BASE}{issue}" in text
    text = built.text("newsletters/support-digest/2026-W10/digest.txt")
    assert text.splitlines()[0] == "Support digest: Week 10, 2026 (2–8 March 2026)"
    assert f"Read the story: {BASE}stories/week-one/" in text
    assert "Results:" in text and "- Customer satisfaction: CSAT 91%" in text
    # Prose is wrapped for email; only lines holding a URL (which must not break) are longer.
    assert all(len(line) <= 72 for line in text.splitlines() if "://" not in line)
    assert "\n   self-service-portal-rollout notes for everyone.\n" in text  # whole words
    text = built.text("newsletters/support-digest/2026-W11/digest.txt")
    assert f"1. {INJECTION}" in text and 'A summary with <b>tags</b> & "quotes".' in text


def test_newsletter_pages_list_newsletters_and_issues(built: Built) -> None:
    index = built.html("newsletters/")
    assert index.xpath("//h2/a/text()") == ["Support digest", "People monthly"]
    page = built.html("newsletters/support-digest/")
    assert page.xpath("//h1")[0].text_content() == "Support digest"
    assert page.xpath("//li[@class='sh-issue']/h3/a/text()") == \
        ["Week 11, 2026", "Week 10, 2026", "Week 1, 2026"]
    assert page.xpath("//li[@class='sh-issue']/h3/a/@href") == ["2026-W11/", "2026-W10/", "2026-W01/"]
    assert page.xpath("//a[.='Plain text']/@href")[0] == "2026-W11/digest.txt"
    everything = "".join(p.read_text("utf-8") for p in (built.site / "newsletters").rglob("*.*"))
    for hidden in ("Draft for HR", "Support later", "Unrelated finance"):
        assert hidden not in everything


def test_digest_renders_in_chromium_on_desktop_and_phone(built: Built) -> None:
    """Covers load and nothing is wider than a phone: absolute URLs are served locally."""
    with serve(built.site) as local, browser() as chromium:
        for width in (1280, 390):
            page = chromium.new_page(viewport={"width": width, "height": 800})
            outside: list[str] = []

            def route(request: Any, outside: list[str] = outside) -> None:
                url = request.request.url
                if url.startswith(BASE):  # the intranet's address, answered from the build
                    request.fulfill(path=str(built.path(url[len(BASE):])))
                elif url.startswith(local):
                    request.continue_()
                else:
                    outside.append(url)
                    request.abort()

            page.route("**/*", route)
            page.goto(local + "newsletters/support-digest/2026-W10/")
            page.wait_for_load_state("networkidle")
            assert outside == []
            assert page.evaluate("document.images[0].naturalWidth") > 0
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            card = page.evaluate("document.querySelector('table[width=\"600\"]')"
                                 ".getBoundingClientRect().width")
            assert card == (600 if width > 600 else width - 24)
            page.close()


def test_digest_lines_are_textwraps_lines_at_spaces_only() -> None:
    """The digests' own wrapping gives exactly textwrap's lines (broken at spaces only), for
    texts with long words, runs of spaces, tabs and newlines too (those go to textwrap)."""
    import random
    import textwrap

    from storyhub.newsletters import TEXT_WIDTH, _wrap

    words = ["a", "word", "hyphen-ated", "https://intranet.example.com/stories/a-story/",
             "x" * 66, "x" * 69, "y" * 75, "é", "ünïcode", "", "tab\tbed", "new\nline"]
    chance = random.Random(27)
    for number in range(3000):
        chosen = chance.choices(words[:9] if number % 3 else words, k=chance.randint(1, 40))
        text = " ".join(chosen)  # mostly words between single spaces, each fitting a line
        indents = chance.choice([("", ""), ("   ", "   "), ("", "   "), ("   ", "     ")])
        expected = textwrap.wrap(text, TEXT_WIDTH, break_on_hyphens=False,
                                 initial_indent=indents[0], subsequent_indent=indents[1])
        assert _wrap(text, *indents) == expected, (text, indents)
