"""Word n-grams of benchmark texts, and the spans of a text that overlap them.

Texts are compared as normalised word tokens (``_text.normalise`` with punctuation
stripped: case, Unicode forms, punctuation and spacing do not count). Each n-gram is a
64-bit hash (a polynomial over the tokens' blake2b hashes, computed with numpy), and the
index is two sorted arrays: 16 bytes per benchmark n-gram (the hash, and who owns it: the
benchmark and the row), so even large test splits fit, and a text's n-grams are looked up
all at once with a binary search.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from grasp_io.postprocess._text import normalise

__all__ = ["NgramIndex", "Overlap", "ngram_hashes", "tokens"]

_BASE = np.uint64(0x9E3779B97F4A7C15)
"""An odd multiplier (the golden ratio in 64 bits) for the polynomial hash."""
_ROW_BITS = 40
"""An owner is ``benchmark << 40 | row``: up to 2^40 rows per benchmark, 2^24 benchmarks."""


def tokens(text: str) -> list[str]:
    """The normalised word tokens of ``text``."""
    return normalise(text, strip_punctuation=True).split()


@functools.lru_cache(maxsize=1 << 18)
def _token_hash(token: str) -> int:
    return int.from_bytes(hashlib.blake2b(token.encode(), digest_size=8).digest(), "little")


def ngram_hashes(words: list[str], n: int) -> np.ndarray:
    """The hash of each n-gram of ``words``, by start position (empty when fewer than n)."""
    if len(words) < n:
        return np.empty(0, dtype=np.uint64)
    values = np.fromiter((_token_hash(w) for w in words), dtype=np.uint64, count=len(words))
    powers = np.cumprod(np.full(n, _BASE, dtype=np.uint64), dtype=np.uint64)
    hashes: np.ndarray = (sliding_window_view(values, n) * powers).sum(axis=1, dtype=np.uint64)
    return hashes


@dataclass(frozen=True, slots=True)
class Overlap:
    """The longest stretch of a text shared with one benchmark."""

    benchmark: int
    """The benchmark's index (its place in the step's list)."""
    row: int
    """The benchmark row owning the span's first n-gram (its place in the benchmark)."""
    span: str
    """The overlapping words, normalised, joined by spaces."""
    words: int


class NgramIndex:
    """The n-grams of every benchmark text; built with :meth:`add`, then :meth:`freeze`."""

    def __init__(self, n: int) -> None:
        self.n = n
        self._hashes: list[np.ndarray] = []
        self._owners: list[np.ndarray] = []
        self._keys = np.empty(0, dtype=np.uint64)
        self._who = np.empty(0, dtype=np.uint64)

    def add(self, benchmark: int, row: int, text: str) -> int:
        """Index the n-grams of one benchmark text; how many it has (0 when it is shorter
        than n words: it cannot be found)."""
        hashes = ngram_hashes(tokens(text), self.n)
        if hashes.size:
            self._hashes.append(hashes)
            owner = np.uint64((benchmark << _ROW_BITS) | row)
            self._owners.append(np.full(hashes.size, owner, dtype=np.uint64))
        return int(hashes.size)

    def freeze(self) -> None:
        """Sort the n-grams for lookups (no more :meth:`add` after this)."""
        if self._hashes:
            keys = np.concatenate(self._hashes)
            order = np.argsort(keys, kind="stable")
            self._keys, self._who = keys[order], np.concatenate(self._owners)[order]
        self._hashes, self._owners = [], []

    @property
    def size(self) -> int:
        return int(self._keys.size)

    def overlaps(self, text: str) -> list[Overlap]:
        """For each benchmark ``text`` shares an n-gram with, the longest shared stretch of
        words (its consecutive matching n-grams merged into one span). An n-gram several
        benchmarks hold counts for each of them: spans are merged per benchmark, so every
        benchmark a text leaks from is reported."""
        words = tokens(text)
        hashes = ngram_hashes(words, self.n)
        if not hashes.size or not self._keys.size:
            return []
        low = np.searchsorted(self._keys, hashes, side="left")
        high = np.searchsorted(self._keys, hashes, side="right")
        starts: dict[int, list[tuple[int, int]]] = {}  # benchmark: (position, row), in order
        for position in np.flatnonzero(high > low):
            owners = self._who[low[position] : high[position]]
            benchmarks = owners >> np.uint64(_ROW_BITS)
            for benchmark in np.unique(benchmarks):
                rows = owners[benchmarks == benchmark] & np.uint64((1 << _ROW_BITS) - 1)
                starts.setdefault(int(benchmark), []).append((int(position), int(rows.min())))
        return [self._longest(key, starts[key], words) for key in sorted(starts)]

    def _longest(self, benchmark: int, found: list[tuple[int, int]], words: list[str]) -> Overlap:
        """The longest span of one benchmark's matching n-gram starts (windows starting at
        most n-1 words apart overlap: one span), owned by the row of its first n-gram."""
        best: Overlap | None = None
        start = 0
        while start < len(found):
            end = start
            while end + 1 < len(found) and found[end + 1][0] - found[end][0] < self.n:
                end += 1
            first, last = found[start][0], found[end][0] + self.n
            span = Overlap(benchmark, found[start][1], " ".join(words[first:last]), last - first)
            if best is None or span.words > best.words:
                best = span
            start = end + 1
        assert best is not None  # ``found`` is never empty
        return best
