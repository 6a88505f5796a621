"""Read registries and story files from disk, keeping line numbers for every key.

Nothing here judges the content: `validate` does. This module only turns bytes into
`Entry` records (a mapping plus where each key was written) or `Problem`s when the
bytes cannot be read as YAML front matter at all.
"""

from __future__ import annotations

import os
import re
import stat
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import frontmatter
import yaml

from .model import Problem

REGISTRIES = ("teams", "kpis", "authors", "campaigns", "newsletters")
REQUIRED_REGISTRIES = ("teams", "kpis", "authors")
DEFAULT_MAX_BYTES = 1_000_000
# Alias expansion is where YAML bombs explode; real front matter never needs more.
MAX_YAML_NODES = 10_000
# Characters that HTML forbids in text and XML 1.0 forbids anywhere (feeds would not build):
# C0/C1 controls except tab and newline, DEL, lone surrogates (YAML "\\ud800") and noncharacters.
FORBIDDEN_CHARACTERS = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]"
)


def codepoint(char: str) -> str:
    """'U+200B (ZERO WIDTH SPACE)': how problems name a character the reader may not see."""
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X}" + (f" ({name})" if name else "")


class _Loader(yaml.SafeLoader):
    """SafeLoader that leaves dates as strings, so a bad date is one located problem."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

# libyaml parses front matter about ten times faster than the pure-Python parser (which was
# 2 of the 11 CPU-seconds of a build of 1,000 stories). Both build the same nodes with line
# marks; input libyaml refuses goes through the Python parser, whose messages the problems
# quote.
_FastLoader: type[Any] | None = None
if getattr(yaml, "CSafeLoader", None) is not None:
    class _CLoader(yaml.CSafeLoader):
        """CSafeLoader with the same resolvers as _Loader."""

    _CLoader.yaml_implicit_resolvers = _Loader.yaml_implicit_resolvers
    _FastLoader = _CLoader


@dataclass(frozen=True)
class Entry:
    """A YAML mapping with the line of the mapping and of each of its keys."""

    path: str
    line: int
    data: dict[str, Any]
    key_lines: dict[str, int] = field(default_factory=dict)

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


@dataclass(frozen=True)
class StorySource:
    """A story file split into its front matter entry and Markdown body."""

    entry: Entry
    team_folder: str
    file_name: str
    body: str
    body_line: int


@dataclass
class Loaded:
    registries: dict[str, list[Entry]]
    stories: list[StorySource]
    problems: list[Problem]


def relpath(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _count_nodes(node: yaml.Node, limit: int) -> int:
    seen = 0
    stack = [node]
    while stack:
        current = stack.pop()
        seen += 1
        if seen > limit:
            break
        if isinstance(current, yaml.MappingNode):
            for key, value in current.value:
                stack.extend((key, value))
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)
    return seen


def _node_problems(node: yaml.Node, path: str, offset: int) -> list[Problem]:
    """Duplicate keys, and forbidden characters written as escapes ("\\0", "\\ud800")."""
    problems = []
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, yaml.ScalarNode) and isinstance(current.value, str):
            bad = FORBIDDEN_CHARACTERS.search(current.value)
            if bad:
                problems.append(Problem(
                    path, offset + current.start_mark.line,
                    f"text contains the invisible character {codepoint(bad.group())}",
                    "remove the escape sequence that produces it",
                ))
        if isinstance(current, yaml.MappingNode):
            seen: set[str] = set()
            for key, value in current.value:
                if isinstance(key, yaml.ScalarNode):
                    if key.value in seen:
                        problems.append(Problem(
                            path, offset + key.start_mark.line,
                            f"duplicate key '{key.value}'",
                            "keep one of them; YAML would silently use the last",
                        ))
                    seen.add(key.value)
                stack.append(value)
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)
    return problems


def _parse_fast(text: str, path: str, offset: int) -> tuple[Any, yaml.Node, list[Problem]] | None:
    """Parse with libyaml; None when it is missing or the text needs parse_yaml's explanations."""
    if _FastLoader is None:
        return None
    loader = _FastLoader(text)
    try:
        node = loader.get_single_node()
        if node is None or _count_nodes(node, MAX_YAML_NODES) > MAX_YAML_NODES:
            return None
        return loader.construct_document(node), node, _node_problems(node, path, offset)
    except (yaml.YAMLError, ValueError, TypeError, RecursionError):
        return None  # the Python parser reports it with its location and wording
    finally:
        loader.dispose()


