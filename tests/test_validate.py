"""Every validation rule fails the build once, with `path:line: problem (fix)` lines."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import TEAMS, Project, story_text
from storyhub.load import load_all
from storyhub.validate import suggest, validate


def problems_of(project: Project) -> list[str]:
    from zoneinfo import ZoneInfo

    stories = project.root / "stories"
    checked = validate(load_all(stories, project.root), stories, project.root, ZoneInfo("UTC"))
    return [str(p) for p in checked.problems]


def test_unknown_ids_are_located_and_suggest_the_closest(project: Project) -> None:
    project.add("marketing/2026-03-02-x.md", story_text(
        authors=["anna"], kpis=["csatt"], featuring=["suport"], campaign="sprig"))
    found = problems_of(project)
    path = "stories/marketing/2026-03-02-x.md"
    assert f"{path}:5: unknown author 'anna' (did you mean 'ana'? Known authors are listed in " \
        "stories/authors.yml)" in found
    assert any(p.startswith(f"{path}:7: unknown KPI 'csatt'") and "did you mean 'csat'?" in p
               for p in found)
    assert any(p.startswith(f"{path}:9: unknown team 'suport'") for p in found)
    assert any(p.startswith(f"{path}:10: unknown campaign 'sprig'") and "'spring'" in p for p in found)


@pytest.mark.parametrize("missing", ["title", "date", "authors"])
def test_missing_required_keys(project: Project, missing: str) -> None:
    text = story_text()
    lines = [line for line in text.splitlines() if not line.startswith(missing)
             and not (missing == "authors" and line.startswith("- "))]
    project.add("hr/2026-03-02-x.md", "\n".join(lines) + "\n")
    assert f"stories/hr/2026-03-02-x.md:2: missing required key '{missing}' (add '{missing}: ...')" \
        in problems_of(project)


def test_team_key_must_agree_with_folder(project: Project) -> None:
    project.add("hr/2026-03-02-x.md", story_text(authors=["chloe"], team="marketing"))
    assert "stories/hr/2026-03-02-x.md:6: team 'marketing' disagrees with the folder 'hr' " \
        "(move the file to stories/marketing/ or remove the 'team' key)" in problems_of(project)


def test_folder_must_be_a_team(project: Project) -> None:
    project.add("markting/2026-03-02-x.md", story_text())
    assert any(p.startswith("stories/markting/2026-03-02-x.md:1: folder 'markting' is not a team id "
                            "(did you mean 'marketing'?") for p in problems_of(project))


@pytest.mark.parametrize("bad", ["2026-02-30", "next week", "2026-13-01"])
def test_bad_dates(project: Project, bad: str) -> None:
    project.add("hr/2026-03-02-x.md", story_text(date=bad))
    assert any(p.startswith(f"stories/hr/2026-03-02-x.md:3: date '{bad}' is not a valid date")
               for p in problems_of(project))


def test_duplicate_slugs_name_both_files(project: Project) -> None:
    project.add("hr/2026-03-02-same.md", story_text(authors=["chloe"]))
    project.add("support/2026-04-02-other.md", story_text(authors=["ben"], slug="Same".lower()))
    found = [p for p in problems_of(project) if "duplicate slug" in p]
    assert len(found) == 2
    assert "also used by stories/support/2026-04-02-other.md" in found[0]


@pytest.mark.parametrize("written", ["''", "", "'  '"])
def test_an_empty_slug_falls_back_to_the_file_name_with_a_warning(
        project: Project, written: str) -> None:
    from zoneinfo import ZoneInfo

    text = story_text(authors=["chloe"]).replace("---\n", f"---\nslug: {written}\n", 1)
    project.add("hr/2026-03-02-welcome.md", text)
    stories = project.root / "stories"
    checked = validate(load_all(stories, project.root), stories, project.root, ZoneInfo("UTC"))
    assert [s.slug for s in checked.stories] == ["welcome"]  # not dropped without a word
    assert [str(p) for p in checked.problems] == [
        "stories/hr/2026-03-02-welcome.md:2: slug is empty (the file name's 'welcome' is used; "
        "write a slug or remove the line)"]


def test_cover_needs_alt_text(project: Project) -> None:
    project.add("hr/images/a.png", b"\x89PNG\r\n\x1a\n")
    project.add("hr/2026-03-02-x.md", story_text(authors=["chloe"], cover="images/a.png"))
    assert "stories/hr/2026-03-02-x.md:6: cover has no cover_alt " \
        "(add 'cover_alt: what the image shows')" in problems_of(project)


def test_cover_cannot_leave_the_stories_folder(project: Project) -> None:
    project.add("hr/2026-03-02-x.md", story_text(cover="../../mkdocs.yml", cover_alt="x"))
    assert any("leaves the stories folder" in p for p in problems_of(project))


def test_invalid_yaml_is_located(project: Project) -> None:
    project.add("hr/2026-03-02-x.md", "---\ntitle: A: B\ndate: 2026-03-02\n---\nBody\n")
    found = problems_of(project)
    assert len(found) == 1 and found[0].startswith("stories/hr/2026-03-02-x.md:2: invalid YAML")


def test_unknown_keys_are_warnings_with_a_suggestion(project: Project) -> None:
    project.add("hr/2026-03-02-x.md", story_text(authors=["chloe"], sumary="typo"))
    assert "stories/hr/2026-03-02-x.md:6: unknown front-matter key 'sumary' " \
        "(did you mean 'summary'?)" in problems_of(project)


def test_results_must_name_story_kpis(project: Project) -> None:
    project.add("hr/2026-03-02-x.md", story_text(authors=["chloe"], kpis=["nps"],
                                                 results={"csat": "up"}))
    assert any("result for KPI 'csat' which is not in the story's kpis" in p
               for p in problems_of(project))


def test_registry_cross_references(project: Project) -> None:
    project.registry("kpis", [{"id": "nps", "name": "NPS", "owner": "markting", "better": "sideways"}])
    found = problems_of(project)
    assert any(p.startswith("stories/kpis.yml:3: unknown team 'markting'") for p in found)
    assert any(p.startswith("stories/kpis.yml:4: better must be 'up' or 'down'") for p in found)


def test_suggest_lists_known_ids_when_nothing_is_close() -> None:
    assert suggest("zzz", ["hr", "sales"]) == "known ids: hr, sales"


def test_build_fails_once_with_every_problem(project: Project) -> None:
    project.add("hr/2026-03-02-a.md", story_text(authors=["nobody"]))
    project.add("support/2026-03-02-b.md", story_text(authors=["ben"], kpis=["nope"]))
    message = project.build_error()
    assert "StoryHub found 2 problem(s)" in message
    assert "stories/hr/2026-03-02-a.md:5: unknown author 'nobody'" in message
    assert "stories/support/2026-03-02-b.md:7: unknown KPI 'nope'" in message


def test_cli_build_shows_no_traceback(project: Project) -> None:
    project.add("hr/2026-03-02-a.md", "---\ntitle: [unclosed\n---\n")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "true"}
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict"],
                            cwd=project.root, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 1
    assert "stories/hr/2026-03-02-a.md:2: invalid YAML" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_a_preview_checks_again_only_the_stories_whose_inputs_changed(project: Project) -> None:
    from zoneinfo import ZoneInfo

    from PIL import Image

    from storyhub import load
    from storyhub.validate import StoryMemo

    stories = project.root / "stories"
    (stories / "hr" / "images").mkdir(parents=True)
    Image.new("RGB", (8, 8), "red").save(stories / "hr" / "images" / "cover.png")
    project.add("hr/2026-03-02-plain.md", story_text("Plain"))
    project.add("hr/2026-03-03-covered.md", story_text(
        "Covered", date="2026-03-03", cover="images/cover.png", cover_alt="Red"))
    parsed, memo = load.ParseMemo(), StoryMemo()

    def check() -> tuple[dict[str, object], list[str]]:
        checked = validate(load_all(stories, project.root, memo=parsed), stories, project.root,
                           ZoneInfo("UTC"), memo)
        return {s.slug: s for s in checked.stories}, [str(p) for p in checked.problems]

    first, problems = check()
    assert set(first) == {"plain", "covered"} and problems == []
    again, _ = check()
    assert all(again[slug] is first[slug] for slug in first)  # the very same results
    # The registries changed: every story is checked again (and still equal).
    project.registry("teams", [*TEAMS, {"id": "legal", "name": "Legal", "color": "#123456"}])
    third, _ = check()
    assert all(third[slug] is not first[slug] and third[slug] == first[slug] for slug in first)
    # The cover is gone, though its story's file is unchanged: it is reported again.
    (stories / "hr" / "images" / "cover.png").unlink()
    fourth, problems = check()
    assert set(fourth) == {"plain"} and fourth["plain"] is third["plain"]
    assert any("stories/hr/2026-03-03-covered.md" in p and "does not exist" in p for p in problems)
