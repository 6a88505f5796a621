"""Clean pages: valid HTML (Nu HTML Checker), no serious accessibility problem (axe-core in
Chromium), and no request that leaves the site.

The checkers come from npm (`package.json`; `scripts/test.sh` runs `npm install`). The pages
are those of the example site, built once for the whole module.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import Built, Project
from site_browser import browser, serve

REPO = Path(__file__).resolve().parent.parent
VNU = REPO / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
NPM_HINT = "run 'npm install --no-audit --no-fund' in the repository (scripts/test.sh does)"

# One page of each kind; a page listed here must exist, so a feature that disappears fails.
PAGES = {
    "home": "",
    "story": "stories/support-inbox-shapes-our-blog/",
    "story with cover and results": "stories/spring-launch-by-the-numbers/",
    "team": "teams/marketing/",
    "teams": "teams/",
    "KPI": "kpis/nps/",
    "KPIs": "kpis/",
    "connections": "kpis/connections/",
    "inspiration": "inspiration/",
    "campaign": "campaigns/spring-launch-2026/",
    "author": "authors/chloe-martin/",
    "archive": "archive/",
    "search": "search/",
    "feeds": "feeds/",
    "newsletter": "newsletters/support-digest/",
    "write": "write/",
    "hand-written page": "about/",
}
SERIOUS = ("serious", "critical")


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    """The example site, built from a copy of mkdocs.yml, stories/ and docs/."""
    root = tmp_path_factory.mktemp("example")
    shutil.copy(REPO / "mkdocs.yml", root / "mkdocs.yml")
    for folder in ("stories", "docs"):
        shutil.copytree(REPO / folder, root / folder)
    project = Project.__new__(Project)  # the example as it is, without the test registries
    project.root = root
    yield project.build()


def test_every_listed_page_exists(example: Built) -> None:
    missing = [f"{kind}: /{url}" for kind, url in PAGES.items() if not example.exists(url)]
    assert missing == []


def vnu_errors(files: list[Path]) -> list[dict[str, Any]]:
    assert VNU.is_file(), f"vnu.jar is missing: {NPM_HINT}"
    assert shutil.which("java"), "Java is missing: install a Java 17 runtime (e.g. openjdk-17-jre-headless)"
    result = subprocess.run(["java", "-jar", str(VNU), "--errors-only", "--format", "json",
                             *map(str, files)], capture_output=True, text=True, timeout=600)
    messages = json.loads(result.stderr or '{"messages": []}')["messages"]
    return [m for m in messages if m.get("type") in ("error", "non-document-error")]


def test_every_page_is_valid_html(example: Built) -> None:
    pages = sorted(example.site.rglob("*.html"))
    assert len(pages) > 60
    errors = vnu_errors(pages)
    shown = sorted({f"{Path(m['url'].removeprefix('file:')).relative_to(example.site)}:"
                    f"{m.get('lastLine', '?')}: {m['message']}" for m in errors})
    assert shown == [], f"{len(shown)} HTML error(s):\n" + "\n".join(shown[:60])


def theme_sitemap_probe(url: str) -> bool:
    """Material fetches `sitemap.xml` beside every `<link rel="alternate">` (meant for language
    versions), so each feed link costs a local 404 for `feeds/.../sitemap.xml`; harmless."""
    return "/feeds/" in url and url.endswith("/sitemap.xml")


def run_axe(page: Any) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ["violations"]});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))}));
    }""")
    return list(result)


def test_no_serious_accessibility_violation_and_no_outside_request(example: Built) -> None:
    assert AXE.is_file(), f"axe.min.js is missing: {NPM_HINT}"
    problems: list[str] = []
    outside: set[str] = set()
    failed: set[str] = set()
    with serve(example.site) as base, browser() as chromium:
        for viewport in ({"width": 1280, "height": 900}, {"width": 390, "height": 844}):
            page = chromium.new_page(viewport=viewport)
            page.on("request", lambda r: None if r.url.startswith((base, "data:", "blob:"))
                    else outside.add(r.url))
            page.on("requestfailed", lambda r: failed.add(f"{r.url} ({r.failure})"))
            page.on("response", lambda r: failed.add(f"{r.url} ({r.status})")
                    if r.status >= 400 and not theme_sitemap_probe(r.url) else None)
            for kind, url in PAGES.items():
                page.goto(base + url, wait_until="networkidle")
                if kind == "search":  # results are drawn by script: check them too
                    page.fill("#sh-search-q", "support")
                    page.wait_for_selector(".sh-hits li", timeout=15_000)
                for violation in run_axe(page):
                    if violation["impact"] in SERIOUS:
                        problems.append(f"{viewport['width']}px /{url}: {violation['id']} "
                                        f"({violation['impact']}): {violation['help']} at "
                                        f"{violation['nodes']}")
            page.close()
    assert sorted(outside) == []
    assert sorted(failed) == []
    assert problems == []
