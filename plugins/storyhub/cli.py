"""The `storyhub` command: adapts the command line to the project, scaffold, schema and report
modules. Exit codes: 0 fine, 1 problems found (or nothing created), 2 the command was misused."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TextIO

from . import codeowners as codeowners_mod
from . import report, scaffold
from . import schema as schema_mod
from .load import Loaded
from .model import Registry
from .project import Settings, SettingsError, check, load_project, read_settings, registry_problems
from .validate import slug_key, suggest

Ask = Callable[[str], str]


class UsageError(Exception):
    """The command line cannot be carried out as given; exit code 2."""


def _parser() -> argparse.ArgumentParser:
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument("--root", type=Path, help="project folder (default: the folder of the nearest "
                       "mkdocs.yml, else the current folder)")
    where.add_argument("--config", type=Path, help="mkdocs.yml to read the storyhub plugin's "
                       "stories_dir and timezone from")
    parser = argparse.ArgumentParser(prog="storyhub", description="Write and check StoryHub stories.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    new = commands.add_parser("new", parents=[where], help="create a story file from a template",
                              description="Create stories/<team>/<date>-<slug>.md. Missing values are "
                              "asked for when run in a terminal.")
    new.add_argument("--team", help="id of the team telling the story (a folder under stories/)")
    new.add_argument("--title", help="the headline")
    new.add_argument("--author", action="append", default=[], dest="authors", metavar="AUTHOR",
                     help="author id; repeat for several authors")
    new.add_argument("--kpi", action="append", default=[], dest="kpis", metavar="KPI",
                     help="KPI id the story moved; repeat for several")
    new.add_argument("--date", help="publication date YYYY-MM-DD (default: today; a future date "
                     "schedules the story)")
    new.add_argument("--slug", help="URL slug (default: made from the title)")

    check_cmd = commands.add_parser("check", parents=[where], help="validate stories and registries",
                                    description="Validate exactly as the build does and list every "
                                    "problem as path:line: message (fix).")
    check_cmd.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                           help="only report problems of these files or folders (registries and "
                           "rules across stories are always checked)")
    check_cmd.add_argument("--format", choices=("text", "github"), default="text",
                           help="'github' prints GitHub Actions annotations")

    commands.add_parser("schema", parents=[where], help="print a JSON Schema of story front matter",
                        description="JSON Schema (draft 2020-12) with the registries' ids as enums.")
    commands.add_parser("codeowners", parents=[where], help="print a CODEOWNERS file from teams.yml",
                        description="Map stories/<team>/ to the team's owners in teams.yml.")
    return parser


def main(argv: Sequence[str] | None = None, *, stdin: TextIO | None = None,
         stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run the command line; returns the exit code."""
    stdin, stdout, stderr = stdin or sys.stdin, stdout or sys.stdout, stderr or sys.stderr
    args = _parser().parse_args(argv)
    try:
        settings = read_settings(args.root, args.config)
        if args.command == "check":
            return run_check(settings, args.paths, args.format, stdout)
        loaded = load_project(settings)
        registry = _registry(settings, loaded, stderr)
        if registry is None:
            return 1
        if args.command == "schema":
            json.dump(schema_mod.story_schema(registry), stdout, indent=2, ensure_ascii=False)
            stdout.write("\n")
            return 0
        if args.command == "codeowners":
            text, warnings = codeowners_mod.codeowners(registry, settings.display(settings.stories_dir))
            for warning in warnings:
                stderr.write(f"storyhub codeowners: warning: {warning}\n")
            stdout.write(text)
            return 0
        ask = _asker(stdin, stdout) if stdin.isatty() else None
        return run_new(settings, registry, scaffold.existing_slugs(loaded), args, ask, stdout)
    except BrokenPipeError:
        # `storyhub schema | head`: the reader left; not worth a traceback.
        return 1
    except (SettingsError, UsageError, scaffold.ScaffoldError) as error:
        stderr.write(f"storyhub {args.command}: {error}\n")
        return 1 if isinstance(error, scaffold.ScaffoldError) else 2


def _registry(settings: Settings, loaded: Loaded, stderr: TextIO) -> Registry | None:
    """The registry, or None after listing its problems: ids from a broken registry would mislead."""
    checked = check(settings, loaded)
    problems = [p for p in registry_problems(checked, settings) if p.severity == "error"]
    for problem in report.ordered(problems):
        stderr.write(report.as_text(problem) + "\n")
    if problems:
        stderr.write("Fix the registries first (storyhub check lists everything).\n")
        return None
    return checked.registry


def run_check(settings: Settings, paths: list[Path], fmt: str, out: TextIO) -> int:
    """Validate everything; report the problems of `paths` (all when empty) and the registries."""
    checked = check(settings)
    problems = checked.problems
    targets = [_existing(settings, path) for path in paths]
    registries = {(settings.root / name).resolve() for name in settings.registry_files}
    # A changed registry can break any story, so naming one reports everything.
    if targets and not registries & set(targets):
        problems = [p for p in problems if p.path in settings.registry_files
                    or _inside(settings.root / p.path, targets)]
    shown = report.ordered(problems)
    for problem in shown:
        out.write((report.as_github(problem) if fmt == "github" else report.as_text(problem)) + "\n")
    out.write(report.summary(shown, len(checked.stories), scoped=bool(targets)) + "\n")
    return 1 if any(p.severity == "error" for p in shown) else 0


