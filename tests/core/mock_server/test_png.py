"""The mock server's fast pictures are the grid a plain PNG encoder would write: the same
pixels for every size (odd sides, one-pixel sides, the 1024 cap), the same bytes for the
same seed, and padded to a real picture's weight in a chunk readers skip."""

from __future__ import annotations

import hashlib
import io
import warnings
import zlib

import pytest
from PIL import Image

from grasp_core.mock_server._png import GRID, grid_png, png_bytes


def _plain(seed: bytes, width: int, height: int) -> bytes:
    """The same grid, every scanline written out and compressed in one go."""
    colours = hashlib.shake_256(seed).digest(GRID * GRID * 3)
    lines = []
    for y in range(height):
        row = bytearray(b"\x00")
        for x in range(width):
            start = ((y * GRID // height) * GRID + x * GRID // width) * 3
            row += colours[start : start + 3]
        lines.append(bytes(row))
    return png_bytes(width, height, b"".join(lines))


def _pixels(data: bytes) -> tuple[tuple[int, int], str, bytes]:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an unknown chunk must not make Pillow complain
        image = Image.open(io.BytesIO(data))
        image.load()
    return image.size, image.mode, image.tobytes()


@pytest.mark.parametrize(
    ("width", "height"), [(1, 1), (5, 3), (48, 32), (64, 64), (7, 1000), (1000, 7), (1024, 1024)]
)
def test_a_fast_picture_has_the_pixels_of_a_plain_one(width: int, height: int) -> None:
    """Joined pieces and combined checksums decode (zlib checks the Adler-32) to exactly the
    plainly encoded grid."""
    seed = f"seed {width}x{height}".encode()
    fast = grid_png(seed, width, height)
    assert _pixels(fast) == _pixels(_plain(seed, width, height))
    idat = fast.index(b"IDAT")
    length = int.from_bytes(fast[idat - 4 : idat], "big")
    zlib.decompress(fast[idat + 4 : idat + 4 + length])  # raises on a bad checksum


def test_the_same_seed_gives_the_same_bytes_and_a_real_pictures_weight() -> None:
    """Deterministic, and a 1024x1024 picture weighs about 50 KB, as a photo's PNG would."""
    first, again = grid_png(b"a", 1024, 1024), grid_png(b"a", 1024, 1024)
    assert first == again
    assert grid_png(b"b", 1024, 1024) != first
    assert 45_000 < len(first) < 70_000
