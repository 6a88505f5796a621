"""Palette PNGs assembled from separately compressed bands (png.py)."""

from __future__ import annotations

import io
import random
import zlib

import pytest
from PIL import Image

from storyhub import png


@pytest.mark.parametrize("sizes", [(0, 0), (1, 0), (0, 1), (5000, 65521), (70000, 3),
                                   (12345, 131042)])
def test_adler32_combine_matches_zlib(sizes: tuple[int, int]) -> None:
    rng = random.Random(sum(sizes))
    first, second = rng.randbytes(sizes[0]), rng.randbytes(sizes[1])
    assert png.adler32_combine(zlib.adler32(first), zlib.adler32(second), len(second)) \
        == zlib.adler32(first + second)


def test_bands_decode_to_the_pixels_and_palette() -> None:
    rng = random.Random(7)
    width, height = 37, 23
    pixels = rng.randbytes(width * height)
    palette = rng.randbytes(768)
    bands = [png.band(pixels[:5 * width], width, last=False),
             png.band(b"", width, last=False),
             png.band(pixels[5 * width:20 * width], width, last=False, fast=True),
             png.band(pixels[20 * width:], width, last=True, fast=True)]
    data = png.palette_png((width, height), palette, bands)
    with Image.open(io.BytesIO(data)) as image:
        image.load()  # checks every chunk's CRC and the zlib stream's Adler-32
        assert (image.mode, image.size) == ("P", (width, height))
        assert image.tobytes() == pixels
        assert bytes(image.getpalette() or []) == palette


@pytest.mark.parametrize(("height", "lasts"), [(2, (False, True)), (4, (False, True)),
                                               (3, (False, False)), (3, (True, True))])
def test_bands_must_hold_every_row_once_and_end_the_stream(height: int,
                                                           lasts: tuple[bool, bool]) -> None:
    bands = [png.band(bytes(20), 10, last=lasts[0]), png.band(bytes(10), 10, last=lasts[1])]
    with pytest.raises(ValueError, match="every row once"):
        png.palette_png((10, height), bytes(768), bands)
