"""The contributor guide at /write/: the steps, the front-matter reference and the live lists
of ids, all taken from `fields` and the registries so the guide is always current."""

from __future__ import annotations

from collections.abc import Iterator

from .fields import FIELDS, example_ids
from .pages import PageSpec, Site


def write_page(site: Site) -> Iterator[PageSpec]:
    registry = site.catalog.registry
    ids = example_ids(registry)
    fields = [(field, field.example_for(registry)) for field in FIELDS]
    kpis_by_owner = {team: [k for k in registry.kpis.values() if k.owner == team] for team in registry.teams}
    yield PageSpec("write/", "Write a story", "write.html", {
        "fields": fields, "ids": ids, "kpis_by_owner": kpis_by_owner,
    }, description="How to add a story: from `storyhub new` to a merged pull request, with every "
       "front-matter key and the ids of teams, KPIs, authors and campaigns.")
