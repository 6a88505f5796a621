"""Python-Markdown's inline patterns, tried only on text where they can match.

Python-Markdown tries each of its ~14 inline patterns (links, emphasis, code, HTML...) on
every piece of text of a document, one regular-expression search at a time, and most pieces
of a story's prose contain none of the characters any of them needs: that was 1.6 of the
2.5 ms it took to convert a story. `install` makes a Markdown instance skip a pattern for a
piece of text that contains none of the strings its expression cannot match without
(`[` for a link, `&` for an entity...), which is exactly the case where the search would
find nothing and Python-Markdown would go on to the next pattern. The output is the same.

Only Python-Markdown's own patterns with their own expressions are skipped this way; a
pattern an extension adds or replaces is always tried, as before.
"""

from __future__ import annotations

import re
from typing import Any

import markdown
from markdown import inlinepatterns as ip
from markdown import util
from markdown.treeprocessors import InlineProcessor

# Each expression of Python-Markdown's own patterns, and strings one of which must be in a
# text for it to match there. Inline processing replaces matched text with placeholders
# (STX, 'klzzwxh:', digits, ETX), so it never brings any of these strings into a text.
NEEDS: dict[str, tuple[str, ...]] = {
    ip.BACKTICK_RE: ("`",),
    ip.ESCAPE_RE: ("\\",),
    ip.LINK_RE: ("[",),  # also REFERENCE_RE
    ip.IMAGE_LINK_RE: ("![",),  # also IMAGE_REFERENCE_RE
    ip.AUTOLINK_RE: ("<",),
    ip.AUTOMAIL_RE: ("<",),
    ip.LINE_BREAK_RE: ("  \n",),
    ip.HTML_RE: ("<",),
    ip.ENTITY_RE: ("&",),
}
# Python-Markdown's classes of those patterns: a subclass might search differently.
OWN = (ip.BacktickInlineProcessor, ip.EscapeInlineProcessor, ip.ReferenceInlineProcessor,
       ip.LinkInlineProcessor, ip.ImageInlineProcessor, ip.ImageReferenceInlineProcessor,
       ip.ShortReferenceInlineProcessor, ip.ShortImageReferenceInlineProcessor,
       ip.AutolinkInlineProcessor, ip.AutomailInlineProcessor,
       ip.SubstituteTagInlineProcessor, ip.HtmlInlineProcessor)


def needs(pattern: Any) -> tuple[str, ...] | None:
    """Strings one of which a text must hold for `pattern` to match in it; None: unknown,
    always try the pattern."""
    kind = type(pattern)
    if kind is ip.DelimiterProcessor:  # emphasis: its expression is its delimiters
        return tuple(token[0] for token in pattern.tokens)
    if kind in OWN:
        return NEEDS.get(pattern.compiled_re.pattern)
    return None


class QuickInlineProcessor(InlineProcessor):
    """Python-Markdown's InlineProcessor, skipping the patterns a text cannot match."""

    patterns: list[tuple[Any, tuple[str, ...] | None]]
    any_needed: re.Pattern[str]  # finds any string some pattern needs

    def run(self, tree: Any, ancestors: list[str] | None = None) -> Any:
        self.patterns = [(pattern, needs(pattern)) for pattern in self.inlinePatterns]
        needed = {text for _, required in self.patterns for text in required or ()}
        self.any_needed = re.compile("|".join(map(re.escape, sorted(needed))) or "(?!)")
        return super().run(tree, ancestors)

    # Replaces InlineProcessor.__handleInline (its name, mangled), which it calls itself.
    def _InlineProcessor__handleInline(self, data: str, patternIndex: int = 0) -> str:  # noqa: N802, N803
        if isinstance(data, util.AtomicString):
            return data
        apply = self._InlineProcessor__applyPattern  # type: ignore[attr-defined]
        patterns = self.patterns
        plain = self.any_needed.search(data) is None  # the usual case: only the unknown
        start = 0
        index = patternIndex
        while index < len(patterns):
            pattern, required = patterns[index]
            if required is not None and (plain or not any(text in data for text in required)):
                index, start = index + 1, 0  # as when its search finds nothing
                continue
            data, matched, start = apply(pattern, data, index, start)
            if not matched:
                index += 1
        return data


def install(md: markdown.Markdown) -> None:
    """Make `md` use QuickInlineProcessor, if its inline processor is Python-Markdown's."""
    if "inline" in md.treeprocessors and type(md.treeprocessors["inline"]) is InlineProcessor \
            and all(hasattr(InlineProcessor, f"_InlineProcessor__{name}")
                    for name in ("handleInline", "applyPattern")):
        md.treeprocessors["inline"].__class__ = QuickInlineProcessor
