"""Search: the /search/ page, the header search box, and what the Pagefind index holds.

Pagefind (a static, chunked index; its binary ships in the `pagefind_bin` wheel) reads the
built HTML. Only elements marked `data-pagefind-body` are indexed, so only story bodies and
hand-written pages are searchable; listing and taxonomy pages never are. Filters (team, KPI,
campaign, audience, year), the date and its sort key are hidden `data-pagefind-filter` /
`data-pagefind-meta` elements that `templates/_search.html` adds to story pages; the UI is
`assets/search.js` on Pagefind's JavaScript API. `search_index` builds the index itself.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from dataclasses import dataclass

from mkdocs.utils import get_relative_url

from .catalog import Catalog
from .pages import PageSpec, Site
from .search_index import bundle_name, mark_input, shard_count

SEARCH_PATH = "search/"
# Stories per search index shard (search_index.plan_shards), unless mkdocs.yml says otherwise.
SHARD_SIZE = 2000
# (filter key, label) in the order the page shows them; the keys are also the URL parameters.
FACETS: tuple[tuple[str, str], ...] = (
    ("team", "Team"), ("kpi", "KPI"), ("campaign", "Campaign"), ("audience", "Audience"),
    ("year", "Year"),
)


@dataclass(frozen=True)
class FacetOption:
    value: str
    label: str


def facet_options(catalog: Catalog) -> dict[str, list[FacetOption]]:
    """The values each facet can take among published stories, with their display labels."""
    registry = catalog.registry
    stories = catalog.stories
    used_teams = {s.team for s in stories}
    used_kpis = {k for s in stories for k in s.kpis}
    used_campaigns = {s.campaign for s in stories if s.campaign}
    audiences = sorted({s.audience for s in stories if s.audience}, key=str.casefold)
    years = sorted({str(s.date.year) for s in stories}, reverse=True)
    return {
        "team": [FacetOption(t.id, t.name) for t in registry.teams.values() if t.id in used_teams],
        "kpi": [FacetOption(k.id, k.name) for k in registry.kpis.values() if k.id in used_kpis],
        "campaign": [FacetOption(c.id, c.name) for c in registry.campaigns.values()
                     if c.id in used_campaigns],
        "audience": [FacetOption(a, a) for a in audiences],
        "year": [FacetOption(y, y) for y in years],
    }


def search_page(site: Site) -> Iterator[PageSpec]:
    """The /search/ page: a form whose facets list every value found in published stories."""
    options = facet_options(site.catalog)
    teams = {t.id: {"name": t.name, "color": t.color} for t in site.catalog.registry.teams.values()}
    labels = {key: {o.value: o.label for o in opts} for key, opts in options.items()}
    # JSON inside <script>: escape '<' so a label can never close the element.
    data = json.dumps({"teams": teams, "labels": labels}, ensure_ascii=False, sort_keys=True)
    shards = shard_count(len(site.catalog.stories), int(site.extra.get("search_shard_size", SHARD_SIZE)))
    yield PageSpec(SEARCH_PATH, "Search", "search.html", {
        "facets": [(key, label, options[key]) for key, label in FACETS],
        "bundles": [bundle_name(number) + "/" for number in range(1, shards + 1)],
        "search_data": data.replace("<", "\\u003c"),
        "story_count": len(site.catalog.stories),
    }, description="Search every story by words, team, KPI, campaign, audience and year.")


def preload_tags(spec: PageSpec | None, page_url: str) -> list[str]:
    """On the search page, start fetching the scripts a search needs with the page itself."""
    if spec is None or spec.path != SEARCH_PATH:
        return []
    return [f'<link rel="modulepreload" href="{html.escape(get_relative_url(path, page_url))}">'
            for path in ("assets/storyhub/search.js", "pagefind/pagefind.js")]


def mark_page_body(content: str, title: str) -> str:
    """Make a hand-written page searchable: its content becomes a Pagefind body."""
    meta = html.escape(f"title:{title}", quote=True)
    return mark_input(
        f'<div data-pagefind-body><span data-pagefind-meta="{meta}"></span>\n{content}\n</div>')


def header_search(output: str, action: str) -> str:
    """Put a search box that submits to /search/?q= into Material's header."""
    start = output.find('data-md-component="header"')
    end = output.find("</nav>", start) if start >= 0 else -1
    if end < 0:
        return output
    form = (
        f'<form class="sh-header-search" role="search" action="{html.escape(action, quote=True)}">'
        '<input type="search" name="q" placeholder="Search stories" aria-label="Search stories"'
        ' autocomplete="off">'
        '<button type="submit" aria-label="Search" title="Search">'
        '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M9.5 3A6.5 6.5 0 0 1 '
        "16 9.5c0 1.61-.59 3.09-1.56 4.23l.27.27h.79l5 5-1.5 1.5-5-5v-.79l-.27-.27A6.52 6.52 0 0 1 "
        "9.5 16 6.5 6.5 0 0 1 3 9.5 6.5 6.5 0 0 1 9.5 3m0 2C7 5 5 7 5 9.5S7 14 9.5 14 14 12 14 "
        '9.5 12 5 9.5 5"/></svg></button></form>'
    )
    return output[:end] + form + output[end:]
