"""/write/: the contributor guide, with the front-matter reference and the registries' live ids."""

from __future__ import annotations

import io

from conftest import TEAMS, Project
from storyhub.cli import main
from storyhub.validate import STORY_KEYS


def cells(page: object, section: str) -> list[list[str]]:
    """Text of the cells of the first table after the heading with id `section`."""
    rows = page.xpath(f"//h2[@id='{section}']/following::table[1]/tbody/tr")  # type: ignore[attr-defined]
    return [[cell.text_content().strip() for cell in row.xpath("./th|./td")] for row in rows]


def test_reference_documents_every_key_with_real_ids(project: Project) -> None:
    page = project.build().html("write/")
    assert page.xpath("//h1")[0].text == "Write a story"
    rows = cells(page, "reference")
    assert [row[0] for row in rows] == list(STORY_KEYS)
    assert [row[0] for row in rows if row[1] == "yes"] == ["title", "date", "authors"]
    examples = {row[0]: row[3] for row in rows}
    # Examples use ids that exist, so they can be copied as they are.
    assert examples["authors"] == "authors: [ana]"
    assert examples["kpis"] == "kpis: [nps, csat]"
    assert examples["campaign"] == "campaign: spring"
    assert examples["inspired_by"] == "inspired_by:\n  - team: support\n    note: The weekly ticket digest."


def test_id_lists_come_from_the_registries(project: Project) -> None:
    project.registry("teams", [*TEAMS, {"id": "legal", "name": "Legal", "owners": ["@acme/legal"]}])
    page = project.build().html("write/")
    teams = cells(page, "teams")
    assert [row[0] for row in teams] == ["marketing", "support", "hr", "finance", "legal"]
    assert teams[1][1:] == ["Customer Support", "@acme/support", "csat, ticket-volume"]
    assert teams[4][2:] == ["@acme/legal", "none"]
    assert [row[:3] for row in cells(page, "kpis")][:2] == [
        ["nps", "Net Promoter Score (points)", "Marketing"],
        ["csat", "Customer satisfaction (%)", "Customer Support"],
    ]
    assert cells(page, "authors")[2] == ["chloe", "Chloe Martin", "People & HR", "HR business partner"]
    assert cells(page, "campaigns") == [["spring", "Spring launch", "Marketing", "2026-02-01", "2026-03-01",
                                         "2026-05-31"]]


def test_the_example_story_on_the_page_passes_the_check(project: Project) -> None:
    page = project.build().html("write/")
    example = page.xpath("//pre[@class='sh-example']")[0].text_content()
    project.add("marketing/2026-03-02-support-tickets-became-our-blog.md", example)
    out = io.StringIO()
    code = main(["check", "--root", str(project.root)], stdout=out)
    assert (code, out.getvalue()) == (0, "No problems in 1 story and the registries.\n")


def test_the_page_commands_match_the_command_line(project: Project) -> None:
    page = project.build().html("write/")
    commands = [code.text_content() for code in page.xpath("//ol[@class='sh-steps']//pre/code")]
    one_line = next(c for c in commands if c.startswith("storyhub new --team"))
    assert one_line == 'storyhub new --team marketing --title "Support tickets became our blog" ' \
        "--author ana --kpi nps"
    out = io.StringIO()
    argv = ["new", "--root", str(project.root), "--team", "marketing", "--title",
            "Support tickets became our blog", "--author", "ana", "--kpi", "nps"]
    assert main(argv, stdout=out) == 0
