"""An exact set of record-id digests in 8 bytes per id, for duplicate checks on huge inputs."""

from __future__ import annotations

import bisect
import hashlib
import heapq
from array import array

__all__ = ["IdDigests", "id_digest"]


def id_digest(record_id: str) -> int:
    """A 64-bit digest of an id (a false duplicate needs a 1-in-2**64 collision)."""
    raw = hashlib.blake2b(record_id.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(raw, "little")


class IdDigests:
    """Digests seen so far: a sorted array, plus a small set merged into it when full.

    A Python set costs ~65 bytes per entry; this costs 8 (16 during a merge), so memory
    stays nearly flat when a source streams millions of records.
    """

    def __init__(self, buffer_size: int = 1 << 15) -> None:
        self._sorted = array("Q")
        self._recent: set[int] = set()
        self._buffer_size = buffer_size

    def add(self, digest: int) -> bool:
        """Add ``digest``; False when it was already there."""
        if digest in self._recent or self._contains_sorted(digest):
            return False
        self._recent.add(digest)
        if len(self._recent) >= self._buffer_size:
            merged = heapq.merge(self._sorted, sorted(self._recent))
            self._sorted = array("Q", merged)
            self._recent.clear()
        return True

    def _contains_sorted(self, digest: int) -> bool:
        index = bisect.bisect_left(self._sorted, digest)
        return index < len(self._sorted) and self._sorted[index] == digest
