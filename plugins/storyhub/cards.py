"""Social cards: a 1200×630 preview image per story, and the Open Graph/Twitter tags.

Cards are drawn with Pillow and the DejaVu fonts shipped in `fonts/`, so a build needs no
network, Cairo or font download. The same story gives the same bytes (the basic layout
engine does not depend on which shaping libraries are installed), and every card is
cached by a hash of everything drawn on it.
"""

from __future__ import annotations

import functools
import hashlib
import html
import io
import json
import math
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import isal
import PIL
from PIL import Image, ImageDraw, ImageFont, ImageOps

from . import parallel, png
from .atomic import write_atomic

if TYPE_CHECKING:  # the worker (python -m storyhub.cards) would import half the package
    from .images import ImageSet
    from .model import Story, Team

SIZE = (1200, 630)
FONTS = Path(__file__).parent / "fonts"
BOLD = FONTS / "DejaVuSans-Bold.ttf"
REGULAR = FONTS / "DejaVuSans.ttf"
CARD_DIR = "assets/cards/"
VERSION = 5
MARGIN = 64
COVER_WIDTH = 480  # right-hand panel with the story's cover
TITLE_SIZES = (64, 58, 52, 46)  # tried largest first until the title fits
TITLE_LINES = 5
TITLE_TOP = MARGIN + 100
ELLIPSIS = "…"
WHITE = (255, 255, 255)
INK = (20, 20, 20)


@dataclass(frozen=True)
class CardText:
    """Everything a card shows besides the cover."""

    title: str
    team: str
    color: str  # '#rrggbb'
    site_name: str


def _rgb(color: str) -> tuple[int, int, int]:
    value = color.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def _luminance(rgb: tuple[int, int, int]) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def text_color(background: tuple[int, int, int]) -> tuple[int, int, int]:
    """White or near-black, whichever contrasts more with `background` (WCAG formula)."""
    lum = _luminance(background)
    on_white = 1.05 / (lum + 0.05)
    on_ink = (lum + 0.05) / (_luminance(INK) + 0.05)
    return WHITE if on_white >= on_ink else INK


@functools.cache  # loading a font face took a third of a millisecond, several per card
def _font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size, layout_engine=ImageFont.Layout.BASIC)


