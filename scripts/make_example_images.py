#!/usr/bin/env python3
"""Draw the example cover images and inline charts used by the stories in `stories/`.

Deterministic and offline: no network, no external fonts (only Pillow's built-in font),
and any jitter comes from a random generator seeded with the file name. Running the
script twice writes byte-identical files. Team colours are read from `stories/teams.yml`.

Usage:  python scripts/make_example_images.py [--root PATH]
"""

from __future__ import annotations

import argparse
import math
import random
import zlib
from pathlib import Path

import yaml
from PIL import Image, ImageDraw, ImageFont

COVER_SIZE = (1600, 900)
CHART_SIZE = (1200, 700)
SUPERSAMPLE = 2  # shapes are drawn at 2x and scaled down for smooth edges
JPEG_QUALITY = 82
MAX_BYTES = 150_000

RGB = tuple[int, int, int]


# --------------------------------------------------------------------------- colours


def hex_to_rgb(value: str) -> RGB:
    value = value.lstrip("#")
    return (int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16))


def mix(a: RGB, b: RGB, t: float) -> RGB:
    """Linear mix: t=0 gives a, t=1 gives b."""
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b, strict=False))  # type: ignore[return-value]


WHITE: RGB = (255, 255, 255)
BLACK: RGB = (0, 0, 0)
INK: RGB = (33, 33, 33)
GRID: RGB = (224, 224, 224)


def lighten(c: RGB, t: float) -> RGB:
    return mix(c, WHITE, t)


def darken(c: RGB, t: float) -> RGB:
    return mix(c, BLACK, t)


def rgba(c: RGB, alpha: int) -> tuple[int, int, int, int]:
    return (c[0], c[1], c[2], alpha)


def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def rng_for(name: str) -> random.Random:
    return random.Random(zlib.crc32(name.encode("utf-8")))


# --------------------------------------------------------------------------- backgrounds


def diagonal_gradient(size: tuple[int, int], start: RGB, end: RGB, angle: float = 35.0) -> Image.Image:
    """A smooth gradient from `start` (top left) to `end` (bottom right)."""
    w, h = size
    side = int(math.hypot(w, h)) + 4
    mask = Image.linear_gradient("L").resize((side, side), Image.Resampling.BICUBIC)
    mask = mask.rotate(angle, resample=Image.Resampling.BICUBIC)
    left, top = (side - w) // 2, (side - h) // 2
    mask = mask.crop((left, top, left + w, top + h))
    return Image.composite(Image.new("RGB", size, end), Image.new("RGB", size, start), mask)


class Canvas:
    """An RGBA overlay drawn at SUPERSAMPLE x scale; coordinates are given at 1x."""

    def __init__(self, size: tuple[int, int]):
        self.size = size
        self.s = SUPERSAMPLE
        self.image = Image.new("RGBA", (size[0] * self.s, size[1] * self.s), (0, 0, 0, 0))
        self.draw = ImageDraw.Draw(self.image)

    def _box(self, box):
        return [round(v * self.s) for v in box]

    def ellipse(self, cx, cy, r, fill, outline=None, width=0):
        self.draw.ellipse(self._box((cx - r, cy - r, cx + r, cy + r)), fill=fill,
                          outline=outline, width=width * self.s)

    def rounded(self, box, radius, fill, outline=None, width=0):
        self.draw.rounded_rectangle(self._box(box), radius=radius * self.s, fill=fill,
                                    outline=outline, width=width * self.s)

    def polygon(self, points, fill):
        self.draw.polygon([(x * self.s, y * self.s) for x, y in points], fill=fill)

    def line(self, points, fill, width):
        self.draw.line([(x * self.s, y * self.s) for x, y in points], fill=fill,
                       width=width * self.s, joint="curve")

    def result(self) -> Image.Image:
        return self.image.resize(self.size, Image.Resampling.LANCZOS)


def rotated_rect(cx, cy, w, h, degrees):
    a = math.radians(degrees)
    pts = []
    for dx, dy in ((-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)):
        pts.append((cx + dx * math.cos(a) - dy * math.sin(a), cy + dx * math.sin(a) + dy * math.cos(a)))
    return pts


def bezier(p0, p1, p2, steps=60):
    return [
        ((1 - t) ** 2 * p0[0] + 2 * (1 - t) * t * p1[0] + t * t * p2[0],
         (1 - t) ** 2 * p0[1] + 2 * (1 - t) * t * p1[1] + t * t * p2[1])
        for t in (i / steps for i in range(steps + 1))
    ]