def parse_yaml(text: str, path: str, offset: int = 1) -> tuple[Any, yaml.Node | None, list[Problem]]:
    """Parse one YAML document; `offset` is the file line of the text's first line."""
    parsed = _parse_fast(text, path, offset)
    if parsed is not None:
        return parsed
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None, []
        if _count_nodes(node, MAX_YAML_NODES) > MAX_YAML_NODES:
            return None, None, [Problem(
                path, offset, f"YAML is too large or too deeply aliased (over {MAX_YAML_NODES} nodes)",
                "remove anchors/aliases (&, *) and keep front matter short",
            )]
        problems = _node_problems(node, path, offset)
        return loader.construct_document(node), node, problems
    except yaml.MarkedYAMLError as error:
        # The context mark is where the broken construct started, usually the line to fix.
        mark = error.context_mark or error.problem_mark
        line = offset + (mark.line if mark else 0)
        what = "; ".join(str(part) for part in (error.context, error.problem) if part)
        return None, None, [Problem(
            path, line, f"invalid YAML: {what or error}",
            "check indentation, colons and quotes; quote text that contains ': ' or '#'",
        )]
    except (yaml.YAMLError, ValueError, RecursionError) as error:
        return None, None, [Problem(path, offset, f"invalid YAML: {error}", "fix the YAML syntax")]
    finally:
        loader.dispose()


