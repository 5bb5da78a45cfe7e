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

    A Python set costs ~65 bytes per entry; the sorted array costs 8, so memory stays nearly
    flat when a source streams millions of records. The set holds at least ``buffer_size``
    digests and grows with the array (to a 64th of it). A merge finds each new digest's place
    by bisection and moves the runs of the old array between them whole (memory moves, not
    Python steps), so its Python work is the set's size and only its moving is the array's;
    with the set growing with the array, that costs a bounded amount per digest. Before,
    ``heapq.merge`` walked the whole array in Python at every 32,768 digests: the check was
    quadratic (14 µs an id at two million ids).

    The array is an anonymous memory map, never the C allocator's: a long-lived block a
    little larger at every merge, carved from the heap among short-lived ones, left the heap
    in pieces (a 200,000-record run's memory grew by 7 MB it never used again). A merge
    grows the map in place and merges from its end, so the old and the merged array are
    never both held (a million ids: 8 MB at the merge, not 16). The set is kept small for
    the same reason: its table, rebuilt as it fills after each merge, holds at most a 64th
    of the array's digests.
    """

    GROWTH = 64
    """The set holds up to the array's length over this many digests before a merge."""

    def __init__(self, buffer_size: int = 1 << 12) -> None:
        self._map: mmap.mmap | None = None
        self._sorted = memoryview(b"").cast("Q")
        """The sorted digests: a view of ``_map``, sized to hold exactly them."""
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
        """Merge the set into the array in place, from its end: the array's map grows to
        the new length, then each new digest, highest first, goes after the old ones above
        it, which move up as one memory move."""
        newest = sorted(self._recent)
        end = len(self._sorted)  # the old digests not yet moved are view[:end]
        write = end + len(newest)  # view[write:] is merged
        view = self._grown(write)
        for digest in reversed(newest):
            place = bisect.bisect_left(view, digest, 0, end)
            run = end - place
            write -= run
            view[write : write + run] = view[place:end]
            write -= 1
            view[write] = digest
            end = place
        self._sorted = view
        self._recent.clear()

    def _grown(self, length: int) -> memoryview:
        """The array as a view of ``length`` digests, its old ones first: its map resized
        where the system can (Linux moves the pages, copying none), else a new map with the
        old digests copied in (while both are held, 16 bytes a digest)."""
        old, mapped = self._sorted, self._map
        if mapped is not None:
            count = len(old)
            old.release()  # a map with views cannot be resized
            resized = _resize(mapped, length * 8)
            old = self._sorted = memoryview(mapped).cast("Q")[:count]  # valid again at once
            if resized:
                return memoryview(mapped).cast("Q")
        fresh = _new_map(length * 8)
        view = memoryview(fresh).cast("Q")
        view[: len(old)] = old
        self._map = fresh
        return view

    def _contains_sorted(self, digest: int) -> bool:
        index = bisect.bisect_left(self._sorted, digest)
        return index < len(self._sorted) and self._sorted[index] == digest


def _new_map(size: int) -> mmap.mmap:
    """Anonymous memory of ``size`` bytes, private: a shared one could not grow (its pages
    past the first size are not backed, and touching them kills the process)."""
    private = getattr(mmap, "MAP_PRIVATE", None)
    if private is None:  # Windows: no flags (a resize there copies the map)
        return mmap.mmap(-1, size)
    return mmap.mmap(-1, size, flags=private)


def _resize(mapped: mmap.mmap, size: int) -> bool:
    """Resize an anonymous map in place; False where it cannot be: no ``mremap``
    (``SystemError``), a view of it still held (``BufferError``), no memory (``OSError``)."""
    try:
        mapped.resize(size)
    except (OSError, SystemError, ValueError, BufferError):
        return False
    return True
