"""Social cards: a deterministic 1200×630 image per story and the tags that announce it."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from PIL import Image, ImageDraw

from conftest import MKDOCS_YML, Project
from storyhub import cards

SITE_URL = "https://intranet.example.com/stories/"


def meta(tree: Any) -> dict[str, str]:
    """The page's <meta property|name=... content=...> tags as a mapping."""
    found = {}
    for tag in tree.xpath("//meta[@property or @name]"):
        found[tag.get("property") or tag.get("name")] = tag.get("content")
    return found


def cover_png(color: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (1600, 900), color).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def quick(project: Project) -> Project:
    project.config(search_index=False)
    return project


def test_story_pages_announce_a_card(quick: Project) -> None:
    quick.story("support", "2026-03-02-faster-replies", title='Faster replies & "happier" people',
                authors=["ben"], summary="Support cut first reply time in half.", tags=["speed"])
    built = quick.build()
    tags = meta(built.html("stories/faster-replies/"))
    assert tags["og:type"] == "article"
    assert tags["og:title"] == tags["twitter:title"] == 'Faster replies & "happier" people'
    assert tags["og:description"] == "Support cut first reply time in half."
    assert tags["og:url"] == SITE_URL + "stories/faster-replies/"
    assert tags["og:image"] == tags["twitter:image"] == SITE_URL + "assets/cards/faster-replies.png"
    assert (tags["og:image:width"], tags["og:image:height"]) == ("1200", "630")
    assert tags["twitter:card"] == "summary_large_image"
    assert tags["article:section"] == "Customer Support" and tags["article:tag"] == "speed"
    card = built.path("assets/cards/faster-replies.png")
    with Image.open(card) as im:
        assert (im.format, im.size) == ("PNG", (1200, 630))
        # The team colour (#00695c) fills the card.
        assert im.convert("RGB").getpixel((20, 600)) == (0, 105, 92)
    assert "og:image" not in meta(built.html(""))  # only story pages have cards


def test_card_shows_the_cover(quick: Project) -> None:
    quick.add("hr/images/green.png", cover_png((10, 200, 30)))
    quick.story("hr", "2026-03-02-x", authors=["chloe"], cover="images/green.png",
                cover_alt="Green")
    built = quick.build()
    with Image.open(built.path("assets/cards/x.png")) as im:
        assert im.convert("RGB").getpixel((1100, 315)) == (10, 200, 30)
        assert im.convert("RGB").getpixel((20, 315)) == (106, 27, 154)  # HR's #6a1b9a


def test_cards_are_byte_identical_across_cold_builds(project: Project) -> None:
    project.add("hr/images/green.png", cover_png((10, 200, 30)))
    project.story("hr", "2026-03-02-x", title="Ünïcode — and a very long title " * 6,
                  authors=["chloe"], cover="images/green.png", cover_alt="Green")
    project.config(search_index=False, cache_dir=str(project.root / "cache-a"))
    one = project.build(site_dir=project.root / "one").path("assets/cards/x.png").read_bytes()
    project.config(search_index=False, cache_dir=str(project.root / "cache-b"))
    two = project.build(site_dir=project.root / "two").path("assets/cards/x.png").read_bytes()
    assert one == two


