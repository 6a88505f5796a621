"""Property-based tests: whatever a contributor writes, validation and the build either
succeed (and then every story is conserved and safe) or fail with located problems.

Never another exception, never a story that vanishes without a problem naming its file.
"""

from __future__ import annotations

import logging
import re
import tempfile
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import lxml.html
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from mkdocs.exceptions import Abort

from conftest import Project
from storyhub.load import load_all
from storyhub.validate import validate

TEAMS = ["marketing", "support", "hr", "finance"]
FOLDERS = [*TEAMS, "sales", "HR", "hr\u200b"]
AUTHORS = ["ana", "ben", "chloe", "nobody", "Ana", "ｂｅｎ"]
KPIS = ["nps", "csat", "ticket-volume", "turnover", "cpa", "unknown"]
PROBLEM_LINE = re.compile(r"^  stories/.+:\d+: \S.*$")

# Text as people paste it: any printable text, markup, odd spaces and invisible characters.
words = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60)
markup = st.sampled_from([
    "<script>pwned()</script>", "<img src=x onerror=pwned()>", '<a href="javascript:pwned()">x</a>',
    "<iframe src=//evil.example></iframe>", "<style>*{display:none}</style>", "</textarea>",
    "<!-- more -->", "{: onclick=pwned() }", "&lt;b&gt;", "<b>bold", "</div></article>", "\u202e",
    "<svg onload=pwned()>", "<math><style><img src=x onerror=pwned()>", "]]>", '"\'><pwned-x>',
])
text = st.one_of(words, markup, st.lists(st.one_of(words, markup), max_size=4).map(" ".join))
day = st.dates(min_value=date(2019, 1, 1), max_value=date(2027, 12, 31))
scalar = st.one_of(text, st.integers(-10**6, 10**6), st.booleans(), st.none(), st.floats(allow_nan=True),
                   day.map(str))
junk = st.recursive(scalar, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                    st.dictionaries(text, inner, max_size=3)),
                    max_leaves=8)


