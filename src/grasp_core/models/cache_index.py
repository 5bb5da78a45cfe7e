"""The index file of one closed cache segment: where each key's reply sits, read in place.

Opening the response cache would otherwise read and checksum every line of every segment
(seconds for a full cache). A segment that will not grow again (its writer closed it, or
died and a later run took its lock) gets ``<segment>.idx`` beside it, written once, aside
and renamed into place; an opening run maps it instead of scanning, and a lookup reads a
few numbers from the map. The layout, in native byte order (the magic names it)::

    header   magic (8) · segment size covered (u64) · entries n (u64) · bucket bits b (u32)
             · pad (u32)
    starts   u32[2**b + 1], padded to 8 bytes: where each bucket's entries begin
    prefixes u64[n], sorted: the last 16 hex digits of each key, as a number
    offsets  u64[n]: where each reply's payload begins in the segment
    lengths  u32[n]: how long it is

A key's bucket is the top ``b`` bits of its prefix; ``2**b`` is just above ``n``, so a
bucket holds about one entry and most misses find an empty one. The index only says where
to look: the cache checks the key and checksum of the line it points at before using it,
so an index that is stale (its segment's size changed), torn or wrong makes lookups miss,
never answer with another request's reply. One whose size or header does not add up is not
used at all (the segment is scanned as before).
"""

from __future__ import annotations

import mmap
import os
import secrets
import sys
from array import array
from collections.abc import Iterable
from itertools import accumulate
from pathlib import Path

__all__ = ["SegmentIndex", "index_path", "key_prefix", "write_index"]

_MAGIC = b"GRSPIX1" + (b"L" if sys.byteorder == "little" else b"B")
_HEADER = 32
_MAX_ENTRIES = 2**32 - 1
"""Bucket starts are u32: a segment with more entries than this is not indexed."""


def index_path(segment: Path) -> Path:
    """``seg-….log`` → ``seg-….idx``."""
    return segment.with_suffix(".idx")


def key_prefix(key: str) -> int:
    """The number an index files ``key`` (a sha256 in hex) under: its last 64 bits."""
    return int(key[-16:], 16)


def _layout(entries: int, bits: int) -> tuple[int, int, int, int]:
    """Byte offsets of starts, prefixes, offsets and lengths, and the file's size."""
    starts_end = _HEADER + (2**bits + 1) * 4
    prefixes = starts_end + (-starts_end % 8)
    offsets = prefixes + entries * 8
    lengths = offsets + entries * 8
    return prefixes, offsets, lengths, lengths + entries * 4


def write_index(segment: Path, entries: Iterable[tuple[str, int, int]], covered: int) -> None:
    """Write ``segment``'s index: ``entries`` are ``(key, payload offset, length)`` in the
    segment's order (a key's last line wins), ``covered`` is the segment's size. Written
    aside, then renamed into place."""
    latest = {key: (offset, length) for key, offset, length in entries}
    if len(latest) > _MAX_ENTRIES:
        return
    places = list(latest.values())
    # sorted by prefix as plain ints (prefix, then the entry's number in the low 32 bits):
    # sorting tuples costs twice as much, and a writer indexes every reply it stored
    order = sorted([key_prefix(key) << 32 | i for i, key in enumerate(latest)])
    prefixes = array("Q", [packed >> 32 for packed in order])
    rows = [places[packed & 0xFFFFFFFF] for packed in order]
    count = len(rows)
    bits = count.bit_length()
    shift = 64 - bits
    counts = array("I", bytes(4 * (2**bits + 1)))
    for prefix in prefixes:
        counts[(prefix >> shift) + 1] += 1
    starts = array("I", accumulate(counts))
    prefixes_at = _layout(count, bits)[0]
    header = _MAGIC + covered.to_bytes(8, sys.byteorder) + count.to_bytes(8, sys.byteorder)
    header += bits.to_bytes(4, sys.byteorder) + bytes(4)
    body = header + starts.tobytes()
    parts = [
        body + bytes(prefixes_at - len(body)),
        prefixes.tobytes(),
        array("Q", [row[0] for row in rows]).tobytes(),
        array("I", [row[1] for row in rows]).tobytes(),
    ]
    target = index_path(segment)
    aside = target.with_name(f"tmp-{target.name}-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        with aside.open("wb") as out:
            out.writelines(parts)
        os.replace(aside, target)
    finally:
        aside.unlink(missing_ok=True)


class SegmentIndex:
    """A segment's index file, mapped read-only (None from :meth:`load` when unusable)."""

    __slots__ = (
        "_lengths",
        "_map",
        "_offsets",
        "_shift",
        "_starts",
        "_view",
        "covered",
        "prefixes",
    )

    def __init__(self, mapped: mmap.mmap, covered: int, count: int, bits: int) -> None:
        prefixes_at, offsets_at, lengths_at, size = _layout(count, bits)
        view = memoryview(mapped)
        self._map = mapped
        self._view = view
        self.covered = covered
        self._shift = 64 - bits
        self._starts = view[_HEADER : _HEADER + (2**bits + 1) * 4].cast("I")
        self.prefixes = view[prefixes_at:offsets_at].cast("Q")
        self._offsets = view[offsets_at:lengths_at].cast("Q")
        self._lengths = view[lengths_at:size].cast("I")

    @classmethod
    def load(cls, segment: Path, size: int) -> SegmentIndex | None:
        """``segment``'s index when it exists and covers exactly ``size`` bytes of it."""
        try:
            fd = os.open(index_path(segment), os.O_RDONLY)
        except OSError:
            return None
        try:
            actual = os.fstat(fd).st_size
            if actual < _HEADER:
                return None
            mapped = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError):
            return None
        finally:
            os.close(fd)
        header = mapped[:_HEADER]
        covered = int.from_bytes(header[8:16], sys.byteorder)
        count = int.from_bytes(header[16:24], sys.byteorder)
        bits = int.from_bytes(header[24:28], sys.byteorder)
        if (
            header[:8] != _MAGIC
            or covered != size
            or bits > 40
            or count > _MAX_ENTRIES
            or _layout(count, bits)[3] != actual
        ):
            mapped.close()
            return None
        return cls(mapped, covered, count, bits)

    def find(self, prefix: int) -> list[tuple[int, int]]:
        """The payload offset and length of each entry filed under ``prefix`` (usually
        none or one), unchecked (see the module)."""
        starts = self._starts
        bucket = prefix >> self._shift
        start, end = starts[bucket], starts[bucket + 1]
        if start >= end:  # most misses
            return []
        prefixes = self.prefixes
        found = []
        for i in range(start, min(end, len(prefixes))):
            if prefixes[i] == prefix:
                offset, length = self._offsets[i], self._lengths[i]
                if offset + length <= self.covered:
                    found.append((offset, length))
        return found

    def close(self) -> None:
        """Unmap the file (the views over it first)."""
        for view in (self._starts, self.prefixes, self._offsets, self._lengths, self._view):
            view.release()
        self._map.close()