def _record_lines(node: yaml.Node, prefix: str, offset: int, lines: dict[str, int]) -> None:
    """Record the line of every key and list item as 'key', 'key.sub' or 'key[2]'."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                name = f"{prefix}.{key.value}" if prefix else str(key.value)
                lines.setdefault(name, offset + key.start_mark.line)
                if prefix.count(".") + prefix.count("[") < 3:
                    _record_lines(value, name, offset, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value[:1000]):
            name = f"{prefix}[{index}]"
            lines[name] = offset + item.start_mark.line
            _record_lines(item, name, offset, lines)


def entry_from(value: Any, node: yaml.Node, path: str, offset: int) -> Entry | None:
    if not isinstance(value, dict) or not isinstance(node, yaml.MappingNode):
        return None
    key_lines: dict[str, int] = {}
    _record_lines(node, "", offset, key_lines)
    data = {str(key): val for key, val in value.items()}
    return Entry(path, offset + node.start_mark.line, data, key_lines)


def read_text(path: Path, display: str, max_bytes: int) -> tuple[str | None, Problem | None]:
    """Read a UTF-8 file (BOM and CRLF tolerated) or explain why it cannot be read."""
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            return None, Problem(display, 1, "not a regular file", "replace it with a plain text file")
        # Read at most one byte over the limit: the size on disk may change or lie (/proc, pipes).
        with path.open("rb") as handle:
            raw = handle.read(max_bytes + 1)
    except OSError as error:
        return None, Problem(display, 1, f"cannot read file: {error.strerror}", "check the file")
    if len(raw) > max_bytes:
        size = max(path.stat().st_size, len(raw))
        return None, Problem(
            display, 1, f"file is {size:,} bytes, over the limit of {max_bytes:,}",
            "shorten it or move large content into linked files",
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        return None, Problem(
            display, line, f"file is not UTF-8 (byte 0x{raw[error.start]:02x})",
            "save the file with UTF-8 encoding",
        )
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    bad = FORBIDDEN_CHARACTERS.search(text)
    if bad:
        return None, Problem(
            display, text[: bad.start()].count("\n") + 1,
            f"file contains the invisible character {codepoint(bad.group())}",
            "delete it: web pages and feeds cannot contain it; retyping the line removes it",
        )
    return text, None


def load_registry(path: Path, root: Path) -> tuple[list[Entry], list[Problem]]:
    display = relpath(path, root)
    text, problem = read_text(path, display, DEFAULT_MAX_BYTES)
    if problem or text is None:
        return [], [problem] if problem else []
    value, node, problems = parse_yaml(text, display)
    if problems and value is None:
        return [], problems
    if value is None:
        return [], problems
    if not isinstance(value, list) or not isinstance(node, yaml.SequenceNode):
        return [], problems + [Problem(
            display, 1, "registry must be a YAML list of entries", "start each entry with '- id: ...'",
        )]
    entries = []
    for item, item_node in zip(value, node.value, strict=True):
        entry = entry_from(item, item_node, display, 1)
        if entry is None:
            problems.append(Problem(
                display, 1 + item_node.start_mark.line, "registry entry must be a mapping",
                "write it as '- id: ...' followed by its keys",
            ))
        else:
            entries.append(entry)
    return entries, problems


_FRONT = re.compile(r"\A---[ \t]*\n(.*?\n)?---[ \t]*(?:\n|\Z)", re.S)


def split_story(text: str) -> tuple[str, str, int] | None:
    """Return (front matter, body, body line) or None when there is no front matter."""
    match = _FRONT.match(text)
    if not match:
        return None
    fm_text = match.group(1) or ""
    handler = frontmatter.YAMLHandler()
    # python-frontmatter owns the definition of the delimiters; we only add line numbers.
    if not handler.detect(text):
        return None
    body = text[match.end():]
    return fm_text, body, text[: match.end()].count("\n") + 1


class ParseMemo:
    """Story files as load_story read them, kept between `mkdocs serve` rebuilds.

    A file is read again only when its size, modification or change time, inode or type
    changed: reading and checking 2,000 unchanged files took a fifth of every rebuild.
    """

    def __init__(self) -> None:
        self.entries: dict[tuple[Any, ...], tuple[StorySource | None, list[Problem]]] = {}
        self.used: set[tuple[Any, ...]] = set()

    def load(self, path: Path, root: Path, max_bytes: int) -> tuple[StorySource | None, list[Problem]]:
        try:
            info = os.lstat(path)
        except OSError:
            return _load_story(path, root, max_bytes)  # gone meanwhile: reported as unreadable
        key = (str(path), str(root), max_bytes, info.st_mode, info.st_ino, info.st_size,
               info.st_mtime_ns, info.st_ctime_ns)
        if key not in self.entries:
            self.entries[key] = _load_story(path, root, max_bytes)
        self.used.add(key)
        source, problems = self.entries[key]
        return source, list(problems)

    def forget_unused(self) -> None:
        """Drop the files not read since the last call (edited or deleted since)."""
        self.entries = {key: value for key, value in self.entries.items() if key in self.used}
        self.used = set()


def load_story(path: Path, root: Path, max_bytes: int,
               memo: ParseMemo | None = None) -> tuple[StorySource | None, list[Problem]]:
    return memo.load(path, root, max_bytes) if memo is not None \
        else _load_story(path, root, max_bytes)


def _load_story(path: Path, root: Path, max_bytes: int) -> tuple[StorySource | None, list[Problem]]:
    display = relpath(path, root)
    if path.is_symlink():
        # A link could publish any file of the machine that builds the site.
        return None, [Problem(display, 1, "story is a symbolic link",
                              "commit the story file itself, not a link to it")]
    text, problem = read_text(path, display, max_bytes)
    if problem or text is None:
        return None, [problem] if problem else []
    return _parse_story(path, display, text)


def _parse_story(path: Path, display: str, text: str) -> tuple[StorySource | None, list[Problem]]:
    parts = split_story(text)
    if parts is None:
        return None, [Problem(
            display, 1, "story has no front matter",
            "start the file with a line '---', the keys (title, date, authors), and '---'",
        )]
    fm_text, body, body_line = parts
    value, node, problems = parse_yaml(fm_text, display, offset=2)
    if value is None and not problems:
        return None, [Problem(display, 2, "front matter is empty", "add at least title, date and authors")]
    if value is None or node is None:
        return None, problems
    entry = entry_from(value, node, display, 2)
    if entry is None:
        return None, problems + [Problem(
            display, 2, "front matter must be a mapping of keys to values",
            "write one 'key: value' per line",
        )]
    return StorySource(entry, path.parent.name, path.name, body, body_line), problems


def story_paths(stories_dir: Path) -> tuple[list[Path], list[Path]]:
    """Story files at `<team>/<file>.md`, and Markdown files anywhere else (misplaced)."""
    good, misplaced = [], []
    prefix = len(str(stories_dir)) + 1
    for path in sorted(stories_dir.rglob("*.md")):
        depth = str(path)[prefix:].count(os.sep) + 1  # relative_to() cost a tenth of a second
        if depth == 2:
            good.append(path)
        elif not (depth == 1 and path.name.lower() == "readme.md"):
            misplaced.append(path)
    return good, misplaced


def load_all(stories_dir: Path, root: Path, max_bytes: int = DEFAULT_MAX_BYTES,
             memo: ParseMemo | None = None) -> Loaded:
    """Load every registry and story under `stories_dir`; `root` is for display paths.

    With `memo` (kept by the caller between rebuilds), a story file whose text did not
    change is not parsed again; the memo is left holding the current files only.
    """
    problems: list[Problem] = []
    registries: dict[str, list[Entry]] = {}
    for name in REGISTRIES:
        path = stories_dir / f"{name}.yml"
        if not path.exists():
            registries[name] = []
            if name in REQUIRED_REGISTRIES:
                problems.append(Problem(
                    relpath(path, root), 1, f"missing registry {name}.yml",
                    f"create {relpath(path, root)} with a list of {name}",
                ))
            continue
        registries[name], found = load_registry(path, root)
        problems.extend(found)
    stories = []
    good, misplaced = story_paths(stories_dir)
    for path in misplaced:
        problems.append(Problem(
            relpath(path, root), 1, "story is not in a team folder",
            "move it to stories/<team-id>/<YYYY-MM-DD>-<slug>.md",
        ))
    for path in good:
        source, found = load_story(path, root, max_bytes, memo)
        problems.extend(found)
        if source is not None:
            stories.append(source)
    if memo is not None:
        memo.forget_unused()
    return Loaded(registries, stories, problems)
