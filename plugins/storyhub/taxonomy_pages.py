"""The pages that connect departments: teams, KPIs, the connections matrix, inspiration, campaigns.

URLs (each story list is newest first and paginates at `<path>page/N/`):

- `teams/<id>/` stories the team told; page 1 also shows the stories that feature it, that
  it inspired, and its KPIs with the stories of other teams that moved them. The full lists
  of the last two are at `teams/<id>/featuring/` and `teams/<id>/inspired/`.
- `kpis/` every KPI by owner team; `kpis/<id>/` the KPI's stories grouped by telling team.
- `kpis/connections/` the teller x owner matrix; `kpis/connections/<teller>/<owner>/` a cell.
- `inspiration/` who credited whom; `inspiration/<credited>/<crediting>/` one pair.
- `campaigns/` and `campaigns/<id>/`: a timeline in date order (oldest first), paginated
  by story count too.
"""

from __future__ import annotations

from collections.abc import Iterator

from . import taxonomy
from .pages import Pager, PageSpec, Site, listing_pages, paginate
from .taxonomy import Moment

# How many stories a section of the first team page shows before linking to the full list.
TEAM_SECTION_SIZE = 6
# How many stories of other teams each owned KPI shows on its team's page.
TEAM_KPI_SIZE = 3
# How many stories each pair or strong connection shows on the overview pages.
OVERVIEW_SIZE = 5


def team_pages(site: Site) -> Iterator[PageSpec]:
    """The teams overview and, per team, its told stories plus the other sections."""
    catalog = site.catalog
    registry = catalog.registry
    yield PageSpec("teams/", "Teams", "teams.html",
                   {"owned": {team.id: taxonomy.owned_kpis(registry, team.id)
                              for team in registry.teams.values()}})
    for team in registry.teams.values():
        feed = f"feeds/teams/{team.id}/"
        featuring = catalog.featuring.get(team.id, [])
        inspired = catalog.inspired_by.get(team.id, [])
        owned = [(kpi, taxonomy.moved_by_others(catalog.by_kpi.get(kpi.id, []), team.id))
                 for kpi in taxonomy.owned_kpis(registry, team.id)]
        notes = {s.slug: taxonomy.credit_note(s, team.id) for s in inspired}
        sections = {
            "featuring": featuring, "inspired": inspired, "owned": owned, "notes": notes,
            "section_size": TEAM_SECTION_SIZE, "kpi_size": TEAM_KPI_SIZE,
        }
        yield from listing_pages(
            f"teams/{team.id}/", team.name, "team.html", catalog.told_by.get(team.id, []),
            site.page_size, feed=feed, team=team, **sections,
        )
        yield from listing_pages(
            f"teams/{team.id}/featuring/", f"Stories featuring {team.name}", "team_list.html",
            featuring, site.page_size, feed=feed, team=team, kind="featuring", notes={},
        )
        yield from listing_pages(
            f"teams/{team.id}/inspired/", f"Stories inspired by {team.name}", "team_list.html",
            inspired, site.page_size, feed=feed, team=team, kind="inspired", notes=notes,
        )


def kpi_pages(site: Site) -> Iterator[PageSpec]:
    """The KPI overview, and per KPI its stories grouped by telling team."""
    catalog = site.catalog
    registry = catalog.registry
    yield PageSpec("kpis/", "KPIs", "kpis.html", {
        "owners": taxonomy.kpis_by_owner(registry),
    }, description="Every KPI by the team that owns it, and the stories that moved it.")
    for kpi in registry.kpis.values():
        stories = catalog.by_kpi.get(kpi.id, [])
        counts = dict(taxonomy.count_by_team(stories, registry, first=kpi.owner))
        for pager, chunk in paginate(stories, site.page_size, f"kpis/{kpi.id}/"):
            title = kpi.name if pager.number == 1 else f"{kpi.name} (page {pager.number})"
            yield PageSpec(pager.url_of(pager.number), title, "kpi.html", {
                "kpi": kpi, "pager": pager, "total": len(stories), "counts": counts,
                "groups": taxonomy.group_by_team(chunk, registry, first=kpi.owner),
                "others": len(taxonomy.moved_by_others(stories, kpi.owner)),
            }, feed=f"feeds/kpis/{kpi.id}/", description=kpi.description)