# --------------------------------------------------------------------------- cover motifs
# Each motif draws onto a Canvas (1600x900 coordinates) given the team colour.

W, H = COVER_SIZE
SOFT = rgba(WHITE, 46)
SOFTER = rgba(WHITE, 26)
STRONG = rgba(WHITE, 200)


def motif_bubbles_to_pages(c: Canvas, color: RGB, rnd: random.Random) -> None:
    # speech bubbles on the left drifting into page shapes on the right
    for i in range(5):
        x, y = 220 + i * 70, 230 + i * 95
        r = 70 - i * 6
        c.ellipse(x, y, r, fill=rgba(WHITE, 70 + i * 20))
        c.polygon([(x - r * 0.3, y + r * 0.8), (x - r * 0.7, y + r * 1.25), (x + r * 0.1, y + r * 0.9)],
                  fill=rgba(WHITE, 70 + i * 20))
    for i in range(3):
        x0, y0 = 900 + i * 150, 210 + i * 60
        c.rounded((x0, y0, x0 + 300, y0 + 400), 24, fill=rgba(WHITE, 60 + i * 55))
        for j in range(6):
            lw = 220 - rnd.randint(0, 90)
            c.rounded((x0 + 36, y0 + 60 + j * 52, x0 + 36 + lw, y0 + 74 + j * 52), 7,
                      fill=rgba(darken(color, 0.1), 90 + i * 40))
    c.line(bezier((520, 600), (700, 760), (900, 560)), fill=SOFT, width=10)


def motif_three_circles(c: Canvas, color: RGB, rnd: random.Random) -> None:
    c.ellipse(560, 470, 260, fill=SOFT)
    c.ellipse(860, 420, 210, fill=rgba(lighten(color, 0.5), 90))
    c.ellipse(1120, 500, 170, fill=rgba(WHITE, 70))
    for cx, cy, r in ((560, 410, 70), (860, 370, 58), (1120, 455, 46)):
        c.ellipse(cx, cy, r, fill=STRONG)  # heads
        c.ellipse(cx, cy + r * 2.3, r * 1.5, fill=rgba(WHITE, 120))  # shoulders
    c.rounded((0, 800, W, H), 0, fill=rgba(darken(color, 0.3), 110))


def motif_rising_bars(c: Canvas, color: RGB, rnd: random.Random) -> None:
    c.rounded((0, 0, W, H), 0, fill=rgba(darken(color, 0.15), 255))
    c.ellipse(1400, 120, 300, fill=rgba(lighten(color, 0.3), 60))
    heights = (260, 380, 500, 640)
    for i, h in enumerate(heights):
        x = 360 + i * 240
        c.rounded((x, 780 - h, x + 160, 780), 28, fill=rgba(lighten(color, 0.25 + i * 0.18), 255))
    c.rounded((300, 790, 1300, 802), 6, fill=rgba(WHITE, 200))


def motif_postcard(c: Canvas, color: RGB, rnd: random.Random) -> None:
    c.polygon(rotated_rect(830, 470, 860, 520, -7), fill=rgba(darken(color, 0.35), 90))  # shadow
    c.polygon(rotated_rect(810, 450, 860, 520, -7), fill=rgba(lighten(color, 0.88), 255))
    c.polygon(rotated_rect(1080, 300, 150, 180, -7), fill=rgba(lighten(color, 0.35), 255))
    c.ellipse(1080, 300, 48, fill=rgba(WHITE, 220))
    for j in range(4):
        pts = rotated_rect(700, 420 + j * 60, 420 - j * 40, 10, -7)
        c.polygon(pts, fill=rgba(color, 170))
    c.line(bezier((520, 660), (640, 600), (760, 650)), fill=rgba(color, 220), width=6)


def motif_staircase(c: Canvas, color: RGB, rnd: random.Random) -> None:
    for i in range(6):
        x = 260 + i * 190
        top = 700 - i * 95
        c.rounded((x, top, x + 190, 900), 14, fill=rgba(WHITE, 40 + i * 28))
    c.ellipse(1370, 170, 46, fill=STRONG)
    c.line(bezier((300, 660), (800, 200), (1330, 190)), fill=rgba(WHITE, 120), width=6)


