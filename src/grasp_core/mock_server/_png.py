"""The mock server's pictures: PNGs of a grid of colours, written with zlib alone, fast.

A mock that takes 14 ms of CPU to compress a 1024x1024 picture holds its event loop that
long, so a benchmark of 64 concurrent image calls would measure the mock rather than GraSP.
Here each row of cells is one distinct scanline (filter None) followed by scanlines that
repeat it (filter Up: all zeros). The repeats are compressed once per width and count
(:func:`_repeats`), each piece ends with a full flush so that pieces join into one deflate
stream, and the Adler-32 of the whole is combined from the pieces': about 1 ms a picture.

Real PNGs of photos do not compress to a few kilobytes, so a picture also carries
incompressible padding in a private ancillary chunk (``paDd``, which readers skip): a
1024x1024 picture weighs about 55 KB, as the media benchmark's requests should.
"""

from __future__ import annotations

import functools
import hashlib
import struct
import zlib
from typing import Final

__all__ = ["GRID", "grid_png", "png_bytes"]

GRID: Final = 8
"""Cells per side."""
_PADDING_PER_PIXEL: Final = 1 / 20
"""Bytes of padding per pixel (1024x1024: about 51 KB)."""
_ADLER_BASE: Final = 65521


def grid_png(seed: bytes, width: int, height: int) -> bytes:
    """A ``width`` x ``height`` RGB PNG of a GRID x GRID grid of colours drawn from
    ``seed``, with padding drawn from it too (same seed and size: same bytes)."""
    colours = hashlib.shake_256(seed).digest(GRID * GRID * 3)
    spans = _spans(width)
    pieces, adler = [], 1
    for cell_row in range(GRID):
        rows = sum(1 for y in range(height) if y * GRID // height == cell_row)
        if rows == 0:
            continue
        cells = range(cell_row * GRID, (cell_row + 1) * GRID)
        line = b"\x00" + b"".join(
            colours[c * 3 : c * 3 + 3] * n for c, n in zip(cells, spans, strict=True)
        )
        pieces.append(_deflate(line))
        adler = zlib.adler32(line, adler)
        if rows > 1:
            compressed, repeat_adler, length = _repeats(width, rows - 1)
            pieces.append(compressed)
            adler = _adler_combine(adler, repeat_adler, length)
    last = zlib.compressobj(6, zlib.DEFLATED, -15).flush(zlib.Z_FINISH)
    stream = b"\x78\x9c" + b"".join(pieces) + last + struct.pack(">I", adler)
    padding = hashlib.shake_256(b"padding" + seed).digest(int(width * height * _PADDING_PER_PIXEL))
    return png_bytes(width, height, b"", compressed=stream, padding=padding)


def png_bytes(
    width: int,
    height: int,
    raw: bytes,
    *,
    compressed: bytes | None = None,
    padding: bytes = b"",
) -> bytes:
    """An 8-bit RGB PNG of ``raw`` scanlines (each led by its filter byte), or of their
    zlib stream when ``compressed`` is given; ``padding`` goes in a ``paDd`` chunk."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + (chunk(b"paDd", padding) if padding else b"")
        + chunk(b"IDAT", compressed if compressed is not None else zlib.compress(raw, 6))
        + chunk(b"IEND", b"")
    )


def _deflate(data: bytes) -> bytes:
    """``data`` as raw deflate blocks ending on a byte boundary and referring to nothing
    before them: pieces made this way can be joined."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush(zlib.Z_FULL_FLUSH)


@functools.lru_cache(maxsize=64)
def _spans(width: int) -> tuple[int, ...]:
    """How many pixels of a ``width``-wide scanline each column of cells covers."""
    return tuple(sum(1 for x in range(width) if x * GRID // width == c) for c in range(GRID))


@functools.lru_cache(maxsize=64)
def _repeats(width: int, count: int) -> tuple[bytes, int, int]:
    """``count`` scanlines repeating the one above (filter Up, all zeros): compressed, their
    Adler-32 on their own, and their length."""
    raw = (b"\x02" + bytes(3 * width)) * count
    return _deflate(raw), zlib.adler32(raw), len(raw)


def _adler_combine(first: int, second: int, length: int) -> int:
    """The Adler-32 of two pieces joined, from each one's and the second's ``length``."""
    a1, b1 = first & 0xFFFF, first >> 16
    a2, b2 = second & 0xFFFF, second >> 16
    a = (a1 + a2 - 1) % _ADLER_BASE
    b = (b1 + b2 + length * (a1 - 1)) % _ADLER_BASE
    return (b << 16) | a
