"""quick_inline: Markdown converted with the skipping inline processor is byte-identical."""

from __future__ import annotations

import random
import re

import markdown
import pytest
from markdown.inlinepatterns import InlineProcessor as Pattern
from markdown.treeprocessors import InlineProcessor

from storyhub import quick_inline

EXTENSIONS = ["toc", "tables", "fenced_code"]

CASES = [
    "Plain prose, no markup at all.",
    "`code` and ``double `tick` code`` and \\`not code\\` and \\\\`code after escapes`",
    "\\*not em\\* \\[not a link] \\\\ \\_",
    "[link](http://example.com) and ![image](a.png \"title\") and [![inner](i.png)](u)",
    "[ref][1] and [short] and ![img ref][1] and ![short img]\n\n[1]: http://x\n[short]: /s",
    "<http://auto.example.com/path?q=1> and <me@example.com> and <not a link>",
    "a line  \nbreak, and two  \n  \nbreaks",
    "<span class=\"x\">inline *html*</span> &amp; &#169; &#x26; & lone & ampersand",
    "**strong** *em* __strong__ _em_ ***both*** ___both___ snake_case_word 2*3*4 * lone *",
    "**[link *em* `code`](u)** and *`code` in em* and [*em* link](u \"t *x*\")",
    "<!-- a comment --> <?php x ?> <![CDATA[ x ]]> </close> <br/>",
    "| a | *b* |\n|---|---|\n| `c` | [d](e) |\n",
    "# Heading with *em* and `code`\n\n## Second [link](x)\n",
    "- item *one*\n- item `two`\n\n1. [three](x)\n2. four  \n   continued",
    "```\n*not* [inline] `here`\n```\n\nafter *fence*",
    "> quoted **text** with <b>tag</b>\n>\n> and &copy;",
    "!not an image [but](a link) !! ![ ] [ ] ( ) \\",
]


def convert(text: str, quick: bool, extensions: list[str] = EXTENSIONS) -> str:
    md = markdown.Markdown(extensions=extensions)
    if quick:
        quick_inline.install(md)
    return md.convert(text)


@pytest.mark.parametrize("text", CASES)
def test_same_html_as_python_markdown(text: str) -> None:
    assert convert(text, quick=True) == convert(text, quick=False)


def test_same_html_for_random_markup() -> None:
    # Words and every character an inline pattern starts with, in random order: the
    # skipping must never change which pattern matches where.
    pieces = ["word", "two words", " ", "  \n", "\n", "*", "**", "_", "__", "`", "``", "\\",
              "[", "]", "(", ")", "![", "<", ">", "&", ";", "#1", "amp", "http://x.y", "@",
              "\"", "/", "!", "a_b", "<b>", "</b>", "<me@x.org>", "[r]", "\n\n[r]: /u\n"]
    chance = random.Random(20261127)
    for _ in range(1500):
        text = "".join(chance.choice(pieces) for _ in range(chance.randint(1, 25)))
        assert convert(text, quick=True) == convert(text, quick=False), text


def test_skips_patterns_only_where_they_cannot_match() -> None:
    md = markdown.Markdown(extensions=EXTENSIONS)
    quick_inline.install(md)
    tried: list[str] = []
    inline = md.treeprocessors["inline"]
    real = inline._InlineProcessor__applyPattern  # type: ignore[attr-defined]

    def spy(pattern: Pattern, data: str, index: int, start: int = 0) -> tuple[str, bool, int]:
        tried.append(type(pattern).__name__)
        return real(pattern, data, index, start)  # type: ignore[no-any-return]

    inline._InlineProcessor__applyPattern = spy  # type: ignore[attr-defined]
    assert md.convert("Plain prose.") == "<p>Plain prose.</p>"
    assert tried == []
    assert md.convert("An *emphasis*.") == "<p>An <em>emphasis</em>.</p>"
    assert tried == ["DelimiterProcessor"] * len(tried) and tried


class Shout(Pattern):
    """An extension's pattern: quick_inline knows nothing of it."""

    def handleMatch(self, m: re.Match[str], data: str) -> tuple[str, int, int]:  # noqa: N802
        return m.group(1).upper(), m.start(0), m.end(0)


def test_an_extensions_pattern_is_always_tried() -> None:
    class ShoutExtension(markdown.Extension):
        def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802
            md.inlinePatterns.register(Shout(r"%%(\w+)%%", md), "shout", 175)

    for quick in (False, True):
        md = markdown.Markdown(extensions=[ShoutExtension()])
        if quick:
            quick_inline.install(md)
        assert md.convert("say %%hello%% *now*") == "<p>say HELLO <em>now</em></p>"
    assert quick_inline.needs(Shout(r"%%(\w+)%%")) is None


def test_replaced_inline_processor_is_left_alone() -> None:
    class Own(InlineProcessor):
        pass

    md = markdown.Markdown()
    md.treeprocessors.register(Own(md), "inline", 20)
    quick_inline.install(md)
    assert type(md.treeprocessors["inline"]) is Own