def motif_sprout(c: Canvas, color: RGB, rnd: random.Random) -> None:
    c.line(bezier((100, 760), (800, 640), (1500, 780)), fill=rgba(WHITE, 150), width=12)
    c.line(bezier((800, 700), (790, 520), (820, 330)), fill=rgba(WHITE, 210), width=14)
    leaf = lighten(color, 0.7)
    c.polygon(bezier((805, 470), (620, 330), (560, 420))[:-1] + bezier((560, 420), (650, 520), (805, 470)),
              fill=rgba(leaf, 230))
    c.polygon(bezier((812, 400), (1000, 250), (1070, 350))[:-1] + bezier((1070, 350), (960, 450), (812, 400)),
              fill=rgba(leaf, 230))
    c.ellipse(820, 310, 40, fill=rgba(WHITE, 235))
    for _ in range(10):
        c.ellipse(rnd.randint(150, 1450), rnd.randint(80, 560), rnd.randint(6, 16), fill=SOFT)


def motif_path_milestones(c: Canvas, color: RGB, rnd: random.Random) -> None:
    pts = bezier((120, 780), (900, 760), (1480, 150), steps=80)
    c.line(pts, fill=rgba(WHITE, 170), width=10)
    for k in (10, 26, 42, 58, 74):
        x, y = pts[k]
        c.ellipse(x, y, 26, fill=rgba(WHITE, 235))
        c.ellipse(x, y, 12, fill=rgba(color, 255))
    c.ellipse(300, 220, 180, fill=SOFTER)
    c.ellipse(1250, 700, 240, fill=SOFTER)


def evenly_spaced(points, spacing):
    """Pick points along a polyline roughly `spacing` pixels apart."""
    out = [points[0]]
    for x, y in points[1:]:
        if math.hypot(x - out[-1][0], y - out[-1][1]) >= spacing:
            out.append((x, y))
    return out


