"""An exact set of record-id digests in about 9 bytes per id, for duplicate checks on huge
inputs."""

from __future__ import annotations

import bisect
import hashlib
import mmap

__all__ = ["IdDigests", "id_digest"]


def id_digest(record_id: str) -> int:
    """A 64-bit digest of an id (a false duplicate needs a 1-in-2**64 collision)."""
    raw = hashlib.blake2b(record_id.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(raw, "little")


class IdDigests:
    """Digests seen so far: a sorted array, plus a set of the newest merged into it when full.

    A Python set costs ~65 bytes per entry; the sorted array costs 8 (16 during a merge), so
    memory stays nearly flat when a source streams millions of records. The set holds at
    least ``buffer_size`` digests and grows with the array (to a 64th of it). A merge finds
    each new digest's place by bisection and copies the runs of the old array between them
    whole (memory copies, not Python steps), so its Python work is the set's size and only
    its copying is the array's; with the set growing with the array, that copying costs a
    bounded amount per digest. Before, ``heapq.merge`` walked the whole array in Python at
    every 32,768 digests: the check was quadratic (14 µs an id at two million ids).

    Each merged array is its own anonymous memory map, never the C allocator's: a long-lived
    block a little larger at every merge, carved from the heap among short-lived ones, left
    the heap in pieces (a 200,000-record run's memory grew by 7 MB it never used again). The
    set is kept small for the same reason: its table, rebuilt as it fills after each merge,
    holds at most a 64th of the array's digests.
    """

    GROWTH = 64
    """The set holds up to the array's length over this many digests before a merge."""

    def __init__(self, buffer_size: int = 1 << 12) -> None:
        self._sorted = memoryview(b"").cast("Q")
        self._recent: set[int] = set()
        self._buffer_size = buffer_size

    def __len__(self) -> int:
        return len(self._sorted) + len(self._recent)

    def add(self, digest: int) -> bool:
        """Add ``digest``; False when it was already there."""
        if digest in self._recent or self._contains_sorted(digest):
            return False
        self._recent.add(digest)
        if len(self._recent) >= max(self._buffer_size, len(self._sorted) // self.GROWTH):
            self._merge()
        return True

    def _merge(self) -> None:
        old, newest = self._sorted, sorted(self._recent)
        merged = memoryview(mmap.mmap(-1, (len(old) + len(newest)) * 8)).cast("Q")
        into, out_of = merged, old
        taken = written = 0  # digests of old copied; places of merged filled
        for digest in newest:
            place = bisect.bisect_left(old, digest, taken)
            run = place - taken
            into[written : written + run] = out_of[taken:place]
            written += run
            merged[written] = digest
            written += 1
            taken = place
        into[written:] = out_of[taken:]
        self._sorted = merged  # the old map is unmapped with its last view
        self._recent.clear()

    def _contains_sorted(self, digest: int) -> bool:
        index = bisect.bisect_left(self._sorted, digest)
        return index < len(self._sorted) and self._sorted[index] == digest
