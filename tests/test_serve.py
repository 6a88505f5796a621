"""`mkdocs serve` keeps serving when a story is broken: the problems are shown on every page and
the site comes back as soon as the story is fixed."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import lxml.html
from mkdocs.commands.build import build
from mkdocs.config import load_config

from conftest import Built, Project, WarningGuard, story_text

BROKEN = "stories/hr/2026-03-02-broken.md"


def preview(project: Project, name: str = "live") -> Built:
    """Build the way `mkdocs serve` does, into its own folder."""
    site = project.root / name
    config = load_config(str(project.root / "mkdocs.yml"), site_dir=str(site))
    config.plugins.on_startup(command="serve", dirty=False)
    try:
        build(config, serve_url="http://127.0.0.1:8000/")
    finally:
        config.plugins.on_shutdown()
    return Built(site)


def problems_on(page: lxml.html.HtmlElement) -> list[tuple[str, str, str]]:
    """(file, line, message) of every problem listed in the page's problem banner."""
    return [(item.xpath("../preceding-sibling::h3[1]/code")[0].text,
             item.xpath(".//span[@class='sh-problem__line']")[0].text,
             item.xpath(".//span[@class='sh-problem__message']")[0].text)
            for item in page.xpath("//section[contains(@class,'sh-problems')]//li")]


def test_preview_lists_problems_on_every_page_and_keeps_the_other_stories(project: Project) -> None:
    project.story("hr", "2026-03-01-fine", title="Fine story", authors=["chloe"])
    project.add("hr/2026-03-02-broken.md", story_text(title="Broken story", authors=["chloee"],
                                                      kpis=["turnovr"]))
    (project.root / "docs" / "about.md").write_text("# About\n\nHand-written.\n", "utf-8")
    built = preview(project)
    expected = [(BROKEN, "line 5", "unknown author 'chloee'"),
                (BROKEN, "line 7", "unknown KPI 'turnovr'")]
    for url in ("", "stories/fine/", "about/", "teams/hr/", "write/"):
        assert problems_on(built.html(url)) == expected, url
    home = built.html("")
    banner = home.xpath("//section[contains(@class,'sh-problems')]")[0]
    assert banner.get("role") == "alert"
    assert banner.xpath(".//h2")[0].text == "2 problems to fix in 1 file"
    hints = banner.xpath(".//span[@class='sh-problem__hint']/text()")
    assert hints[0].startswith("did you mean 'chloe'?")
    assert banner.xpath(".//a/@href") == ["write/"]
    # The broken story is left out; the rest of the site is all there.
    assert built.exists("stories/fine/")
    assert not built.exists("stories/broken/")
    assert "Fine story" in home.text_content() and "Broken story" not in home.text_content()


def test_preview_recovers_when_the_story_is_fixed(project: Project) -> None:
    project.add("hr/2026-03-02-broken.md", story_text(title="Broken story", authors=["chloee"]))
    assert not preview(project).exists("stories/broken/")
    project.add("hr/2026-03-02-broken.md", story_text(title="Broken story", authors=["chloe"]))
    built = preview(project)
    assert built.html("stories/broken/").xpath("//h1")[0].text_content().strip() == "Broken story"
    assert not built.html("").xpath("//section[contains(@class,'sh-problems')]")


def test_preview_with_a_broken_registry_shows_the_list_and_an_empty_site(project: Project) -> None:
    project.story("hr", "2026-03-01-fine", title="Fine story", authors=["chloe"])
    project.registry("kpis", "- id: nps\n  name: NPS\n  owner: markting\n")
    built = preview(project)
    assert problems_on(built.html("")) == [
        ("stories/kpis.yml", "line 3", "unknown team 'markting'"),
        ("stories/newsletters.yml", "line 7", "unknown KPI 'csat'"),
    ]
    # Ids cannot be trusted until the registry is fixed, so no story is shown.
    assert not built.exists("stories/fine/")
    assert built.exists("teams/")


