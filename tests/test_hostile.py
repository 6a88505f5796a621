"""Hostile input: each case gives one clear `path:line: problem (fix)` or a safe result.

Never a traceback, a hang or a story that silently disappears.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from conftest import TEAMS, Project, story_text
from storyhub.load import load_all
from storyhub.validate import validate

STORY = "stories/hr/2026-03-02-x.md"


def problems_of(project: Project, max_bytes: int = 1_000_000) -> list[str]:
    """Every problem validation reports, as the build prints them."""
    stories = project.root / "stories"
    checked = validate(load_all(stories, project.root, max_bytes), stories, project.root, ZoneInfo("UTC"))
    return [str(p) for p in checked.problems]


def add_story(project: Project, text: str | bytes, name: str = "hr/2026-03-02-x.md") -> None:
    project.add(name, text)


def only_problem(project: Project, **options: int) -> str:
    found = problems_of(project, **options)
    assert len(found) == 1, found
    return found[0]


# --- YAML -----------------------------------------------------------------------------------

def test_invalid_yaml(project: Project) -> None:
    add_story(project, "---\ntitle: [unclosed\ndate: 2026-03-02\n---\nBody\n")
    assert only_problem(project) == (
        f"{STORY}:2: invalid YAML: while parsing a flow sequence; expected ',' or ']', but got ':' "
        "(check indentation, colons and quotes; quote text that contains ': ' or '#')")


def test_empty_front_matter(project: Project) -> None:
    add_story(project, "---\n---\nBody\n")
    assert only_problem(project) == f"{STORY}:2: front matter is empty (add at least title, date and authors)"


def test_front_matter_of_only_comments_is_empty(project: Project) -> None:
    add_story(project, "---\n  \n# nothing here\n---\nBody\n")
    assert only_problem(project) == f"{STORY}:2: front matter is empty (add at least title, date and authors)"


def test_empty_file(project: Project) -> None:
    add_story(project, "")
    assert only_problem(project) == (
        f"{STORY}:1: story has no front matter (start the file with a line '---', the keys "
        "(title, date, authors), and '---')")


def test_file_without_front_matter(project: Project) -> None:
    add_story(project, "# Just Markdown\n\nNo keys at all.\n")
    assert only_problem(project).startswith(f"{STORY}:1: story has no front matter")


def test_front_matter_never_closed(project: Project) -> None:
    add_story(project, "---\ntitle: Open\ndate: 2026-03-02\nauthors: [chloe]\n\nBody text\n")
    assert only_problem(project).startswith(f"{STORY}:1: story has no front matter")


BILLION_LAUGHS = "---\n" + "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 10)) + "title: x\n---\nb\n"


def test_yaml_alias_bomb_is_refused_quickly(project: Project) -> None:
    add_story(project, BILLION_LAUGHS)
    started = time.perf_counter()
    assert only_problem(project) == (
        f"{STORY}:2: YAML is too large or too deeply aliased (over 10000 nodes) "
        "(remove anchors/aliases (&, *) and keep front matter short)")
    assert time.perf_counter() - started < 2


def test_recursive_yaml_alias(project: Project) -> None:
    add_story(project, "---\na: &a [*a, *a]\ntitle: x\n---\nb\n")
    assert "YAML is too large or too deeply aliased" in only_problem(project)


def test_deeply_nested_yaml(project: Project) -> None:
    add_story(project, "---\ntitle: x\nx: " + "[" * 5000 + "]" * 5000 + "\n---\nb\n")
    assert only_problem(project).startswith(f"{STORY}:2: invalid YAML: maximum recursion depth exceeded")


def test_duplicate_keys(project: Project) -> None:
    add_story(project, "---\ntitle: First\ntitle: Second\ndate: 2026-03-02\nauthors: [chloe]\n---\nb\n")
    assert only_problem(project) == \
        f"{STORY}:3: duplicate key 'title' (keep one of them; YAML would silently use the last)"


def test_front_matter_that_is_a_list(project: Project) -> None:
    add_story(project, "---\n- title\n- date\n---\nb\n")
    assert only_problem(project) == \
        f"{STORY}:2: front matter must be a mapping of keys to values (write one 'key: value' per line)"


def test_front_matter_that_is_a_scalar(project: Project) -> None:
    add_story(project, "---\nJust a sentence\n---\nb\n")
    assert only_problem(project) == \
        f"{STORY}:2: front matter must be a mapping of keys to values (write one 'key: value' per line)"


def test_python_object_tags_are_not_executed(project: Project, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    add_story(project, f"---\ntitle: !!python/object/apply:os.system ['touch {marker}']\n"
                       "date: 2026-03-02\nauthors: [chloe]\n---\nb\n")
    assert "could not determine a constructor for the tag" in only_problem(project)
    assert not marker.exists()


def test_unhashable_key(project: Project) -> None:
    add_story(project, "---\ntitle: x\n? [a, b]\n: value\n---\nb\n")
    assert only_problem(project).startswith(
        f"{STORY}:2: invalid YAML: while constructing a mapping; found unhashable key")


def test_integer_too_long_to_convert(project: Project) -> None:
    add_story(project, story_text(authors=["chloe"]).replace(
        "authors:", "featured: " + "9" * 5000 + "\nauthors:", 1))
    assert "invalid YAML: Exceeds the limit (4300 digits)" in only_problem(project)


# --- Bytes and encodings ----------------------------------------------------------------------

def test_byte_order_mark_is_accepted(project: Project) -> None:
    add_story(project, b"\xef\xbb\xbf" + story_text(title="With BOM", authors=["chloe"]).encode())
    assert problems_of(project) == []
    page = project.build().html("stories/x/")
    assert page.xpath("//h1")[0].text == "With BOM"


def test_crlf_line_endings_are_accepted(project: Project) -> None:
    text = story_text(title="Windows", authors=["chloe"], body="First line.\n\nSecond paragraph.")
    add_story(project, text.replace("\n", "\r\n").encode())
    assert problems_of(project) == []
    built = project.build()
    body = built.html("stories/x/").xpath("//div[@class='sh-story__body']/p/text()")
    assert body == ["First line.", "Second paragraph."]
    assert "\r" not in built.text("stories/x/")


def test_old_mac_line_endings_are_accepted(project: Project) -> None:
    add_story(project, story_text(title="Old Mac", authors=["chloe"]).replace("\n", "\r").encode())
    assert problems_of(project) == []


def test_latin1_file(project: Project) -> None:
    add_story(project, story_text(title="Café", authors=["chloe"]).encode("latin-1"))
    assert only_problem(project) == \
        f"{STORY}:2: file is not UTF-8 (byte 0xe9) (save the file with UTF-8 encoding)"


def test_utf16_file(project: Project) -> None:
    add_story(project, story_text(authors=["chloe"]).encode("utf-16"))
    assert only_problem(project) == \
        f"{STORY}:1: file is not UTF-8 (byte 0xff) (save the file with UTF-8 encoding)"


def test_control_character_in_body(project: Project) -> None:
    add_story(project, story_text(authors=["chloe"], body="Fine line.\n\nBroken \x00 line."))
    assert only_problem(project) == (
        f"{STORY}:9: file contains the invisible character U+0000 "
        "(delete it: web pages and feeds cannot contain it; retyping the line removes it)")


def test_control_character_written_as_a_yaml_escape(project: Project) -> None:
    add_story(project, '---\ntitle: "Bell \\a and \\x1b"\ndate: 2026-03-02\nauthors: [chloe]\n---\nb\n')
    assert only_problem(project) == (
        f"{STORY}:2: text contains the invisible character U+0007 "
        "(remove the escape sequence that produces it)")


def test_lone_surrogate_written_as_a_yaml_escape(project: Project) -> None:
    # Python would fail much later, writing the page as UTF-8.
    add_story(project, '---\ntitle: "half \\ud800 a pair"\ndate: 2026-03-02\nauthors: [chloe]\n---\nb\n')
    assert only_problem(project).startswith(f"{STORY}:2: text contains the invisible character U+D800")


def test_ten_megabyte_story(project: Project) -> None:
    add_story(project, story_text(authors=["chloe"], body="word " * 2_100_000))
    started = time.perf_counter()
    assert only_problem(project) == (
        f"{STORY}:1: file is 10,500,060 bytes, over the limit of 1,000,000 "
        "(shorten it or move large content into linked files)")
    assert time.perf_counter() - started < 2


def test_story_size_limit_is_the_max_story_bytes_option(project: Project) -> None:
    project.config(max_story_bytes=2000)
    add_story(project, story_text(authors=["chloe"], body="word " * 500))
    project.story("hr", "2026-03-03-short", authors=["chloe"])
    message = project.build_error()
    assert "StoryHub found 1 problem(s)" in message
    assert f"{STORY}:1: file is 2,560 bytes, over the limit of 2,000" in message


def test_a_story_that_is_not_a_regular_file(project: Project) -> None:
    fifo = project.root / "stories" / "hr" / "2026-03-02-x.md"
    fifo.parent.mkdir(parents=True)
    os.mkfifo(fifo)  # reading it would block forever
    assert only_problem(project) == f"{STORY}:1: not a regular file (replace it with a plain text file)"


def test_a_story_that_is_a_symbolic_link(project: Project, tmp_path: Path) -> None:
    outside = tmp_path / "secret.md"
    outside.write_text(story_text(title="Secret", authors=["chloe"]), "utf-8")
    link = project.root / "stories" / "hr" / "2026-03-02-x.md"
    link.parent.mkdir(parents=True)
    link.symlink_to(outside)
    assert only_problem(project) == \
        f"{STORY}:1: story is a symbolic link (commit the story file itself, not a link to it)"


# --- Values -----------------------------------------------------------------------------------

def test_title_of_5000_characters(project: Project) -> None:
    add_story(project, story_text(title="T" * 5000, authors=["chloe"]))
    assert only_problem(project) == f"{STORY}:2: 'title' is 5000 characters long, over 200 (shorten it)"


@pytest.mark.parametrize("written", ["2026-02-30", "'2026-02-30'", "2026-02-29", "2025-13-01"])
def test_impossible_dates(project: Project, written: str) -> None:
    add_story(project, f"---\ntitle: x\ndate: {written}\nauthors: [chloe]\n---\nb\n")
    shown = written.strip("'")
    assert only_problem(project) == (
        f"{STORY}:3: date '{shown}' is not a valid date "
        "(write it as YYYY-MM-DD or 'YYYY-MM-DD HH:MM:SS+01:00')")


def test_impossible_date_in_the_file_name(project: Project) -> None:
    add_story(project, story_text(authors=["chloe"], date="2026-03-02"), name="hr/2026-02-30-x.md")
    assert only_problem(project) == (
        "stories/hr/2026-02-30-x.md:1: file name date 2026-02-30 is not a valid date "
        "(rename the file with the story's real date)")


def test_date_that_is_a_number(project: Project) -> None:
    add_story(project, "---\ntitle: x\ndate: 20260302\nauthors: [chloe]\n---\nb\n")
    assert only_problem(project).startswith(f"{STORY}:3: date 20260302 is not a valid date")


# --- Slugs ------------------------------------------------------------------------------------

def test_slugs_colliding_after_case_folding(project: Project) -> None:
    add_story(project, story_text(authors=["chloe"], slug="Same"))
    project.add("support/2026-03-03-y.md", story_text(authors=["ben"], slug="same"))
    assert only_problem(project) == (
        f"{STORY}:6: slug 'Same' is not a valid URL slug "
        "(use lowercase letters, digits and single hyphens, e.g. 'new-onboarding')")


def test_file_names_colliding_after_case_folding(project: Project) -> None:
    project.add("hr/2026-03-02-Same.md", story_text(authors=["chloe"]))
    project.add("support/2026-03-03-same.md", story_text(authors=["ben"]))
    assert only_problem(project) == (
        "stories/hr/2026-03-02-Same.md:2: slug 'Same' is not a valid URL slug "
        "(use lowercase letters, digits and single hyphens, e.g. 'new-onboarding')")


def test_slugs_colliding_after_unicode_normalisation(project: Project) -> None:
    add_story(project, story_text(authors=["chloe"], slug="ｓａｍｅ"))  # full-width letters
    project.add("support/2026-03-03-same.md", story_text(authors=["ben"]))
    assert only_problem(project).startswith(f"{STORY}:6: slug 'ｓａｍｅ' is not a valid URL slug")


def test_same_slug_in_two_folders(project: Project) -> None:
    add_story(project, story_text(authors=["chloe"]), name="hr/2026-03-02-same.md")
    project.add("support/2026-03-03-same.md", story_text(authors=["ben"]))
    found = problems_of(project)
    assert found == [
        "stories/hr/2026-03-02-same.md:2: duplicate slug 'same' (also used by "
        "stories/support/2026-03-03-same.md; set a different 'slug:')",
        "stories/support/2026-03-03-same.md:2: duplicate slug 'same' (also used by "
        "stories/hr/2026-03-02-same.md; set a different 'slug:')",
    ]


@pytest.mark.parametrize("slug", ["../../etc", "/etc/passwd", "a/b", "..", "a\\b", "%2e%2e"])
def test_slugs_that_would_leave_the_output_folder(project: Project, slug: str) -> None:
    add_story(project, story_text(authors=["chloe"], slug=slug))
    assert only_problem(project).startswith(f"{STORY}:6: slug {slug!r} is not a valid URL slug")


def test_slug_escape_fails_the_build_and_writes_nothing(project: Project) -> None:
    add_story(project, story_text(authors=["chloe"], slug="../../escaped"))
    message = project.build_error()
    assert f"{STORY}:6: slug '../../escaped' is not a valid URL slug" in message
    assert not list(project.root.parent.rglob("escaped*"))


def test_file_name_that_is_only_dots(project: Project) -> None:
    add_story(project, story_text(authors=["chloe"]), name="hr/2026-03-02-..md")
    assert only_problem(project).startswith(
        "stories/hr/2026-03-02-..md:2: slug '.' is not a valid URL slug")


def test_free_text_tags_cannot_make_paths(project: Project) -> None:
    add_story(project, story_text(title="Tagged", authors=["chloe"], tags=["../../etc", "a/b"]))
    built = project.build()
    assert "#../../etc" in built.html("stories/x/").xpath("//p[@class='sh-tags']")[0].text_content()
    written = {p.relative_to(project.root).parts[0] for p in project.root.rglob("*")}
    assert written <= {"docs", "stories", "site", ".cache", "mkdocs.yml"}


# --- Ids with odd Unicode --------------------------------------------------------------------

@pytest.mark.parametrize(("written", "shown", "note"), [
    ("chlo\u200be", "chlo\\u200be", "U+200B ZERO WIDTH SPACE"),
    ("\u202echloe", "\\u202echloe", "U+202E RIGHT-TO-LEFT OVERRIDE"),
    ("ｃｈｌｏｅ", "ｃｈｌｏｅ",
     "U+FF43 FULLWIDTH LATIN SMALL LETTER C, U+FF48 FULLWIDTH LATIN SMALL LETTER H"),
    ("ch\u00a0loe", "ch\\u00a0loe", "U+00A0 NO-BREAK SPACE"),
])
def test_odd_unicode_in_front_matter_ids(project: Project, written: str, shown: str, note: str) -> None:
    add_story(project, story_text(authors=[written]))
    assert only_problem(project) == (
        f"{STORY}:5: unknown author '{shown}' (did you mean 'chloe'? It contains {note}; ids use only "
        "a-z, 0-9 and '-'. Known authors are listed in stories/authors.yml)")


def test_odd_unicode_in_kpi_team_and_campaign_ids(project: Project) -> None:
    add_story(project, story_text(authors=["chloe"], kpis=["turn\u200dover"], featuring=["ｓupport"],
                                  campaign="spring\u2060", inspired_by=[{"team": "\u200bmarketing"}],
                                  results={"turn\u200dover": "-2%"}))
    found = problems_of(project)
    assert [p.split(" (")[0] for p in found] == [
        f"{STORY}:7: unknown KPI 'turn\\u200dover'",
        f"{STORY}:9: unknown team 'ｓupport'",
        f"{STORY}:10: unknown campaign 'spring\\u2060'",
        f"{STORY}:12: unknown team '\\u200bmarketing' in inspired_by",
        f"{STORY}:14: unknown KPI 'turn\\u200dover' in results",
    ]
    assert "did you mean 'turnover'? It contains U+200D ZERO WIDTH JOINER" in found[0]
    assert "did you mean 'support'? It contains U+FF53 FULLWIDTH LATIN SMALL LETTER S" in found[1]


def test_odd_unicode_in_registry_ids(project: Project) -> None:
    project.registry("teams", [*TEAMS, {"id": "sales\u200b", "name": "Fake"}, {"id": "ｈｒ", "name": "Wide"}])
    found = problems_of(project)
    assert found == [
        "stories/teams.yml:29: team id 'sales\\u200b' is missing or not a valid id (use lowercase letters, "
        "digits and hyphens, e.g. 'customer-support'. It contains U+200B ZERO WIDTH SPACE; ids use only "
        "a-z, 0-9 and '-'.)",
        "stories/teams.yml:31: team id 'ｈｒ' is missing or not a valid id (use lowercase letters, "
        "digits and hyphens, e.g. 'customer-support'. It contains U+FF48 FULLWIDTH LATIN SMALL LETTER H, "
        "U+FF52 FULLWIDTH LATIN SMALL LETTER R; ids use only a-z, 0-9 and '-'.)",
    ]


def test_team_folder_with_invisible_character(project: Project) -> None:
    add_story(project, story_text(authors=["chloe"]), name="hr\u200b/2026-03-02-x.md")
    assert only_problem(project) == (
        "stories/hr\u200b/2026-03-02-x.md:1: folder 'hr\\u200b' is not a team id (did you mean 'hr'? "
        "It contains U+200B ZERO WIDTH SPACE; ids use only a-z, 0-9 and '-'. Move the story to "
        "stories/<team-id>/)")


# --- Places and registries ---------------------------------------------------------------------

def test_story_directly_in_the_stories_folder(project: Project) -> None:
    project.add("2026-03-02-x.md", story_text())
    assert only_problem(project) == ("stories/2026-03-02-x.md:1: story is not in a team folder "
                                     "(move it to stories/<team-id>/<YYYY-MM-DD>-<slug>.md)")


def test_story_one_folder_too_deep(project: Project) -> None:
    project.add("hr/2026/2026-03-02-x.md", story_text(authors=["chloe"]))
    assert only_problem(project) == ("stories/hr/2026/2026-03-02-x.md:1: story is not in a team folder "
                                     "(move it to stories/<team-id>/<YYYY-MM-DD>-<slug>.md)")


def test_file_name_without_a_date(project: Project) -> None:
    project.add("hr/onboarding.md", story_text(authors=["chloe"]))
    assert "stories/hr/onboarding.md:1: file name must look like YYYY-MM-DD-slug.md " \
        "(rename it, e.g. 2026-03-02-new-onboarding.md)" in problems_of(project)


def test_registry_that_is_a_mapping(project: Project) -> None:
    project.registry("authors", "ana:\n  name: Ana Lima\n  team: marketing\n")
    found = problems_of(project)
    assert found[0] == ("stories/authors.yml:1: registry must be a YAML list of entries "
                        "(start each entry with '- id: ...')")


def test_registry_entry_that_is_not_a_mapping(project: Project) -> None:
    project.registry("authors", "- ana\n- id: ben\n  name: Ben\n  team: support\n")
    assert problems_of(project)[0] == ("stories/authors.yml:1: registry entry must be a mapping "
                                       "(write it as '- id: ...' followed by its keys)")


def test_registry_with_invalid_yaml(project: Project) -> None:
    project.registry("campaigns", "- id: spring\n  name: [unclosed\n")
    assert problems_of(project)[0].startswith("stories/campaigns.yml:2: invalid YAML")


def test_registry_alias_bomb(project: Project) -> None:
    project.registry("authors", BILLION_LAUGHS.replace("---\n", "").replace("title: x\n", "")
                     .replace("b\n", ""))
    assert problems_of(project)[0].startswith(
        "stories/authors.yml:1: YAML is too large or too deeply aliased")


def test_registry_with_duplicate_keys(project: Project) -> None:
    project.registry("teams", [*TEAMS[:3], {"id": "finance", "name": "Finance"}])
    text = (project.root / "stories" / "teams.yml").read_text("utf-8")
    (project.root / "stories" / "teams.yml").write_text(text + "  name: Finance again\n", "utf-8")
    assert "stories/teams.yml:24: duplicate key 'name' (keep one of them; YAML would silently use " \
        "the last)" in problems_of(project)


def test_missing_required_registry(project: Project) -> None:
    (project.root / "stories" / "kpis.yml").unlink()
    assert problems_of(project)[0] == \
        "stories/kpis.yml:1: missing registry kpis.yml (create stories/kpis.yml with a list of kpis)"


# --- Whole builds: one message, no traceback ----------------------------------------------------

def test_every_broken_story_is_listed_in_one_failed_build(project: Project) -> None:
    project.add("hr/2026-03-02-a.md", BILLION_LAUGHS)
    project.add("hr/2026-03-02-b.md", b"\xff\xfe")
    project.add("hr/2026-03-02-c.md", "---\n- a list\n---\n")
    project.add("hr/2026-03-02-d.md", story_text(authors=["chloe"], date="2026-02-30"))
    project.story("hr", "2026-03-02-fine", authors=["chloe"])
    message = project.build_error()
    assert "StoryHub found 4 problem(s) in the stories; nothing was built:" in message
    for name in "abcd":
        assert f"stories/hr/2026-03-02-{name}.md:" in message
    assert not (project.root / "site" / "stories").exists()


def test_cli_build_of_hostile_stories_prints_no_traceback(project: Project) -> None:
    project.add("hr/2026-03-02-a.md", BILLION_LAUGHS)
    project.add("hr/2026-03-02-b.md", '---\ntitle: "\\ud800"\ndate: 2026-03-02\nauthors: [chloe]\n---\n')
    project.add("hr/2026-03-02-c.md", story_text(authors=["chloe"], body="x\x00y"))
    project.add("hr/2026-03-02-d.md", "---\ntitle: x\nx: " + "[" * 5000 + "]" * 5000 + "\n---\nb\n")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "true"}
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict"], cwd=project.root,
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 1
    assert "StoryHub found 4 problem(s)" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