def connection_pages(site: Site) -> Iterator[PageSpec]:
    """The matrix of telling teams x KPI owners, and one page per non-empty cell."""
    registry = site.catalog.registry
    matrix = taxonomy.connection_matrix(site.catalog.stories, registry)
    yield PageSpec("kpis/connections/", "KPI connections", "connections.html", {
        "matrix": matrix,
        "short": taxonomy.abbreviations(registry.teams.values()),
        "strongest": matrix.strongest(OVERVIEW_SIZE),
    }, description="Which teams' stories move the KPIs that other teams own.")
    for (teller, owner), stories in matrix.cells.items():
        title = f"{registry.teams[teller].name} stories moving {registry.teams[owner].name} KPIs"
        yield from listing_pages(
            f"kpis/connections/{teller}/{owner}/", title, "connection.html", stories,
            site.page_size, teller=registry.teams[teller], owner=registry.teams[owner],
            matrix=matrix,
        )


def inspiration_pages(site: Site) -> Iterator[PageSpec]:
    """Who credited whom, and one page per (credited, crediting) pair."""
    registry = site.catalog.registry
    pairs = taxonomy.inspiration_pairs(site.catalog.stories, registry)
    yield PageSpec("inspiration/", "Inspiration", "inspiration.html", {
        "groups": taxonomy.pairs_by_credited(pairs), "overview_size": OVERVIEW_SIZE,
        "credits": sum(p.count for p in pairs),
    }, description="Which team's work inspired which other team's stories.")
    for pair in pairs:
        credited, crediting = registry.teams[pair.credited], registry.teams[pair.crediting]
        yield from listing_pages(
            f"inspiration/{pair.credited}/{pair.crediting}/",
            f"{crediting.name} stories inspired by {credited.name}", "inspiration_pair.html",
            pair.stories, site.page_size, pair=pair, credited=credited, crediting=crediting,
        )


def campaign_pages(site: Site) -> Iterator[PageSpec]:
    """The campaign overview, and per campaign its timeline in date order."""
    catalog = site.catalog
    registry = catalog.registry
    today = site.now.date()
    campaigns = taxonomy.campaigns_newest_first(registry)
    yield PageSpec("campaigns/", "Campaigns", "campaigns.html", {
        "campaigns": [(c, taxonomy.campaign_status(c, today), catalog.by_campaign.get(c.id, []),
                       taxonomy.shared_before_launch(c, catalog.by_campaign.get(c.id, [])))
                      for c in campaigns],
    }, description="Every campaign from employee briefing to launch to results.")
    for campaign in registry.campaigns.values():
        stories = catalog.by_campaign.get(campaign.id, [])
        timeline = taxonomy.campaign_timeline(campaign, stories)
        chunks = taxonomy.timeline_pages(timeline, site.page_size)
        moments = [e for e in timeline if isinstance(e, Moment)]
        base = f"campaigns/{campaign.id}/"
        for number, chunk in enumerate(chunks, start=1):
            pager = Pager(number, len(chunks), base)
            title = campaign.name if number == 1 else f"{campaign.name} (page {number})"
            yield PageSpec(pager.url_of(number), title, "campaign.html", {
                "campaign": campaign, "pager": pager, "entries": chunk, "total": len(moments),
                "status": taxonomy.campaign_status(campaign, today),
                "before_launch": sum(m.before_launch for m in moments),
                "phases": _phase_counts(moments),
                "scale": taxonomy.campaign_scale(campaign, stories),
                "moments": moments, "phase_labels": taxonomy.PHASE_LABELS,
            }, feed=f"feeds/campaigns/{campaign.id}/", description=campaign.description)


def _phase_counts(moments: list[Moment]) -> dict[str, int]:
    counts = dict.fromkeys(taxonomy.PHASE_LABELS, 0)
    for moment in moments:
        counts[moment.phase] += 1
    return counts


BUILDERS = [team_pages, kpi_pages, connection_pages, inspiration_pages, campaign_pages]