def test_preview_shows_warnings_without_leaving_anything_out(project: Project,
                                                             warnings_guard: WarningGuard) -> None:
    warnings_guard.expect("unknown front-matter key 'sumary'")
    project.story("hr", "2026-03-01-fine", title="Fine story", authors=["chloe"], sumary="typo")
    built = preview(project)
    banner = built.html("stories/fine/").xpath("//section[contains(@class,'sh-problems')]")[0]
    assert "sh-problems--error" not in banner.get("class")
    assert banner.xpath(".//h2")[0].text == "1 warning in 1 file"
    assert problems_on(built.html("")) == [("stories/hr/2026-03-01-fine.md", "line 6",
                                            "unknown front-matter key 'sumary'")]


def test_production_builds_never_show_the_banner(project: Project,
                                                 warnings_guard: WarningGuard) -> None:
    warnings_guard.expect("unknown front-matter key 'sumary'")
    project.story("hr", "2026-03-01-fine", title="Fine story", authors=["chloe"], sumary="typo")
    built = project.build(strict=False)
    assert not built.html("stories/fine/").xpath("//section[contains(@class,'sh-problems')]")
    project.add("hr/2026-03-02-broken.md", story_text(authors=["chloee"]))
    assert f"{BROKEN}:5: unknown author 'chloee'" in project.build_error()


# --- a real `mkdocs serve` ---------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, ""
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0, ""


def wait_for(url: str, condition: object, seconds: float = 90) -> str:
    """Poll `url` until condition(status, html) holds; fail after `seconds`."""
    assert callable(condition)
    deadline = time.monotonic() + seconds
    status, html = 0, ""
    while time.monotonic() < deadline:
        status, html = fetch(url)
        if condition(status, html):
            return html
        time.sleep(0.3)
    raise AssertionError(f"{url} never got there; last status {status}:\n{html[:2000]}")


def test_mkdocs_serve_shows_the_problems_and_recovers(project: Project, tmp_path: Path) -> None:
    story = project.story("hr", "2026-03-02-buddies", title="Onboarding buddies", authors=["chloe"])
    port = free_port()
    log = (tmp_path / "serve.log").open("w")
    # The project's site_url has the path /stories/, so serve mounts the site there.
    base = f"http://127.0.0.1:{port}/stories/"
    server = subprocess.Popen(
        [sys.executable, "-m", "mkdocs", "serve", "-a", f"127.0.0.1:{port}"],
        cwd=project.root, stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "true"},
    )
    try:
        wait_for(base + "stories/buddies/", lambda status, html: status == 200)
        story.write_text(story_text(title="Onboarding buddies", authors=["chloee"]), "utf-8")
        home = wait_for(base, lambda status, html: status == 200 and "sh-problems" in html)
        assert problems_on(lxml.html.fromstring(home)) == [
            ("stories/hr/2026-03-02-buddies.md", "line 5", "unknown author 'chloee'")]
        assert fetch(base + "stories/buddies/")[0] == 404
        story.write_text(story_text(title="Onboarding buddies", authors=["chloe"]), "utf-8")
        page = wait_for(base + "stories/buddies/", lambda status, html: status == 200)
        assert "sh-problems" not in page
        # Nothing changes now, so the server must stop rebuilding: a rebuild reads every
        # file it watches, and reads are no edits.
        time.sleep(1.5)
        rebuilds = (tmp_path / "serve.log").read_text("utf-8").count("Detected file changes")
        time.sleep(2)
        assert (tmp_path / "serve.log").read_text("utf-8").count("Detected file changes") == rebuilds
        assert server.poll() is None, "the server stopped"
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    output = (tmp_path / "serve.log").read_text("utf-8")
    assert "Traceback" not in output
    assert "stories/hr/2026-03-02-buddies.md:5: unknown author 'chloee'" in output