def motif_question_dots(c: Canvas, color: RGB, rnd: random.Random) -> None:
    # a question-mark-like hook drawn with dots, then a list of squares
    curve = bezier((640, 300), (780, 40), (940, 250), steps=200)[:-1]
    curve += bezier((940, 250), (990, 400), (800, 450), steps=200)
    curve += [(800, 450 + k) for k in range(1, 110)]
    for x, y in evenly_spaced(curve, 58):
        c.ellipse(x, y, 22, fill=rgba(WHITE, 215))
    c.ellipse(800, 650, 28, fill=rgba(WHITE, 240))
    for i in range(6):
        x = 1040 + (i % 3) * 150
        y = 180 + (i // 3) * 120
        c.rounded((x, y, x + 110, y + 80), 16, fill=rgba(lighten(color, 0.6), 70 + i * 25))
    for i in range(6):
        x = 1040 + (i % 3) * 150
        y = 440 + (i // 3) * 120
        c.rounded((x, y, x + 110, y + 80), 16, fill=rgba(WHITE, 30 + i * 12))


def motif_schedule_grid(c: Canvas, color: RGB, rnd: random.Random) -> None:
    cols, rows = 7, 4
    gw, gh, gap = 150, 120, 26
    x0 = (W - (cols * gw + (cols - 1) * gap)) // 2
    y0 = (H - (rows * gh + (rows - 1) * gap)) // 2
    highlighted = {(1, 1), (2, 1), (4, 2), (5, 0), (3, 3), (6, 2)}
    for r in range(rows):
        for col in range(cols):
            x, y = x0 + col * (gw + gap), y0 + r * (gh + gap)
            if (col, r) in highlighted:
                c.rounded((x, y, x + gw, y + gh), 22, fill=rgba(lighten(color, 0.75), 245))
            else:
                c.rounded((x, y, x + gw, y + gh), 22, fill=rgba(WHITE, 34 + rnd.randint(0, 20)))
    start = (x0 + gw * 1.5 + gap, y0 + gh * 1.5 + gap)
    end = (x0 + 4 * (gw + gap) + gw / 2, y0 + 2 * (gh + gap) + gh / 2)
    c.line(bezier(start, (x0 + 600, y0 + 60), end), fill=rgba(WHITE, 220), width=6)


def motif_launch_transparent(c: Canvas, color: RGB, rnd: random.Random) -> None:
    # transparent background: only the shapes are visible
    c.rounded((220, 260, 820, 760), 120, fill=rgba(color, 230))
    c.rounded((560, 180, 1120, 680), 120, fill=rgba(lighten(color, 0.35), 200))
    c.rounded((900, 330, 1380, 810), 120, fill=rgba(darken(color, 0.2), 170))
    c.polygon([(800, 520), (800, 380), (730, 380), (860, 230), (990, 380), (920, 380), (920, 520)],
              fill=rgba(WHITE, 255))


def motif_connected_dots(c: Canvas, color: RGB, rnd: random.Random, palette: list[RGB]) -> None:
    centre = (800, 450)
    n = len(palette)
    points = []
    for i, col in enumerate(palette):
        a = -math.pi / 2 + i * 2 * math.pi / n
        points.append((centre[0] + 330 * math.cos(a) * 1.35, centre[1] + 300 * math.sin(a), col))
    for i, (x, y, _) in enumerate(points):
        for j, (x2, y2, _) in enumerate(points):
            if j > i:
                mid = ((x + x2) / 2 + (centre[0] - (x + x2) / 2) * 0.45,
                       (y + y2) / 2 + (centre[1] - (y + y2) / 2) * 0.45)
                c.line(bezier((x, y), mid, (x2, y2), steps=40), fill=rgba(WHITE, 70), width=4)
    for x, y, col in points:
        c.ellipse(x, y, 64, fill=rgba(WHITE, 255))
        c.ellipse(x, y, 50, fill=rgba(col, 255))


def motif_rings(c: Canvas, color: RGB, rnd: random.Random) -> None:
    cx, cy = 560, 470
    for i in range(9, 0, -1):
        c.ellipse(cx, cy, 60 + i * 95, fill=None, outline=rgba(WHITE, 30 + (10 - i) * 16), width=8)
    c.ellipse(cx, cy, 60, fill=rgba(WHITE, 240))
    for _ in range(14):
        a = rnd.uniform(-0.9, 0.9)
        d = rnd.uniform(250, 900)
        c.ellipse(cx + d * math.cos(a), cy + d * math.sin(a), rnd.randint(10, 20), fill=rgba(WHITE, 170))


# --------------------------------------------------------------------------- covers

# (team, file name, motif); the extension decides the format.
COVERS = [
    ("marketing", "support-inbox-to-blog.jpg", "bubbles_to_pages"),
    ("marketing", "people-behind-the-product.jpg", "three_circles"),
    ("marketing", "campaign-results.png", "rising_bars"),
    ("support", "thank-you-notes.jpg", "postcard"),
    ("support", "career-paths.jpg", "staircase"),
    ("hr", "great-place-to-grow.jpg", "sprout"),
    ("hr", "employer-brand-half-year.jpg", "path_milestones"),
    ("sales", "field-questions.jpg", "question_dots"),
    ("product", "planner-5-preview.jpg", "schedule_grid"),
    ("product", "spring-launch-numbers.png", "launch_transparent"),
    ("comms", "storytelling-kickoff.jpg", "connected_dots"),
    ("comms", "ambassador-pilot.jpg", "rings"),
]

STORY_TEAMS = ["marketing", "support", "hr", "sales", "product", "comms"]


def make_cover(team: dict, filename: str, motif: str, teams: dict[str, dict]) -> Image.Image:
    color = hex_to_rgb(team["color"])
    rnd = rng_for(filename)
    canvas = Canvas(COVER_SIZE)
    fn = globals()[f"motif_{motif}"]
    if motif == "connected_dots":
        palette = [lighten(hex_to_rgb(teams[t]["color"]), 0.15) for t in STORY_TEAMS]
        fn(canvas, color, rnd, palette)
    else:
        fn(canvas, color, rnd)
    overlay = canvas.result()

    if motif == "launch_transparent":
        image = overlay  # keep the alpha channel
    else:
        background = diagonal_gradient(COVER_SIZE, darken(color, 0.25), lighten(color, 0.25),
                                       angle=rnd.choice((25.0, 35.0, 45.0)))
        image = Image.alpha_composite(background.convert("RGBA"), overlay)

    # small wordmark in the bottom-left corner, blended (not pasted) so opaque covers stay opaque
    label = f"BRIGHTWAVE  ·  {team['name'].upper()}"
    label_color = rgba(WHITE, 230) if motif != "launch_transparent" else rgba(darken(color, 0.3), 255)
    layer = Image.new("RGBA", COVER_SIZE, (0, 0, 0, 0))
    ImageDraw.Draw(layer).text((64, H - 72), label, font=font(30), fill=label_color)
    return Image.alpha_composite(image, layer)


# --------------------------------------------------------------------------- charts

# (team, file name, title, unit suffix, [(label, value), ...])
CHARTS = [
    ("support", "ticket-categories-q4.png", "Tickets by category, Q4 2025", "",
     [("How-to", 1610), ("Billing", 980), ("Mobile sync", 870), ("Integrations", 640),
      ("Bug reports", 610), ("Account access", 530)]),
    ("hr", "turnover-by-quarter.png", "Employee turnover, rolling 12 months", "%",
     [("Q3 2025", 18), ("Q4 2025", 17), ("Q1 2026", 16), ("Q2 2026", 14), ("Q3 2026", 12)]),
    ("comms", "advocacy-reach-by-month.png", "Monthly reach of employee shares", "",
     [("Oct", 38_000), ("Nov", 41_000), ("Dec", 35_000), ("Jan", 96_000), ("Feb", 180_000),
      ("Mar", 265_000)]),
]


def nice_step(maximum: float) -> float:
    raw = maximum / 5
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if m * power >= raw:
            return m * power
    return 10 * power


def fmt(value: float, unit: str) -> str:
    text = f"{value / 1000:,.0f}k" if value >= 10_000 else f"{value:,.0f}"
    return text + unit


def make_chart(team: dict, title: str, unit: str, data: list[tuple[str, float]]) -> Image.Image:
    color = hex_to_rgb(team["color"])
    w, h = CHART_SIZE
    image = Image.new("RGB", CHART_SIZE, WHITE)
    draw = ImageDraw.Draw(image)
    left, right, top, bottom = 120, w - 60, 120, h - 100

    draw.text((left, 40), title, font=font(36), fill=INK)
    draw.rectangle((left, 92, left + 80, 98), fill=color)

    step = nice_step(max(v for _, v in data))
    ymax = step * math.ceil(max(v for _, v in data) / step)
    small = font(20)
    tick = 0.0
    while tick <= ymax + 1e-9:
        y = bottom - (bottom - top) * tick / ymax
        draw.line((left, y, right, y), fill=GRID, width=2)
        text = fmt(tick, unit)
        tw = draw.textlength(text, font=small)
        draw.text((left - 16 - tw, y - 11), text, font=small, fill=(97, 97, 97))
        tick += step

    n = len(data)
    slot = (right - left) / n
    bar_w = slot * 0.58
    label_font, value_font = font(22), font(22)
    for i, (label, value) in enumerate(data):
        x0 = left + i * slot + (slot - bar_w) / 2
        y0 = bottom - (bottom - top) * value / ymax
        shade = color if i == max(range(n), key=lambda k: data[k][1]) else lighten(color, 0.35)
        draw.rectangle((round(x0), round(y0), round(x0 + bar_w), bottom), fill=shade)
        vt = fmt(value, unit)
        draw.text((x0 + (bar_w - draw.textlength(vt, font=value_font)) / 2, y0 - 32), vt,
                  font=value_font, fill=INK)
        draw.text((x0 + (bar_w - draw.textlength(label, font=label_font)) / 2, bottom + 18), label,
                  font=label_font, fill=INK)
    draw.line((left, bottom, right, bottom), fill=INK, width=2)
    return image


# --------------------------------------------------------------------------- output


def save(image: Image.Image, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() in (".jpg", ".jpeg"):
        image.convert("RGB").save(path, "JPEG", quality=JPEG_QUALITY, optimize=True)
    elif image.mode == "RGBA" and image.getextrema()[3][0] < 255:
        image.save(path, "PNG", optimize=True)  # keeps transparency
    else:
        # opaque PNG: a 256-colour palette keeps flat artwork small without visible banding
        image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                                      dither=Image.Dither.NONE).save(path, "PNG", optimize=True)
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise SystemExit(f"{path}: {size} bytes is over the {MAX_BYTES} byte budget")
    print(f"{path}  {image.size[0]}x{image.size[1]}  {size // 1024} KB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent,
                        help="project folder containing stories/ (default: the repository)")
    args = parser.parse_args()
    stories = args.root / "stories"
    teams = {t["id"]: t for t in yaml.safe_load((stories / "teams.yml").read_text(encoding="utf-8"))}

    for team_id, filename, motif in COVERS:
        save(make_cover(teams[team_id], filename, motif, teams), stories / team_id / "images" / filename)
    for team_id, filename, title, unit, data in CHARTS:
        save(make_chart(teams[team_id], title, unit, data), stories / team_id / "images" / filename)


if __name__ == "__main__":
    main()