def counting(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    original: Callable[..., bytes] = cards.draw_card

    def counted(text: cards.CardText, cover: Any = None) -> bytes:
        calls.append(text.title)
        return original(text, cover)

    monkeypatch.setattr(cards, "draw_card", counted)
    return calls


def test_cards_are_cached_until_the_title_changes(quick: Project,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    calls = counting(monkeypatch)
    quick.story("hr", "2026-03-02-x", title="First", authors=["chloe"])
    quick.story("hr", "2026-03-03-y", title="Second", authors=["chloe"])
    quick.build()
    assert sorted(calls) == ["First", "Second"]
    quick.build()
    assert len(calls) == 2
    quick.story("hr", "2026-03-03-y", title="Second, renamed", authors=["chloe"])
    quick.build()
    assert calls[2:] == ["Second, renamed"]


def test_without_site_url_there_is_no_og_image(project: Project) -> None:
    text = MKDOCS_YML.format(cache_dir=project.root / ".cache", extra_plugin="")
    project.config(text=text.replace("site_url: https://intranet.example.com/stories/\n", "")
                   .replace("      timezone: Europe/Berlin\n",
                            "      timezone: Europe/Berlin\n      feeds: false\n"
                            "      search_index: false\n"))
    project.story("hr", "2026-03-02-x", authors=["chloe"])
    built = project.build()
    tags = meta(built.html("stories/x/"))
    assert tags["og:title"] == "A story"
    assert "og:image" not in tags and "og:url" not in tags and "twitter:image" not in tags
    assert tags["twitter:card"] == "summary"
    assert built.exists("assets/cards/x.png")


def test_card_size_and_determinism() -> None:
    text = cards.CardText("Support tickets shaped the spring campaign", "Customer Support",
                          "#00695c", "Stories")
    first = cards.draw_card(text)
    assert first == cards.draw_card(text)
    with Image.open(io.BytesIO(first)) as im:
        assert im.size == (1200, 630)
    assert cards.draw_card(cards.CardText("Another title", "Customer Support", "#00695c",
                                          "Stories")) != first


def test_long_titles_are_ellipsized_and_odd_text_does_not_break_cards() -> None:
    font = cards._font(cards.BOLD, 46)
    lines, fits = cards.wrap("word " * 200, font, 600, 5)
    assert not fits and len(lines) == 5 and lines[-1].endswith("…")
    assert all(font.getlength(line) <= 600 for line in lines)
    lines, fits = cards.wrap("x" * 300, font, 600, 5)  # one enormous word is split
    assert len(lines) == 5 and all(font.getlength(line) <= 600 for line in lines)
    for title in ("\x00\x1b[31m<script>alert(1)</script>\u202e", "🎉 Ünïcödé ✓ 中文 עברית", " "):
        data = cards.draw_card(cards.CardText(title, "T\nteam", "#ffffff", "S"))
        assert Image.open(io.BytesIO(data)).size == (1200, 630)


@pytest.mark.parametrize(("background", "ink"), [
    ("#ffeb3b", cards.INK), ("#00695c", cards.WHITE), ("#ffffff", cards.INK),
    ("#000000", cards.WHITE),
])
def test_text_colour_contrasts_with_the_team_colour(background: str,
                                                    ink: tuple[int, int, int]) -> None:
    assert cards.text_color(cards._rgb(background)) == ink


@pytest.mark.parametrize(("title", "color"), [
    ("Support tickets shaped the spring campaign", "#00695c"),
    ("Émile's ÅÉ queue: gjpqy — 12% “quoted” AV WA To Ty", "#ffeb3b"),
    ("word " * 60, "#1565c0"),  # ellipsized at the smallest size
    ("x" * 90, "#6a1b9a"),  # one word split over lines
])
def test_titles_look_as_pillow_draws_them(title: str, color: str) -> None:
    """Cards draw each word once and reuse it, and encode only the title's rows: the pixels
    must be those of Pillow drawing the lines on the team's frame."""
    text = cards.CardText(title, "Customer Support", color, "Stories")
    width = cards.SIZE[0] - 2 * cards.MARGIN
    background = cards._rgb(color)
    frame = cards._frame("Customer Support", "Stories", width,
                         36 if cards.text_color(background) == cards.WHITE else 26).copy()
    for size in cards.TITLE_SIZES:
        font = cards._font(cards.BOLD, size)
        lines, fits = cards.wrap(title, font, width, cards.TITLE_LINES)
        if fits:
            break
    draw = ImageDraw.Draw(frame)
    for number, line in enumerate(lines):
        draw.text((cards.MARGIN, cards.TITLE_TOP + number * round(font.size * 1.18)), line,
                  font=font, fill=255)
    frame.putpalette(cards._ramp(background, cards.text_color(background)))
    with Image.open(io.BytesIO(cards.draw_card(text))) as card:
        assert card.convert("RGB").tobytes() == frame.convert("RGB").tobytes()
