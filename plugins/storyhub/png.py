"""Palette PNG files assembled from separately compressed bands of rows.

The social cards of a team differ only in the rows of their title; the rows above and below
it are the same on every card of the team. A PNG's pixels are one zlib stream, but a deflate
stream may be cut into parts that each start from an empty dictionary (a full flush), so
the parts that do not change are compressed once and reused (`Band`), and a card only
compresses the rows of its title. That took a card's encoding from 2.9 ms (Pillow, the
whole image) to about 1 ms.

A title's rows are compressed by ISA-L (`isal`), not zlib: they (180 KB, mostly background)
took zlib 0.76 ms at level 3 and take ISA-L 0.16 ms at its level 1, 5% larger. Its Adler-32
and CRC-32 are faster too. The bands a team's cards share are compressed once, by zlib.
Any inflater reads both.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from isal import isal_zlib

SIGNATURE = b"\x89PNG\r\n\x1a\n"
ZLIB_HEADER = b"\x78\x5e"  # deflate, 32 KB window, "fast" level (informational only)
ADLER_BASE = 65521


@dataclass(frozen=True)
class Band:
    """Rows of pixels, each behind its PNG filter byte, as raw deflate data that ends on a
    byte boundary with an empty dictionary (or as the stream's last block)."""

    data: bytes
    adler: int  # Adler-32 of the uncompressed rows
    size: int  # length of the uncompressed rows
    last: bool


def band(pixels: bytes, width: int, last: bool, fast: bool = False) -> Band:
    """Compress rows of 8-bit `pixels`, `width` to a row, with filter type 0 (none): `fast`
    with ISA-L's level 1, else with zlib's level 6 (for bands made once and reused; level 9
    took five times as long on a card's mostly empty rows, for 10% less)."""
    rows = b"".join(b"\0" + pixels[start:start + width]
                    for start in range(0, len(pixels), width))
    deflate: Any = isal_zlib if fast else zlib
    compressor = deflate.compressobj(1 if fast else 6, deflate.DEFLATED, -15)
    data = compressor.compress(rows) + compressor.flush(
        deflate.Z_FINISH if last else deflate.Z_FULL_FLUSH)
    return Band(data, isal_zlib.adler32(rows), len(rows), last)


def adler32_combine(first: int, second: int, second_size: int) -> int:
    """Adler-32 of two byte strings one after the other, from theirs (zlib's
    adler32_combine, which Python's zlib module does not offer)."""
    remainder = second_size % ADLER_BASE
    low = (first & 0xFFFF) + (second & 0xFFFF) + ADLER_BASE - 1
    high = (remainder * (first & 0xFFFF)) % ADLER_BASE
    high += (first >> 16) + (second >> 16) + ADLER_BASE - remainder
    return (low % ADLER_BASE) | ((high % ADLER_BASE) << 16)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(
        ">I", isal_zlib.crc32(data, isal_zlib.crc32(kind)))


def palette_png(size: tuple[int, int], palette: bytes, bands: Sequence[Band]) -> bytes:
    """An 8-bit palette PNG (`palette`: RGB triples) of `bands`, top to bottom, which must
    hold all the image's rows, the last band marked `last`."""
    width, height = size
    if not bands or not bands[-1].last or any(b.last for b in bands[:-1]) \
            or sum(b.size for b in bands) != height * (width + 1):
        raise ValueError("the bands must hold every row once, the last band marked last")
    adler = 1  # the Adler-32 of nothing
    for part in bands:
        adler = adler32_combine(adler, part.adler, part.size)
    stream = ZLIB_HEADER + b"".join(b.data for b in bands) + struct.pack(">I", adler)
    header = struct.pack(">IIBBBBB", width, height, 8, 3, 0, 0, 0)
    return (SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"PLTE", palette)
            + _chunk(b"IDAT", stream) + _chunk(b"IEND", b""))
