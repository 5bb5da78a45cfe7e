"""Near-duplicate search over a stream: datasketch's MinHash signatures of word n-grams, and
an LSH index of the records kept so far.

Each record's signature is cut into bands; a kept record sharing a band with it is a
candidate, checked by their estimated Jaccard similarity (the share of equal signature
values); the most similar one at or above the threshold is the record it duplicates. A
record that duplicates none is kept and indexed.

The index is ours, not datasketch's ``MinHashLSH``: that one keeps a Python ``set`` per
bucket (about 3 KB per record for its 9 bands at a threshold of 0.8), where a band here maps
a 64-bit hash of its values to the record's number: under 2 KB per record kept with 14
bands, the signature included (``benchmarks/bench_dedup.py``), so a million records fit in
2 GB. The bands are chosen to miss few duplicates: a false candidate costs one comparison,
a missed duplicate stays in the dataset.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np
from datasketch import MinHash

__all__ = ["MinHashIndex", "lsh_bands"]

_CHUNK = 4096
"""Kept signatures are stored this many to an array, so the store grows without copies."""
_MISS_WEIGHT = 0.9
"""How much a missed duplicate weighs against a false candidate when choosing the bands."""
_POSITION_MIX = np.random.default_rng(0).integers(1, 2**63, size=10, dtype=np.uint64) | np.uint64(1)
"""Odd multipliers of a word's hash by its position in a shingle (up to 10 words)."""
_PLACE_MIX = np.uint64(0x9E3779B97F4A7C15)
"""The multiplier of a text's place among the fields compared."""


def lsh_bands(threshold: float, num_perm: int) -> tuple[int, int]:
    """``(bands, rows)`` with ``bands * rows <= num_perm`` minimising the weighted chance of
    a false candidate below ``threshold`` and of a missed pair above it (pairs of similarity
    ``s`` share a band with probability ``1 - (1 - s**rows) ** bands``)."""
    points = (np.arange(400) + 0.5) / 400
    below, above = points < threshold, points >= threshold
    best: tuple[float, int, int] = (float("inf"), 1, num_perm)
    for bands in range(1, num_perm + 1):
        for rows in range(1, num_perm // bands + 1):
            shared = 1 - (1 - points**rows) ** bands
            false = shared[below].sum() / len(points)
            missed = (1 - shared[above]).sum() / len(points)
            cost = (1 - _MISS_WEIGHT) * false + _MISS_WEIGHT * missed
            if cost < best[0]:
                best = (cost, bands, rows)
    return best[1], best[2]


class MinHashIndex:
    """Records kept so far, searchable by estimated Jaccard similarity."""

    def __init__(self, *, threshold: float, num_perm: int, ngram: int, seed: int) -> None:
        self.threshold = threshold
        self.ngram = ngram
        self.num_perm = num_perm
        self.seed = seed
        self.bands, self.rows = lsh_bands(threshold, num_perm)
        self._permutations = MinHash(num_perm=num_perm, seed=seed).permutations
        mix = np.random.default_rng(seed).integers(1, 2**63, size=self.rows, dtype=np.uint64)
        self._mix = mix | np.uint64(1)
        self._tables: list[dict[int, int | list[int]]] = [{} for _ in range(self.bands)]
        self._ids: list[str] = []
        self._chunks: list[np.ndarray] = []
        self.candidates_checked = 0
        """Candidates found by the bands, each compared by its signature."""

    def match(self, record_id: str, texts: Sequence[str]) -> tuple[str, float] | None:
        """The kept record most similar to ``texts`` (its id and the estimated Jaccard
        similarity) when one reaches the threshold; else None, and the record is kept."""
        values = self._signature(texts)
        keys = self._band_keys(values)
        best: tuple[float, int] | None = None
        for candidate in sorted(self._candidates(keys)):
            self.candidates_checked += 1
            similarity = self._similarity(values, candidate)
            if similarity >= self.threshold and (best is None or similarity > best[0]):
                best = (similarity, candidate)
        if best is not None:
            return self._ids[best[1]], best[0]
        self._keep(record_id, values, keys)
        return None

    def _signature(self, texts: Sequence[str]) -> np.ndarray:
        signature = MinHash(
            num_perm=self.num_perm,
            seed=self.seed,
            permutations=self._permutations,
            scheme="affine32",
            hashfunc=int,  # the shingles are hashed already
        )
        signature.update_batch(_shingles(texts, self.ngram))
        values: np.ndarray = signature.hashvalues
        return values

    def _band_keys(self, values: np.ndarray) -> list[int]:
        """One 64-bit key per band: its values mixed by fixed odd multipliers (wrapping)."""
        used = values[: self.bands * self.rows].astype(np.uint64).reshape(self.bands, self.rows)
        keys: list[int] = (used * self._mix).sum(axis=1, dtype=np.uint64).tolist()
        return keys

    def _candidates(self, keys: list[int]) -> set[int]:
        found: set[int] = set()
        for table, key in zip(self._tables, keys, strict=True):
            held = table.get(key)
            if isinstance(held, int):
                found.add(held)
            elif held is not None:
                found.update(held)
        return found

    def _similarity(self, values: np.ndarray, number: int) -> float:
        kept = self._chunks[number // _CHUNK][number % _CHUNK]
        return float(np.count_nonzero(kept == values)) / self.num_perm

    def _keep(self, record_id: str, values: np.ndarray, keys: list[int]) -> None:
        number = len(self._ids)
        if number % _CHUNK == 0:
            self._chunks.append(np.empty((_CHUNK, self.num_perm), dtype=np.uint32))
        self._chunks[-1][number % _CHUNK] = values
        self._ids.append(record_id)
        for table, key in zip(self._tables, keys, strict=True):
            held = table.get(key)
            if held is None:
                table[key] = number
            elif isinstance(held, int):
                table[key] = [held, number]
            else:
                held.append(number)


def _shingles(texts: Sequence[str], ngram: int) -> list[int]:
    """32-bit hashes of the word ``ngram``-grams of each text (a text shorter than ``ngram``
    words is one shingle), distinct. A shingle's hash mixes its words' CRC-32s with one odd
    multiplier per position and one per text, so the same words in two fields are two
    shingles; computed with numpy, a text at a time."""
    parts: list[np.ndarray] = []
    for place, text in enumerate(texts):
        words = text.encode().split()
        if not words:
            continue
        hashes = np.fromiter(map(zlib.crc32, words), dtype=np.uint64, count=len(words))
        size = min(ngram, len(words))
        count = len(words) - size + 1
        mixed = np.full(count, _PLACE_MIX * np.uint64(place + 1), dtype=np.uint64)
        for offset in range(size):
            mixed += hashes[offset : offset + count] * _POSITION_MIX[offset]
        parts.append(mixed)
    if not parts:
        return []
    joined = np.concatenate(parts)
    folded = (joined ^ (joined >> np.uint64(32))) & np.uint64(0xFFFFFFFF)
    shingles: list[int] = np.unique(folded).tolist()
    return shingles