def clean_text(text: str) -> str:
    """One line of printable text: control characters dropped, whitespace collapsed."""
    return " ".join(re.sub(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e]", " ", text).split())


@functools.lru_cache(maxsize=1 << 15)  # titles share most of their words
def _length(font: ImageFont.FreeTypeFont, text: str) -> float:
    return font.getlength(text)


def line_length(line: str, font: ImageFont.FreeTypeFont) -> float:
    """Width of a line as cards draw it: word after word, a space between (no kerning
    across a space, which lets every word be drawn once and reused, see `_word`)."""
    words = line.split(" ")
    return sum(_length(font, word) for word in words) + _length(font, " ") * (len(words) - 1)


def wrap(text: str, font: ImageFont.FreeTypeFont, width: int, max_lines: int) -> tuple[
        list[str], bool]:
    """Greedy word wrap to `width` pixels; words longer than a line are split.

    Returns the lines (at most `max_lines`, the last ending in '…' when cut) and whether
    everything fitted.
    """
    words: list[str] = []
    for word in text.split():
        while _length(font, word) > width:
            cut = len(word) - 1
            while cut > 1 and font.getlength(word[:cut]) > width:
                cut -= 1
            words.append(word[:cut])
            word = word[cut:]
        words.append(word)
    lines: list[str] = []
    for word in words:
        if lines and line_length(f"{lines[-1]} {word}", font) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    if len(lines) <= max_lines:
        return lines, True
    kept = lines[:max_lines]
    last = kept[-1]
    while last and line_length(last + ELLIPSIS, font) > width:
        last = last.rsplit(" ", 1)[0] if " " in last else last[:-1]
    kept[-1] = last.rstrip(" ,;:.-") + ELLIPSIS
    return kept, False


@dataclass(frozen=True)
class Word:
    """A word's ink coverage, drawn once per font and reused on every card that has it
    (drawing the glyphs was a third of a card's time)."""

    mask: Image.Image
    left: int  # where the mask goes, from the pen position on the line's top
    top: int
    advance: float


@functools.lru_cache(maxsize=1 << 14)
def _word(font: ImageFont.FreeTypeFont, text: str) -> Word:
    box = font.getbbox(text)  # whole pixels with the basic layout engine
    left, top, right, bottom = (math.floor(box[0]), math.floor(box[1]), math.ceil(box[2]),
                                math.ceil(box[3]))
    mask = Image.new("L", (max(0, right - left), max(0, bottom - top)), 0)
    if mask.width and mask.height:
        ImageDraw.Draw(mask).text((-left, -top), text, font=font, fill=255)
    return Word(mask, left, top, _length(font, text))


def _place(lines: list[str], font: ImageFont.FreeTypeFont, left: int, top: int,
           leading: int) -> list[tuple[Word, int, int]]:
    """Each word of `lines` with the pixel where its mask goes."""
    placed = []
    space = _length(font, " ")
    for number, line in enumerate(lines):
        pen = float(left)
        for text in line.split(" "):
            word = _word(font, text)
            placed.append((word, round(pen) + word.left, top + number * leading + word.top))
            pen += word.advance + space
    return placed


@functools.cache  # one per team colour; computing it took almost a millisecond a card
def _ramp(background: tuple[int, int, int], ink: tuple[int, int, int]) -> bytes:
    """Palette of 256 shades from the background (0) to the ink (255), as Pillow blends them."""
    return bytes(round(b + (i - b) * level / 255) for level in range(256)
                 for b, i in zip(background, ink, strict=True))


def draw_card(text: CardText, cover: Image.Image | None = None) -> bytes:
    """The card as PNG bytes: team colour, team name, wrapped title, site name, cover."""
    background = _rgb(text.color)
    ink = text_color(background)
    text_width = SIZE[0] - 2 * MARGIN - (COVER_WIDTH if cover is not None else 0)
    # Everything but the cover is drawn as ink coverage (0 = team colour, 255 = ink) on one
    # grey layer. A card without a cover then is a palette image of those 256 shades, which
    # PNG encodes far faster than RGB; only its title's rows are compressed per card (png.py),
    # the rows above and below are its team's. With a cover, the layer is painted over it.
    frame = (clean_text(text.team), clean_text(text.site_name), text_width,
             None if cover is not None else 36 if ink == WHITE else 26)
    title = clean_text(text.title)
    for size in TITLE_SIZES:
        font = _font(BOLD, size)
        lines, fits = wrap(title, font, text_width, TITLE_LINES)
        if fits:
            break
    leading = round(font.size * 1.18)
    placed = _place(lines, font, MARGIN, TITLE_TOP, leading)
    # The rows the title may cover; the rest of the card is its team's frame.
    first = min([TITLE_TOP, *(y for _, _, y in placed)])
    end = max([TITLE_TOP + len(lines) * leading,
               *(y + word.mask.height for word, _, y in placed)])
    band = _frame(*frame).crop((0, first, SIZE[0], end))
    for word, x, y in placed:
        if word.mask.width and word.mask.height:
            band.paste(255, (x, y - first), word.mask)
    if cover is None:
        parts = [_frame_band(*frame, 0, first),
                 png.band(band.tobytes(), SIZE[0], last=end == SIZE[1], fast=True),
                 _frame_band(*frame, end, SIZE[1])]
        return png.palette_png(SIZE, _ramp(background, ink), [p for p in parts if p.size])
    layer = _frame(*frame).copy()
    layer.paste(band, (0, first))
    out = io.BytesIO()
    card = Image.new("RGB", SIZE, background)
    panel = ImageOps.fit(cover.convert("RGBA"), (COVER_WIDTH, SIZE[1]), Image.Resampling.LANCZOS)
    backdrop = Image.new("RGBA", panel.size, background + (255,))
    card.paste(Image.alpha_composite(backdrop, panel).convert("RGB"), (SIZE[0] - COVER_WIDTH, 0))
    card.paste(ink, (0, 0), layer)
    card.save(out, "PNG", compress_level=6)  # "optimize" costs 10x the time for 1% smaller
    return out.getvalue()


@functools.lru_cache(maxsize=64)  # the cards of one team share it
def _frame(team: str, site_name: str, text_width: int, rings: int | None) -> Image.Image:
    """The ink coverage of what every card of a team shows: the band, the team's name and
    the site's name, and on cards without a cover two rings of shade `rings`."""
    layer = Image.new("L", SIZE, 0)
    draw = ImageDraw.Draw(layer)
    if rings is not None:
        # Two soft rings in a lighter (on dark colours) or darker shade fill the empty corner.
        for radius, width in ((300, 56), (170, 40)):
            centre = (SIZE[0] - 90, SIZE[1] + 10)
            draw.ellipse((centre[0] - radius, centre[1] - radius, centre[0] + radius,
                          centre[1] + radius), outline=rings, width=width)
    # A band in the text colour marks the top, like the team colour on the site's cards.
    draw.rectangle((MARGIN, MARGIN, MARGIN + 72, MARGIN + 8), fill=255)
    label = _font(BOLD, 30)
    lines, _ = wrap(team.upper(), label, text_width, 1)
    draw.text((MARGIN, MARGIN + 32), lines[0] if lines else "", font=label, fill=255)
    footer = _font(REGULAR, 28)
    lines, _ = wrap(site_name, footer, text_width, 1)
    draw.text((MARGIN, SIZE[1] - MARGIN - 28), lines[0] if lines else "", font=footer, fill=255)
    return layer


@functools.lru_cache(maxsize=256)  # a team's cards share a few bands (one per title height)
def _frame_band(team: str, site_name: str, text_width: int, rings: int | None, start: int,
                end: int) -> png.Band:
    """Rows `start` to `end` of a team's frame, compressed for a palette card."""
    pixels = _frame(team, site_name, text_width, rings).tobytes()
    return png.band(pixels[start * SIZE[0]:end * SIZE[0]], SIZE[0], last=end == SIZE[1])


@functools.cache  # the package's fonts; a preview rebuild would read them again
def _font_digest() -> str:
    digest = hashlib.sha256()
    for path in (BOLD, REGULAR):
        digest.update(path.read_bytes())
    return digest.hexdigest()


@functools.lru_cache(maxsize=1 << 16)  # a preview rebuild asks again for every story
def card_key(text: CardText, cover_key: str | None, fonts: str) -> str:
    """Cache key: everything drawn, the cover's content key, the fonts and the code version."""
    data = [VERSION, PIL.__version__, isal.__version__, fonts, text.title, text.team, text.color,
            text.site_name, cover_key, SIZE, TITLE_SIZES]
    return hashlib.sha256(json.dumps(data, ensure_ascii=False).encode()).hexdigest()


def card_path(story: Story) -> str:
    """Site path of a story's card."""
    return f"{CARD_DIR}{story.slug}.png"


# (cache file, text, cover file): everything needed to draw one card, in any process.
CardJob = tuple[Path, CardText, str | None]
# Below this many cards to draw, starting a worker process costs more than it saves.
PROCESS_THRESHOLD = 64
BATCH = 32


def plan_cards(stories: Iterable[Story], teams: dict[str, Team], site_name: str,
               images: ImageSet, folder: Path) -> dict[str, CardJob]:
    """The card of every story by slug: its cache file in `folder` and what it shows."""
    fonts = _font_digest()
    jobs: dict[str, CardJob] = {}
    for story in stories:
        team = teams[story.team]
        text = CardText(story.title, team.name, team.color, site_name)
        processed = images.processed.get(story.cover) if story.cover else None
        cover_file = images.store.path(processed.largest.fallback) if processed else None
        key = card_key(text, processed.key if processed else None, fonts)
        jobs[story.slug] = (folder / key[:2] / f"{key}.png", text,
                            str(cover_file) if cover_file else None)
    return jobs


def draw_job(job: CardJob) -> bytes | None:
    """Draw one card into its cache file, unless it is there already; the card's bytes if
    drawn."""
    target, text, cover_file = job
    if target.is_file():
        return None
    if cover_file:
        with Image.open(cover_file) as cover:
            cover.load()
            content = draw_card(text, cover)
    else:
        content = draw_card(text)
    write_atomic(target, content)
    return content


class CardDrawing:
    """Cards being drawn while the build goes on; `wait()` before publishing them.

    Thousands of cards take seconds of CPU (1-2 ms each) that the build's page rendering
    (single-threaded, in MkDocs) leaves the second core for: many missing cards are drawn by
    a worker process (`python -m storyhub.cards`, jobs as JSON lines on its input, so it
    never imports the program that runs the build); a few are drawn at once on threads.
    """

    def __init__(self, jobs: Iterable[CardJob], workers: int = 2,
                 site_files: Mapping[Path, Sequence[Path]] | None = None):
        """With `site_files` (cache file -> the card's files in the site), the worker process
        also writes each card it draws into the site, which `published` then names (by cache
        file), so that the build need not copy them there at its end."""
        missing = [job for job in jobs if not job[0].is_file()]
        self.process: subprocess.Popen[bytes] | None = None
        self.published: set[Path] = set()
        if len(missing) >= PROCESS_THRESHOLD:
            self.errors = tempfile.TemporaryFile()  # noqa: SIM115 - closed in wait()
            site_files = site_files or {}
            self.process = parallel.python_worker(
                "storyhub.cards",
                b"".join(_job_line(job, site_files.get(job[0], ())) for job in missing),
                stdout=subprocess.DEVNULL, stderr=self.errors)
            self.published = {job[0] for job in missing if job[0] in site_files}
        else:
            with ThreadPoolExecutor(max_workers=max(1, workers)) as threads:
                list(threads.map(draw_job, missing))

    def wait(self) -> None:
        """Block until every card is in the cache."""
        process, self.process = self.process, None
        if process is None:
            return
        code = process.wait()
        self.errors.seek(0)
        errors = self.errors.read().decode("utf-8", "replace").strip()
        self.errors.close()
        if code != 0:
            raise RuntimeError(f"drawing social cards failed: {errors[-2000:]}")


def _job_line(job: CardJob, site_files: Sequence[Path]) -> bytes:
    target, text, cover = job
    return json.dumps([str(target), text.title, text.team, text.color, text.site_name, cover,
                       [str(file) for file in site_files]], ensure_ascii=False).encode() + b"\n"


def _worker() -> None:
    """`python -m storyhub.cards`: draw the cards given as JSON lines on standard input.

    At a lower priority: the cards are only needed at the end of the build, and until then
    the build's own work (and its child converting Markdown, parallel.py) comes first."""
    if hasattr(os, "nice"):
        os.nice(10)
    # All of it first: the build must not wait for a pipe while the cards are drawn.
    folders: set[Path] = set()
    for line in sys.stdin.buffer.read().splitlines():
        target, title, team, color, site_name, cover, site_files = json.loads(line)
        content = draw_job((Path(target), CardText(title, team, color, site_name), cover))
        for name in site_files:
            file = Path(name)
            if file.parent not in folders:
                file.parent.mkdir(parents=True, exist_ok=True)
                folders.add(file.parent)
            file.write_bytes(content if content is not None else Path(target).read_bytes())


def make_cards(stories: Iterable[Story], teams: dict[str, Team], site_name: str,
               images: ImageSet, folder: Path, workers: int = 2) -> dict[str, Path]:
    """Draw (or take from the cache in `folder`) the card of every story.

    Returns the cache file of each card by story slug.
    """
    jobs = plan_cards(stories, teams, site_name, images, folder)
    CardDrawing(jobs.values(), workers).wait()
    return {slug: job[0] for slug, job in jobs.items()}


def social_tags(story: Story, description: str, site_name: str, team: Team,
                page_url: str | None, card_url: str | None) -> list[str]:
    """Open Graph and Twitter card <meta> tags for a story page.

    `page_url` and `card_url` are absolute, or None without a site_url: then there is no
    og:url or og:image (both must be absolute) and Twitter shows a small 'summary' card.
    """
    tags: list[tuple[str, str, str]] = [
        ("property", "og:type", "article"),
        ("property", "og:site_name", site_name),
        ("property", "og:title", story.title),
        ("property", "og:description", description),
        ("property", "article:published_time", story.date.isoformat()),
        ("property", "article:section", team.name),
        *(("property", "article:tag", tag) for tag in story.tags),
    ]
    if page_url:
        tags.append(("property", "og:url", page_url))
    alt = f"{story.title} ({team.name})"
    if card_url:
        tags += [
            ("property", "og:image", card_url),
            ("property", "og:image:type", "image/png"),
            ("property", "og:image:width", str(SIZE[0])),
            ("property", "og:image:height", str(SIZE[1])),
            ("property", "og:image:alt", alt),
            ("name", "twitter:card", "summary_large_image"),
            ("name", "twitter:image", card_url),
            ("name", "twitter:image:alt", alt),
        ]
    else:
        tags.append(("name", "twitter:card", "summary"))
    tags += [("name", "twitter:title", story.title),
             ("name", "twitter:description", description)]
    return [f'<meta {kind}="{name}" content="{html.escape(value, quote=True)}">'
            for kind, name, value in tags]


def story_tags(spec: Any, site: Any, site_url: str | None) -> list[str]:
    """The social tags of a generated page: those of its story, nothing for other pages.

    `spec` is a pages.PageSpec (or None), `site` the build's pages.Site and `site_url`
    MkDocs' site_url (may be empty).
    """
    story = spec.context.get("story") if spec is not None and spec.template == "story.html" \
        else None
    if story is None:
        return []
    base = site_url.rstrip("/") + "/" if site_url else None
    return social_tags(story, site.rendered[story.slug].summary, site.site_name,
                       site.catalog.registry.teams[story.team],
                       base + site.page_url(story.url) if base else None,
                       base + card_path(story) if base else None)


if __name__ == "__main__":
    _worker()