def _existing(settings: Settings, path: Path) -> Path:
    resolved = path.resolve()
    if not resolved.exists():
        raise UsageError(f"{path}: no such file or folder")
    if resolved != settings.stories_dir and settings.stories_dir not in resolved.parents:
        raise UsageError(f"{path} is not inside the stories folder {settings.display(settings.stories_dir)}/")
    return resolved


def _inside(path: Path, targets: list[Path]) -> bool:
    path = path.resolve()
    return any(path == target or target in path.parents for target in targets)


# --- storyhub new ---------------------------------------------------------------------------

def _asker(stdin: TextIO, stdout: TextIO) -> Ask:
    def ask(prompt: str) -> str:
        stdout.write(prompt)
        stdout.flush()
        line = stdin.readline()
        if not line:
            raise UsageError("cancelled (end of input)")
        return line.strip()

    return ask


def _split(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(part for part in text.replace(",", " ").split() if part))


def _listing(records: dict[str, str], out: TextIO, heading: str) -> None:
    out.write(f"{heading}\n")
    width = max((len(key) for key in records), default=0)
    for key, label in records.items():
        out.write(f"  {key.ljust(width)}  {label}\n")


def _ask_ids(ask: Ask, out: TextIO, prompt: str, known: dict[str, str], kind: str,
             heading: str, required: bool) -> tuple[str, ...]:
    _listing(known, out, heading)
    while True:
        values = _split(ask(prompt))
        unknown = [v for v in values if v not in known]
        for value in unknown:
            out.write(f"  unknown {kind} '{value}' ({suggest(value, known)})\n")
        if not unknown and (values or not required):
            return values
        if not values:
            out.write(f"  at least one {kind} is needed\n")


def _ask_one(ask: Ask, out: TextIO, prompt: str, known: dict[str, str], kind: str,
             heading: str) -> str:
    _listing(known, out, heading)
    while True:
        value = ask(prompt)
        if value in known:
            return value
        out.write(f"  unknown {kind} '{value}' ({suggest(value, known)})\n" if value
                  else f"  a {kind} id is needed\n")


def _parse_day(text: str, today: date) -> date:
    if text in ("", "today"):
        return today
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise UsageError(f"date {text!r} is not a valid date (write it as YYYY-MM-DD)") from error


def run_new(settings: Settings, registry: Registry, existing: dict[str, str],
            args: argparse.Namespace, ask: Ask | None, out: TextIO) -> int:
    """Create a story from the flags, asking for what is missing when `ask` is given."""
    today = datetime.now(settings.timezone).date()
    team, title, authors, kpis = args.team, args.title, tuple(args.authors), tuple(args.kpis)
    missing = [name for name, value in (("--team", team), ("--title", title), ("--author", authors))
               if not value]
    if missing and ask is None:
        hints: dict[str, list[str]] = {"--team": list(registry.teams), "--author": list(registry.authors)}
        lines = [f"missing {', '.join(missing)} (or run it in a terminal to be asked)"]
        lines += [f"  known ids for {flag}: {', '.join(hints[flag])}" for flag in missing if flag in hints]
        raise UsageError("\n".join(lines))
    day_text = args.date
    if missing and ask is not None:
        teams = {t.id: t.name for t in registry.teams.values()}
        if not team:
            team = _ask_one(ask, out, "Team id: ", teams, "team", "Teams:")
        while not title:
            title = ask("Title: ")
        if not authors:
            # The team's own authors first: the likely choice is at the top.
            ordered = sorted(registry.authors.values(), key=lambda a: a.team != team)
            authors = _ask_ids(ask, out, "Author ids (separate several with spaces): ",
                               {a.id: f"{a.name}, {a.title or a.team}" for a in ordered}, "author",
                               "Authors:", True)
        if not kpis:
            kpis = _ask_ids(ask, out, "KPI ids it moved (optional, Enter to skip): ",
                            {k.id: f"{k.name} (owned by {k.owner})" for k in registry.kpis.values()},
                            "KPI", "KPIs:", False)
        if day_text is None:
            day_text = ask(f"Date [{today.isoformat()}]: ")
    story = scaffold.NewStory(team=team, title=title, authors=authors,
                              day=_parse_day(day_text or "", today), kpis=kpis, slug=args.slug or "")
    problems = scaffold.check_request(story, registry)
    if problems:
        raise UsageError("\n".join(["cannot create the story:", *(f"  {p}" for p in problems)]))
    taken = existing.get(slug_key(story.file_slug))
    if taken:
        raise scaffold.ScaffoldError(f"slug '{story.file_slug}' is already used by {taken} "
                                     "(pick another title or pass --slug)")
    path = scaffold.write_story(story, settings.stories_dir)
    shown = settings.display(path)
    out.write(f"Created {shown}\n\nNext:\n"
              f"  1. Write the story in {shown} (the comments in it list the optional keys).\n"
              f"  2. storyhub check {shown}\n"
              f"  3. mkdocs serve, then open {settings.serve_url}stories/{story.file_slug}/\n"
              "  4. Commit the file (and any images in the team's images/ folder) and open a pull "
              "request with the 'story' template.\n")
    return 0