def maybe(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly a valid value, sometimes anything at all."""
    return st.one_of(good, good, good, junk)


front_matter = st.fixed_dictionaries(
    {"title": maybe(text.filter(lambda t: t.strip() != "")),
     "date": maybe(day.map(str)),
     "authors": maybe(st.lists(st.sampled_from(AUTHORS), min_size=1, max_size=3))},
    optional={
        "kpis": maybe(st.lists(st.sampled_from(KPIS), max_size=3)),
        "featuring": maybe(st.lists(st.sampled_from(FOLDERS), max_size=2)),
        "inspired_by": maybe(st.lists(st.fixed_dictionaries({"team": st.sampled_from(FOLDERS)},
                                                            optional={"note": text}), max_size=2)),
        "campaign": maybe(st.sampled_from(["spring", "autumn"])),
        "audience": maybe(text),
        "results": maybe(st.dictionaries(st.sampled_from(KPIS), text, max_size=2)),
        "summary": maybe(text),
        "tags": maybe(st.lists(text, max_size=3)),
        "featured": maybe(st.booleans()),
        "draft": maybe(st.booleans()),
        "slug": maybe(st.from_regex(r"[a-z0-9]{1,8}(-[a-z0-9]{1,8})?", fullmatch=True)),
        "team": maybe(st.sampled_from(FOLDERS)),
        "cover_alt": text,
        "mystery": junk,
    },
)
blocks = st.sampled_from([
        "# Heading", "## Results", "- item\n- item", "| a | b |\n|---|---|\n| 1 | 2 |", "> quote",
        "![remote](https://tracker.example/p.gif)", "[link](https://example.com)", "```\ncode <b>\n```",
        "    indented", "***", "<details><summary>s</summary>x</details>", "\t\ttabs",
])
paragraph = st.one_of(text, markup, blocks, st.just("\r\n"))
body = st.lists(paragraph, max_size=8).map("\n\n".join)
file_name = st.one_of(
    st.builds(lambda d, s: f"{d}-{s}.md", day, st.from_regex(r"[a-z0-9]{1,10}(-[a-z0-9]{1,6})?",
                                                             fullmatch=True)),
    st.sampled_from(["notes.md", "2026-02-30-bad-day.md", "2026-03-02-Upper.md", "2026-03-02-..md"]),
)


@st.composite
def story_file(draw: st.DrawFn) -> tuple[str, str | bytes]:
    """(path under stories/, content): front matter and body, or something worse."""
    folder = draw(st.sampled_from([*TEAMS, *TEAMS, *FOLDERS]))
    name = draw(file_name)
    kind = draw(st.sampled_from(["yaml", "yaml", "yaml", "raw", "bytes"]))
    if kind == "yaml":
        front = yaml.safe_dump(draw(front_matter), allow_unicode=True, sort_keys=False)
        content: str | bytes = f"---\n{front}---\n{draw(body)}\n"
    elif kind == "raw":  # hand-written front matter: any text between the fences
        content = f"---\n{draw(st.one_of(text, words))}\n---\n{draw(body)}\n"
    else:
        content = draw(st.binary(max_size=200))
    return f"{folder}/{name}", content


# Valid stories, with any text a contributor might write (markup included) where text goes.
clean_words = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Cn")), max_size=60)
clean_text = st.one_of(clean_words, markup, st.lists(st.one_of(clean_words, markup), max_size=4)
                       .map(" ".join))
clean_body = st.lists(st.one_of(clean_text, blocks), max_size=8).map("\n\n".join).map(
    # A local image must exist (a validation error otherwise); remote ones become links.
    lambda text: text.replace("src=x", "src=//tracker.example/x.gif"))
slug = st.from_regex(r"[a-z0-9]{1,10}(-[a-z0-9]{1,6})?", fullmatch=True)


@st.composite
def valid_story(draw: st.DrawFn) -> tuple[str, str | bytes]:
    """A story that validates: known ids, real dates (some in the future), any text."""
    team = draw(st.sampled_from(TEAMS))
    kpis = draw(st.lists(st.sampled_from(KPIS[:-1]), unique=True, max_size=3))
    data: dict[str, Any] = {
        "title": draw(clean_text.filter(lambda t: t.strip() != "").map(lambda t: t.strip()[:200])),
        "date": str(draw(day)),
        "authors": draw(st.lists(st.sampled_from(AUTHORS[:3]), min_size=1, max_size=3, unique=True)),
    }
    if kpis or draw(st.booleans()):
        data["kpis"] = kpis
    optional: dict[str, st.SearchStrategy[Any]] = {
        "featuring": st.lists(st.sampled_from(TEAMS), unique=True, max_size=2),
        "inspired_by": st.lists(st.fixed_dictionaries({"team": st.sampled_from(TEAMS)},
                                                      optional={"note": clean_text}), max_size=2),
        "campaign": st.just("spring"),
        "audience": clean_words.map(lambda t: t[:60]),
        "results": st.fixed_dictionaries({k: clean_text.filter(lambda t: t.strip() != "")
                                          for k in kpis}) if kpis else st.just({}),
        "summary": clean_text,
        "tags": st.lists(clean_words.filter(lambda t: t.strip() != ""), max_size=3),
        "featured": st.booleans(),
        "draft": st.booleans(),
    }
    for key, strategy in optional.items():
        if draw(st.booleans()):
            data[key] = draw(strategy)
    front = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    return f"{team}/{draw(day)}-{draw(slug)}.md", f"---\n{front}---\n{draw(clean_body)}\n"


def _slug_of(file: tuple[str, str | bytes]) -> str:
    return file[0].split("/", 1)[1][11:].lower()


# Mostly valid stories with some broken ones; or only valid ones, so that builds succeed too.
mixed_stories = st.lists(st.one_of(valid_story(), story_file()), min_size=1, max_size=4, unique_by=_slug_of)
valid_stories = st.lists(valid_story(), min_size=1, max_size=4, unique_by=_slug_of)
stories = st.one_of(mixed_stories, valid_stories)


def write(project: Project, files: list[tuple[str, str | bytes]]) -> None:
    for path, content in files:
        project.add(path, content if isinstance(content, bytes) else content)


def check_problems_or_stories(project: Project, files: list[tuple[str, str | bytes]]) -> None:
    """Validation's promise: each file is a story, or at least one error names the file."""
    stories_dir = project.root / "stories"
    checked = validate(load_all(stories_dir, project.root), stories_dir, project.root, ZoneInfo("UTC"))
    good = {s.path for s in checked.stories}
    errors = {p.path for p in checked.errors}
    for path, _ in files:
        shown = f"stories/{path}"
        assert shown in good or shown in errors, f"{shown} vanished without a problem"
    for problem in checked.problems:
        assert problem.line >= 1 and problem.message.strip(), problem
        assert str(problem).startswith(f"{problem.path}:{problem.line}: ")


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(files=stories)
def test_validation_never_raises_and_never_loses_a_file(files: list[tuple[str, str | bytes]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        project = Project(Path(folder) / "project")
        write(project, files)
        check_problems_or_stories(project, files)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(content=st.binary(max_size=400), folder=st.sampled_from(FOLDERS))
def test_any_bytes_are_a_story_or_a_located_problem(content: bytes, folder: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        project = Project(Path(tmp) / "project")
        files: list[tuple[str, str | bytes]] = [(f"{folder}/2026-03-02-x.md", b"---\n" + content)]
        write(project, files)
        check_problems_or_stories(project, files)


def injected(page: Path) -> list[str]:
    """Markup from a story that became real elements (the story body is sanitised, the rest escaped)."""
    tree = lxml.html.fromstring(page.read_bytes())
    found = [e.tag for e in tree.iter() if isinstance(e.tag, str) and e.tag.startswith("pwned")]
    found += [f"script {s.text!r}" for s in tree.xpath("//script") if "pwned" in (s.text or "")
              and s.get("type") != "application/json"]
    found += [f"{e.tag}[{k}]" for e in tree.iter() if isinstance(e.tag, str)
              for k, v in e.attrib.items() if k.startswith("on")
              or (k in ("href", "src", "action") and "".join(v.split()).lower().startswith("javascript:"))]
    found += [f"<{e.tag}>" for e in tree.xpath("//*[contains(@class,'sh-story__body')]//*")
              if e.tag in ("iframe", "style", "svg", "math", "form", "object", "embed")]
    return found


def build_outcome(project: Project) -> tuple[Path | None, list[str]]:
    """Build; return (site, []) or (None, the errors MkDocs logged)."""
    errors: list[str] = []
    handler = logging.Handler(logging.ERROR)
    handler.emit = lambda record: errors.append(record.getMessage())  # type: ignore[method-assign]
    logging.getLogger("mkdocs").addHandler(handler)
    try:
        return project.build().site, []
    except Abort as error:
        return None, [*errors, str(error)]
    finally:
        logging.getLogger("mkdocs").removeHandler(handler)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(files=stories)
def test_a_build_succeeds_safely_or_fails_with_located_problems(
        files: list[tuple[str, str | bytes]], warnings_guard: Any) -> None:
    # Random front matter legitimately warns (unknown keys, which strict mode makes fatal);
    # every warning must still be located, which is checked below.
    warnings_guard.expect("")
    with tempfile.TemporaryDirectory() as tmp:
        project = Project(Path(tmp) / "project")
        write(project, files)
        site, errors = build_outcome(project)
        warnings = [r.getMessage() for r in warnings_guard.records]
        warnings_guard.records.clear()
        for message in warnings:
            assert re.match(r"^stories/.+:\d+: \S", message), message
        if site is None:
            message = "\n".join(errors)
            assert "Traceback" not in message
            event("the build failed" + (" on problems" if "StoryHub found" in message else " on warnings"))
            if "StoryHub found" in message:
                listed = [line for line in message.splitlines() if line.startswith("  ")]
                assert listed and all(PROBLEM_LINE.match(line) for line in listed), message
            else:  # strict mode: the warnings above were the problems
                assert "warnings in strict mode" in message and warnings, message
            return
        event("the build succeeded")
        # The build ran the conservation check itself; the pages are also safe.
        found = {p.relative_to(site).as_posix(): injected(p) for p in sorted(site.rglob("*.html"))}
        assert {page: bad for page, bad in found.items() if bad} == {}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files=valid_stories)
def test_the_valid_generator_makes_valid_stories(files: list[tuple[str, str | bytes]]) -> None:
    """So that the build property sees successful builds, not only failures."""
    with tempfile.TemporaryDirectory() as folder:
        project = Project(Path(folder) / "project")
        write(project, files)
        stories_dir = project.root / "stories"
        checked = validate(load_all(stories_dir, project.root), stories_dir, project.root, ZoneInfo("UTC"))
        assert [str(p) for p in checked.problems] == []
        assert len(checked.stories) == len(files)
