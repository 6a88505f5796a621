"""The `storyhub` command line: check, new, schema and codeowners on real tiny projects."""

from __future__ import annotations

import io
import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from conftest import Project, story_text
from storyhub import load, report, validate
from storyhub import project as project_mod
from storyhub.cli import main
from storyhub.fields import FIELDS
from storyhub.model import Problem
from storyhub.plugin import StoryHubConfig

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "NO_MKDOCS_2_WARNING": "true"}


def run(*argv: str | Path, stdin: io.StringIO | None = None) -> tuple[int, str, str]:
    """Call the command in-process; (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    code = main([str(a) for a in argv], stdin=stdin or io.StringIO(), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def check(project: Project, *argv: str | Path) -> tuple[int, list[str]]:
    code, out, _ = run("check", "--root", project.root, *argv)
    return code, out.splitlines()


X = "stories/hr/2026-03-02-x.md"

# One case per kind of mistake: (file under stories/, its text, the exact line check prints).
# story_text writes title on line 2, date on 3, authors on 4 (items from 5), then other keys.
MISTAKES = {
    "unknown author": ("hr/2026-03-02-x.md", story_text(authors=["chloee"]),
                       f"{X}:5: unknown author 'chloee' (did you mean 'chloe'? Known authors are "
                       "listed in stories/authors.yml)"),
    "unknown KPI": ("hr/2026-03-02-x.md", story_text(authors=["chloe"], kpis=["csatt"]),
                    f"{X}:7: unknown KPI 'csatt' (did you mean 'csat'? Known KPIs are listed in "
                    "stories/kpis.yml)"),
    "unknown featured team": ("hr/2026-03-02-x.md", story_text(authors=["chloe"], featuring=["suport"]),
                              f"{X}:7: unknown team 'suport' (did you mean 'support'? Known teams are "
                              "listed in stories/teams.yml)"),
    "unknown campaign": ("hr/2026-03-02-x.md", story_text(authors=["chloe"], campaign="sprng"),
                         f"{X}:6: unknown campaign 'sprng' (did you mean 'spring'? Known campaigns "
                         "are listed in stories/campaigns.yml)"),
    "unknown credited team": ("hr/2026-03-02-x.md",
                              story_text(authors=["chloe"], inspired_by=[{"team": "financ"}]),
                              f"{X}:7: unknown team 'financ' in inspired_by (did you mean 'finance'? "
                              "Known teams are listed in stories/teams.yml)"),
    "missing required key": ("hr/2026-03-02-x.md", "---\ntitle: T\ndate: 2026-03-02\n---\nBody\n",
                             f"{X}:2: missing required key 'authors' (add 'authors: ...')"),
    "team disagrees with folder": ("hr/2026-03-02-x.md", story_text(authors=["chloe"], team="support"),
                                   f"{X}:6: team 'support' disagrees with the folder 'hr' (move the "
                                   "file to stories/support/ or remove the 'team' key)"),
    "folder is not a team": ("h-r/2026-03-02-x.md", story_text(authors=["chloe"]),
                             "stories/h-r/2026-03-02-x.md:1: folder 'h-r' is not a team id (did you "
                             "mean 'hr'? Move the story to stories/<team-id>/)"),
    "bad date": ("hr/2026-03-02-x.md", story_text(authors=["chloe"], date="2026-02-30"),
                 f"{X}:3: date '2026-02-30' is not a valid date (write it as YYYY-MM-DD or "
                 "'YYYY-MM-DD HH:MM:SS+01:00')"),
    "bad file name": ("hr/march-story.md", story_text(authors=["chloe"]),
                      "stories/hr/march-story.md:1: file name must look like YYYY-MM-DD-slug.md "
                      "(rename it, e.g. 2026-03-02-new-onboarding.md)"),
    "cover without alt": ("hr/2026-03-02-x.md", story_text(authors=["chloe"], cover="images/a.png"),
                          f"{X}:6: cover has no cover_alt (add 'cover_alt: what the image shows')"),
    "missing cover file": ("hr/2026-03-02-x.md",
                           story_text(authors=["chloe"], cover="images/none.png", cover_alt="A"),
                           f"{X}:6: image 'images/none.png' does not exist (add the file at "
                           "stories/hr/images/none.png)"),
    "result for a KPI not in kpis": ("hr/2026-03-02-x.md",
                                     story_text(authors=["chloe"], kpis=["nps"], results={"csat": "up"}),
                                     f"{X}:9: result for KPI 'csat' which is not in the story's kpis "
                                     "(add 'csat' to kpis)"),
    "flag not a boolean": ("hr/2026-03-02-x.md", story_text(authors=["chloe"], featured="yes"),
                           f"{X}:6: 'featured' must be true or false (write 'featured: true')"),
    "invalid slug": ("hr/2026-03-02-x.md", story_text(authors=["chloe"], slug="Not A Slug"),
                     f"{X}:6: slug 'Not A Slug' is not a valid URL slug (use lowercase letters, digits "
                     "and single hyphens, e.g. 'new-onboarding')"),
    "invalid YAML": ("hr/2026-03-02-x.md", "---\ntitle: A: B\ndate: 2026-03-02\n---\nBody\n",
                     f"{X}:2: invalid YAML: mapping values are not allowed here (check indentation, "
                     "colons and quotes; quote text that contains ': ' or '#')"),
    "no front matter": ("hr/2026-03-02-x.md", "Just text\n",
                        f"{X}:1: story has no front matter (start the file with a line '---', the "
                        "keys (title, date, authors), and '---')"),
    "not UTF-8": ("hr/2026-03-02-x.md", b"---\ntitle: caf\xe9\n---\n",
                  f"{X}:2: file is not UTF-8 (byte 0xe9) (save the file with UTF-8 encoding)"),
    "story outside a team folder": ("2026-03-02-x.md", story_text(),
                                    "stories/2026-03-02-x.md:1: story is not in a team folder (move "
                                    "it to stories/<team-id>/<YYYY-MM-DD>-<slug>.md)"),
}


@pytest.mark.parametrize("kind", MISTAKES)
def test_check_lists_each_kind_of_mistake_and_fails(project: Project, kind: str) -> None:
    relpath, text, expected = MISTAKES[kind]
    project.add("hr/images/a.png", b"\x89PNG\r\n\x1a\n")
    project.add(relpath, text)
    code, lines = check(project)
    assert expected in lines
    assert code == 1
    assert re.match(r"^\d+ errors?[.,]", lines[-1])


def test_part_of_an_id_suggests_the_whole_id(project: Project) -> None:
    project.story("support", "2026-03-02-x", authors=["ben"], kpis=["volume"])
    _, lines = check(project)
    assert "stories/support/2026-03-02-x.md:7: unknown KPI 'volume' (did you mean 'ticket-volume'? " \
        "Known KPIs are listed in stories/kpis.yml)" in lines


def test_check_exit_code_is_zero_for_valid_stories(project: Project) -> None:
    project.story("hr", "2026-03-02-fine", authors=["chloe"])
    assert check(project) == (0, ["No problems in 1 story and the registries."])


def test_duplicate_slugs_across_teams(project: Project) -> None:
    project.story("hr", "2026-03-02-same", authors=["chloe"])
    project.story("support", "2026-04-01-other", authors=["ben"], slug="same")
    code, lines = check(project)
    assert code == 1
    assert lines == [
        "stories/hr/2026-03-02-same.md:2: duplicate slug 'same' (also used by "
        "stories/support/2026-04-01-other.md; set a different 'slug:')",
        "stories/support/2026-04-01-other.md:6: duplicate slug 'same' (also used by "
        "stories/hr/2026-03-02-same.md; set a different 'slug:')",
        "2 errors.",
    ]


def test_registry_mistakes_are_listed(project: Project) -> None:
    project.registry("kpis", [{"id": "nps", "name": "NPS", "owner": "markting"},
                              {"id": "nps", "name": "Again", "owner": "hr"}])
    code, lines = check(project)
    assert code == 1
    assert "stories/kpis.yml:3: unknown team 'markting' (did you mean 'marketing'? Known teams are " \
        "listed in stories/teams.yml)" in lines
    assert "stories/kpis.yml:4: duplicate KPI id 'nps' (it is already defined on line 1)" in lines


def test_unknown_keys_are_warnings_and_do_not_fail(project: Project) -> None:
    project.story("hr", "2026-03-02-x", authors=["chloe"], titel="Typo")
    code, lines = check(project)
    assert lines == [f"{X}:6: warning: unknown front-matter key 'titel' (did you mean 'title'?)",
                     "1 warning."]
    assert code == 0


def test_problems_are_sorted_by_file_and_line(project: Project) -> None:
    project.add("support/2026-03-02-b.md", story_text(authors=["bob"], kpis=["nope"]))
    project.add("hr/2026-03-02-a.md", story_text(authors=["chloee"]))
    _, lines = check(project)
    located = [line.split(": ", 1)[0] for line in lines[:-1]]
    assert located == ["stories/hr/2026-03-02-a.md:5", "stories/support/2026-03-02-b.md:5",
                       "stories/support/2026-03-02-b.md:7"]
    assert lines[-1] == "3 errors."


def test_github_format_annotates_lines(project: Project) -> None:
    project.story("hr", "2026-03-02-x", authors=["chloee"], titel="Typo")
    code, lines = check(project, "--format", "github")
    assert code == 1
    assert lines[:2] == [
        f"::error file={X},line=5,title=StoryHub::unknown author 'chloee' (did you mean 'chloe'? "
        "Known authors are listed in stories/authors.yml)",
        f"::warning file={X},line=6,title=StoryHub::unknown front-matter key 'titel' "
        "(did you mean 'title'?)",
    ]


def test_github_format_escapes_what_would_break_the_command() -> None:
    problem = Problem("stories/a,b:c.md", 3, "50% done\nnext line", "fix, then: retry")
    assert report.as_github(problem) == \
        "::error file=stories/a%2Cb%3Ac.md,line=3,title=StoryHub::50%25 done%0Anext line (fix, then: retry)"


def test_paths_limit_the_report_but_not_the_validation(project: Project) -> None:
    mine = project.add("hr/2026-03-02-mine.md", story_text(authors=["chloe"], titel="typo"))
    project.add("support/2026-03-02-theirs.md", story_text(authors=["bob"]))
    project.add("support/2026-04-02-dup.md", story_text(authors=["ben"], slug="mine"))
    code, lines = check(project, mine)
    assert code == 1
    # The duplicate is found by comparing with a story that is not reported.
    assert lines == [
        "stories/hr/2026-03-02-mine.md:2: duplicate slug 'mine' (also used by "
        "stories/support/2026-04-02-dup.md; set a different 'slug:')",
        "stories/hr/2026-03-02-mine.md:6: warning: unknown front-matter key 'titel' (did you mean 'title'?)",
        "1 error, 1 warning.",
    ]
    # A folder selects the stories in it.
    code, lines = check(project, project.root / "stories" / "support")
    assert {line.split(":")[0] for line in lines[:-1]} == {
        "stories/support/2026-03-02-theirs.md", "stories/support/2026-04-02-dup.md"}


def test_registry_problems_are_always_reported_and_a_registry_path_reports_everything(
        project: Project) -> None:
    fine = project.story("hr", "2026-03-02-fine", authors=["chloe"])
    project.add("support/2026-03-02-bad.md", story_text(authors=["bob"]))
    project.registry("authors", "- id: Bad Id\n  name: X\n  team: hr\n- id: chloe\n  name: C\n  team: hr\n"
                     "- id: ben\n  name: B\n  team: support\n")
    _, lines = check(project, fine)
    assert [line.split(":")[0] for line in lines[:-1]] == ["stories/authors.yml"]
    _, lines = check(project, project.root / "stories" / "authors.yml")
    assert {line.split(":")[0] for line in lines[:-1]} == {"stories/authors.yml",
                                                           "stories/support/2026-03-02-bad.md"}


def test_usage_mistakes_exit_with_2(project: Project, tmp_path: Path) -> None:
    code, _, err = run("check", "--root", project.root, project.root / "stories" / "nope.md")
    assert code == 2
    assert err.strip() == f"storyhub check: {project.root}/stories/nope.md: no such file or folder"
    code, _, err = run("check", "--root", tmp_path / "empty")
    assert code == 2 and "no stories folder here" in err
    code, _, err = run("check", "--config", tmp_path / "missing.yml")
    assert code == 2 and "missing.yml: no such file" in err


def test_settings_come_from_the_plugin_options_in_mkdocs_yml(project: Project) -> None:
    (project.root / "stories").rename(project.root / "content")
    text = (project.root / "mkdocs.yml").read_text("utf-8")
    (project.root / "mkdocs.yml").write_text(
        text.replace("timezone: Europe/Berlin", "timezone: Asia/Tokyo\n      stories_dir: content")
        + "markdown_extensions:\n  - pymdownx.emoji:\n      emoji_index: !!python/name:material.extensions"
        ".emoji.twemoji\n", "utf-8")
    project.add("../content/hr/2026-03-02-x.md", story_text(authors=["chloee"]))
    settings = project_settings(project.root / "content" / "hr")
    assert settings.stories_dir == project.root / "content"
    assert str(settings.timezone) == "Asia/Tokyo"
    code, out, _ = run("check", "--config", project.root / "mkdocs.yml")
    assert code == 1 and out.startswith("content/hr/2026-03-02-x.md:5: unknown author 'chloee'")


def project_settings(cwd: Path) -> project_mod.Settings:
    return project_mod.read_settings(cwd=cwd)


def test_defaults_match_the_plugin() -> None:
    defaults = StoryHubConfig()
    defaults.load_dict({})
    defaults.validate()
    assert (defaults.stories_dir, defaults.timezone, defaults.max_story_bytes) == \
        (project_mod.DEFAULT_STORIES_DIR, project_mod.DEFAULT_TIMEZONE, load.DEFAULT_MAX_BYTES)


def test_check_matches_the_build_message_for_message(project: Project) -> None:
    project.add("hr/2026-03-02-a.md", story_text(authors=["chloee"], kpis=["csatt"]))
    project.add("support/2026-03-02-b.md", story_text(authors=["ben"], date="soon"))
    _, lines = check(project)
    build = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict"], cwd=project.root,
                           capture_output=True, text=True, env=ENV, timeout=120)
    assert build.returncode == 1
    assert "Traceback" not in build.stderr + build.stdout
    for line in lines[:-1]:
        assert f"  {line}\n" in build.stderr


# --- storyhub new -----------------------------------------------------------------------------

def test_new_then_check_then_build(project: Project) -> None:
    code, out, _ = run("new", "--root", project.root, "--team", "hr", "--title", "Buddies: a year on",
                       "--author", "chloe", "--author", "ben", "--kpi", "turnover", "--date", "2026-03-02")
    assert code == 0
    path = project.root / "stories" / "hr" / "2026-03-02-buddies-a-year-on.md"
    assert out.startswith("Created stories/hr/2026-03-02-buddies-a-year-on.md\n")
    # site_url's path /stories/ is where `mkdocs serve` mounts the site.
    assert "mkdocs serve, then open http://127.0.0.1:8000/stories/stories/buddies-a-year-on/" in out
    front, body, _ = load.split_story(path.read_text("utf-8")) or ("", "", 0)
    data, _, problems = load.parse_yaml(front, str(path))
    assert problems == []
    assert data == {"title": "Buddies: a year on", "date": "2026-03-02", "authors": ["chloe", "ben"],
                    "kpis": ["turnover"]}
    assert "<!-- more -->" in body
    assert check(project) == (0, ["No problems in 1 story and the registries."])
    page = project.build().html("stories/buddies-a-year-on/")
    assert page.xpath("//h1")[0].text_content().strip() == "Buddies: a year on"


def test_new_refuses_to_overwrite(project: Project) -> None:
    args = ("new", "--root", project.root, "--team", "hr", "--title", "Same", "--author", "chloe",
            "--date", "2026-03-02")
    assert run(*args)[0] == 0
    path = project.root / "stories" / "hr" / "2026-03-02-same.md"
    path.write_text(path.read_text("utf-8") + "My words.\n", "utf-8")
    before = path.read_text("utf-8")
    code, _, err = run(*args)
    assert code == 1
    assert "already used by stories/hr/2026-03-02-same.md" in err
    assert path.read_text("utf-8") == before


def test_new_refuses_a_slug_another_team_uses(project: Project) -> None:
    project.story("support", "2026-01-01-onboarding", authors=["ben"])
    code, _, err = run("new", "--root", project.root, "--team", "hr", "--title", "Onboarding",
                       "--author", "chloe")
    assert code == 1
    assert "slug 'onboarding' is already used by stories/support/2026-01-01-onboarding.md" in err
    code, _, _ = run("new", "--root", project.root, "--team", "hr", "--title", "Onboarding",
                     "--author", "chloe", "--slug", "hr-onboarding", "--date", "2026-03-02")
    assert code == 0
    assert (project.root / "stories" / "hr" / "2026-03-02-hr-onboarding.md").is_file()


def test_new_validates_ids_with_suggestions_and_writes_nothing(project: Project) -> None:
    code, _, err = run("new", "--root", project.root, "--team", "h-r", "--title", "T", "--author",
                       "chloee", "--kpi", "turnovr", "--date", "2026-03-02")
    assert code == 2
    assert err.splitlines() == [
        "storyhub new: cannot create the story:",
        "  unknown team 'h-r' (did you mean 'hr'?)",
        "  unknown author 'chloee' (did you mean 'chloe'?)",
        "  unknown KPI 'turnovr' (did you mean 'turnover'?)",
    ]
    assert not list((project.root / "stories").rglob("*.md"))


def test_new_without_a_terminal_names_the_missing_flags(project: Project) -> None:
    code, _, err = run("new", "--root", project.root, "--title", "T")
    assert code == 2
    assert err.splitlines() == [
        "storyhub new: missing --team, --author (or run it in a terminal to be asked)",
        "  known ids for --team: marketing, support, hr, finance",
        "  known ids for --author: ana, ben, chloe",
    ]


def test_new_asks_in_a_terminal(project: Project) -> None:
    controller, terminal = pty.openpty()
    answers = "markting\nmarketing\nSpring: what we learned\nanna ana\nana\nnps\n2026-03-09\n"
    os.write(controller, answers.encode())
    result = subprocess.run(
        [sys.executable, "-c", "import sys; from storyhub.cli import main; sys.exit(main())",
         "new", "--root", str(project.root)],
        stdin=terminal, capture_output=True, text=True, env=ENV, timeout=60)
    os.close(terminal)
    os.close(controller)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Teams:\n  marketing  Marketing\n" in out
    assert "  unknown team 'markting' (did you mean 'marketing'?)" in out
    assert "  unknown author 'anna' (did you mean 'ana'?)" in out
    # The team's own authors are offered first.
    assert out.index("  ana  ") < out.index("  ben  ")
    path = project.root / "stories" / "marketing" / "2026-03-09-spring-what-we-learned.md"
    assert path.is_file()
    assert "authors: [ana]\nkpis: [nps]\n" in path.read_text("utf-8")


# --- storyhub schema ----------------------------------------------------------------------------

def front_matter(path: Path) -> dict[str, object]:
    parts = load.split_story(path.read_text("utf-8"))
    assert parts is not None
    data, _, problems = load.parse_yaml(parts[0], str(path))
    assert not problems
    return dict(data)


def example_schema() -> dict[str, object]:
    code, out, _ = run("schema", "--root", REPO)
    assert code == 0
    return dict(json.loads(out))


@pytest.mark.parametrize("story", sorted((REPO / "stories").glob("*/*.md")), ids=lambda p: p.name)
def test_schema_accepts_every_example_story(story: Path) -> None:
    schema = example_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(front_matter(story))


def test_schema_lists_registry_ids_and_rejects_mistakes(project: Project) -> None:
    code, out, _ = run("schema", "--root", project.root)
    schema = json.loads(out)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$defs"]["kpi"]["enum"] == ["nps", "csat", "ticket-volume", "turnover", "cpa"]
    assert schema["$defs"]["team"]["enum"] == ["marketing", "support", "hr", "finance"]
    assert schema["$defs"]["author"]["enum"] == ["ana", "ben", "chloe"]
    assert schema["$defs"]["campaign"]["enum"] == ["spring"]
    assert set(schema["properties"]) == set(validate.STORY_KEYS)
    validator = jsonschema.Draft202012Validator(schema)
    good = {"title": "T", "date": "2026-03-02 09:30:00+01:00", "authors": ["ana"], "kpis": ["nps"],
            "inspired_by": [{"team": "support", "note": "n"}], "results": {"nps": "+3"}}
    assert not list(validator.iter_errors(good))
    for bad in ({"kpis": ["csatt"]}, {"authors": []}, {"date": "next week"}, {"cover": "a.png"},
                {"results": {"csatt": "x"}}, {"titel": "typo"}, {"featured": "yes"}):
        assert list(validator.iter_errors({**good, **bad})), bad
    assert [e.message for e in validator.iter_errors({"title": "T"})] == [
        "'date' is a required property", "'authors' is a required property"]


def test_fields_document_every_key_the_validator_knows() -> None:
    assert [f.key for f in FIELDS] == list(validate.STORY_KEYS)


# --- storyhub codeowners ------------------------------------------------------------------------

def test_codeowners_maps_team_folders_to_owners(project: Project) -> None:
    code, out, err = run("codeowners", "--root", project.root)
    assert code == 0 and err == ""
    assert [line for line in out.splitlines() if line and not line.startswith("#")] == [
        "/stories/marketing/ @acme/mkt",
        "/stories/support/ @acme/support",
        "/stories/hr/ @acme/hr",
        "/stories/finance/ @acme/finance",
    ]


def test_codeowners_warns_about_missing_and_malformed_owners(project: Project) -> None:
    project.registry("teams", [{"id": "hr", "name": "HR", "owners": ["@acme/hr", "hr team"]},
                               {"id": "support", "name": "Support"}])
    project.registry("kpis", [])
    project.registry("authors", [])
    project.registry("campaigns", [])
    project.registry("newsletters", [])
    code, out, err = run("codeowners", "--root", project.root)
    assert code == 0
    assert "/stories/hr/ @acme/hr\n# /stories/support/ has no owners in teams.yml\n" in out
    assert err.splitlines() == [
        "storyhub codeowners: warning: team 'hr': owner 'hr team' is not @user, @org/team or an e-mail "
        "address; left out",
        "storyhub codeowners: warning: team 'support' has no owners in teams.yml; its stories get no "
        "required reviewer",
    ]


def test_commands_that_need_ids_stop_on_a_broken_registry(project: Project) -> None:
    project.registry("teams", "- id: hr\n  name: [unclosed\n")
    code, out, err = run("codeowners", "--root", project.root)
    assert code == 1 and out == ""
    assert "stories/teams.yml:2: invalid YAML" in err
    assert err.endswith("Fix the registries first (storyhub check lists everything).\n")
