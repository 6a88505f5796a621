"""Search in the real headless Chromium, on a built site served over HTTP from a sub-path.

These tests never skip: without Chromium they fail and say how to install it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import site_browser
from conftest import Project

SUB = "intranet/stories/"  # the site is served below this path, not at the server root


def build_site(root: Path, shard_size: int | None = None) -> Path:
    """A small site: four 'onboarding' stories in three teams, a draft, a scheduled story.

    With `shard_size` 2 its index comes in three shards that the page merges: the about page
    and the two newest stories, the next two, the oldest story.
    """
    project = Project(root / "project")
    if shard_size:
        project.config(search_shard_size=shard_size)
    project.story("hr", "2026-03-02-onboarding-buddies", title="Every new hire gets a buddy",
                  authors=["chloe"], kpis=["turnover"], audience="all",
                  body="Our onboarding now pairs each new hire with a zephyrine buddy from Support.")
    project.story("hr", "2026-04-10-onboarding-survey", title="What new hires said about onboarding",
                  authors=["chloe"], kpis=["turnover", "csat"], campaign="spring",
                  audience="managers", body="The onboarding survey asked forty people.")
    project.story("support", "2026-03-20-onboarding-calls", title="Onboarding calls cut tickets",
                  authors=["ben"], kpis=["ticket-volume"], featuring=["hr"], audience="all",
                  body="A short onboarding call prevents the first ticket.")
    project.story("marketing", "2025-11-05-onboarding-emails", title="Onboarding emails for customers",
                  authors=["ana"], kpis=["nps"], body="Three onboarding emails, written with Support.")
    project.story("finance", "2026-01-15-budget-review", title="Budget review", authors=["ana"],
                  kpis=["cpa"], body="Numbers, and nothing about new hires.")
    project.story("hr", "2026-02-01-secret-reorg", title="Quokkaplan reorganisation",
                  authors=["chloe"], draft=True, body="Quokkaplan onboarding changes.")
    project.story("hr", "2099-01-01-future-plan", title="Future onboarding plan",
                  authors=["chloe"], body="Nebulith onboarding for the next century.")
    (project.root / "docs" / "about.md").write_text(
        "# About this intranet\n\nA guide to onboarding for everyone.\n", "utf-8")
    serve_root = root / "www"
    project.build(site_dir=serve_root / SUB)
    return serve_root


# Every test runs on the site with one index and again with the index in shards.
@pytest.fixture(scope="module", params=[None, 2], ids=["one-index", "shards"])
def base_url(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[str]:
    serve_root = build_site(tmp_path_factory.mktemp("search"), request.param)
    with site_browser.serve(serve_root) as url:
        yield url + SUB


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with site_browser.browser() as launched:
        yield launched


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    yield page
    page.close()
    assert not errors, f"JavaScript errors: {errors}"


def searched(page: Any) -> int:
    """How many searches the page has finished (the UI counts them in data-searched)."""
    return int(page.eval_on_selector(".sh-search", "el => el.dataset.searched || 0"))


def wait_for_search(page: Any, after: int = 0) -> None:
    page.wait_for_function(
        "n => Number(document.querySelector('.sh-search').dataset.searched || 0) > n",
        arg=after, timeout=10_000)


def open_search(page: Any, base_url: str, query: str = "") -> None:
    page.goto(f"{base_url}search/{query}")
    wait_for_search(page)


def hits(page: Any) -> list[str]:
    return [h.inner_text() for h in page.query_selector_all(".sh-hit__title a")]


def status(page: Any) -> str:
    return str(page.inner_text(".sh-search__status"))


def test_a_query_finds_the_story_and_links_to_it(page: Any, base_url: str) -> None:
    open_search(page, base_url, "?q=zephyrine")
    assert hits(page) == ["Every new hire gets a buddy"]
    assert status(page) == "1 result for “zephyrine”"
    excerpt = page.inner_html(".sh-hit__excerpt")
    assert "<mark>zephyrine</mark>" in excerpt
    page.click(".sh-hit__title a")
    page.wait_for_load_state()
    assert page.url == f"{base_url}stories/onboarding-buddies/"
    assert page.inner_text("h1") == "Every new hire gets a buddy"


def test_typing_searches_and_a_filter_narrows_the_results(page: Any, base_url: str) -> None:
    open_search(page, base_url)
    before = searched(page)
    page.fill("#sh-search-q", "onboarding")
    wait_for_search(page, before)
    # Four published stories and the hand-written about page; not the draft or the scheduled one.
    assert sorted(hits(page)) == ["About this intranet", "Every new hire gets a buddy",
                                  "Onboarding calls cut tickets", "Onboarding emails for customers",
                                  "What new hires said about onboarding"]
    assert page.url == f"{base_url}search/?q=onboarding"
    assert page.inner_text("select[name=team] option[value=hr]") == "People & HR (2)"

    before = searched(page)
    page.select_option("select[name=team]", "hr")
    wait_for_search(page, before)
    assert sorted(hits(page)) == ["Every new hire gets a buddy", "What new hires said about onboarding"]
    assert status(page) == "2 results for “onboarding” in People & HR"
    assert [b.inner_text() for b in page.query_selector_all(".sh-hit .sh-team")] == ["People & HR"] * 2
    assert page.url == f"{base_url}search/?q=onboarding&team=hr"

    before = searched(page)
    page.select_option("select[name=kpi]", "csat")
    wait_for_search(page, before)
    assert hits(page) == ["What new hires said about onboarding"]
    assert page.url == f"{base_url}search/?q=onboarding&team=hr&kpi=csat"


def test_a_shared_url_restores_the_query_and_the_filter(page: Any, base_url: str) -> None:
    open_search(page, base_url, "?q=onboarding&team=hr")
    assert page.input_value("#sh-search-q") == "onboarding"
    assert page.input_value("select[name=team]") == "hr"
    assert page.input_value(".sh-header-search input") == "onboarding"
    # Counts keep the query: picking Customer Support instead would give one result.
    assert page.inner_text("select[name=team] option[value=support]") == "Customer Support (1)"
    assert page.inner_text("select[name=team] option[value=hr]") == "People & HR (2)"
    assert page.inner_text("select[name=team] option[value=finance]") == "Finance (0)"
    assert page.inner_text("select[name=kpi] option[value=csat]") == "Customer satisfaction (1)"
    assert sorted(hits(page)) == ["Every new hire gets a buddy", "What new hires said about onboarding"]
    assert status(page) == "2 results for “onboarding” in People & HR"


def test_year_and_campaign_filters(page: Any, base_url: str) -> None:
    open_search(page, base_url, "?q=onboarding&year=2025")
    assert hits(page) == ["Onboarding emails for customers"]
    open_search(page, base_url, "?q=onboarding&campaign=spring&audience=managers")
    assert hits(page) == ["What new hires said about onboarding"]


def test_filters_alone_list_stories_newest_first(page: Any, base_url: str) -> None:
    open_search(page, base_url, "?team=hr")
    assert hits(page) == ["What new hires said about onboarding", "Every new hire gets a buddy"]
    assert status(page) == "2 results in People & HR"
    open_search(page, base_url, "?year=2026")  # across all three shards
    assert hits(page) == ["What new hires said about onboarding", "Onboarding calls cut tickets",
                          "Every new hire gets a buddy", "Budget review"]


@pytest.mark.parametrize("word", ["quokkaplan", "nebulith"])
def test_drafts_and_scheduled_stories_are_not_found(page: Any, base_url: str, word: str) -> None:
    open_search(page, base_url, f"?q={word}")
    assert hits(page) == []
    assert status(page).startswith("No stories match")


def test_the_header_search_box_leads_to_the_search_page(page: Any, base_url: str) -> None:
    page.goto(f"{base_url}stories/onboarding-calls/")
    assert page.query_selector(".md-search") is None  # Material's own search is not used
    page.fill(".sh-header-search input", "zephyrine")
    page.press(".sh-header-search input", "Enter")
    page.wait_for_url(f"{base_url}search/?q=zephyrine")
    wait_for_search(page)
    assert hits(page) == ["Every new hire gets a buddy"]


def test_search_makes_no_request_outside_the_site(page: Any, base_url: str) -> None:
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    open_search(page, base_url, "?q=onboarding&team=hr")
    assert any("/pagefind/" in url for url in requests)
    assert [url for url in requests if not url.startswith(base_url)] == []


def test_author_names_are_searchable_and_excerpts_skip_the_header(page: Any, base_url: str) -> None:
    open_search(page, base_url, "?q=okafor")
    assert hits(page) == ["Onboarding calls cut tickets"]
    open_search(page, base_url, "?q=prevents")
    # The whole (short) story, without the date, reading time and author line of its header.
    assert page.inner_text(".sh-hit__excerpt") == (
        "Onboarding calls cut tickets. A short onboarding call prevents the first ticket. "
        "By Ben Okafor.")
