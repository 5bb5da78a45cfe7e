"""The arithmetic of the ``profile`` step: percentiles, histograms, distinct n-grams and
token counts, free of records and config."""

from __future__ import annotations

import importlib.util
import math
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from grasp_core.errors import ConfigError

__all__ = ["DistinctNgrams", "count_tokens", "histogram", "percentiles"]

_TOKENS_LOCK = threading.Lock()
_encoding: Any = None


def percentiles(values: Sequence[float], points: Sequence[int]) -> dict[str, float]:
    """``p50``, ``p90``... of ``values`` by linear interpolation between the closest ranks
    (numpy's default); empty for no values."""
    if not values:
        return {}
    ordered = sorted(values)
    found: dict[str, float] = {}
    for point in points:
        position = (len(ordered) - 1) * point / 100
        low = math.floor(position)
        high = min(low + 1, len(ordered) - 1)
        value = ordered[low] + (ordered[high] - ordered[low]) * (position - low)
        found[f"p{point}"] = round(value, 3)
    return found


def histogram(values: Sequence[float], bins: int) -> dict[str, list[float] | list[int]]:
    """``bins`` equal-width bins from the smallest value to the largest (the last bin
    holds the largest): ``edges`` (bins + 1) and ``counts``. One bin when all are equal."""
    if not values:
        return {"edges": [], "counts": []}
    low, high = min(values), max(values)
    if low == high:
        return {"edges": [low, high], "counts": [len(values)]}
    width = (high - low) / bins
    counts = [0] * bins
    for value in values:
        counts[min(int((value - low) / width), bins - 1)] += 1
    edges = [round(low + width * index, 3) for index in range(bins + 1)]
    return {"edges": edges, "counts": counts}


class DistinctNgrams:
    """distinct-n: the share of word n-grams that are unique, over every text seen (Li et
    al., 2016). It holds a 64-bit hash per distinct n-gram."""

    def __init__(self, sizes: Sequence[int]) -> None:
        self.sizes = list(sizes)
        self.seen: dict[int, set[int]] = {n: set() for n in self.sizes}
        self.total = dict.fromkeys(self.sizes, 0)

    def add(self, words: Sequence[str]) -> None:
        for n in self.sizes:
            grams = [hash(tuple(words[i : i + n])) for i in range(len(words) - n + 1)]
            self.total[n] += len(grams)
            self.seen[n].update(grams)

    def ratios(self) -> dict[str, float | None]:
        return {
            f"distinct_{n}": round(len(self.seen[n]) / self.total[n], 4) if self.total[n] else None
            for n in self.sizes
        }


def count_tokens(text: str) -> int:
    """Tokens of ``text`` with tiktoken's ``cl100k_base``, offline: the BPE file litellm
    ships is used unless ``TIKTOKEN_CACHE_DIR`` is set (as ``grasp_nodes.quality.tokens``
    does; ``grasp_io`` cannot import it)."""
    global _encoding
    with _TOKENS_LOCK:
        if _encoding is None:
            import tiktoken

            spec = importlib.util.find_spec("litellm")
            if "TIKTOKEN_CACHE_DIR" not in os.environ and spec and spec.submodule_search_locations:
                root = Path(next(iter(spec.submodule_search_locations)))
                bundled = root / "litellm_core_utils/tokenizers"
                if bundled.is_dir():
                    os.environ["TIKTOKEN_CACHE_DIR"] = str(bundled)
            try:
                _encoding = tiktoken.get_encoding("cl100k_base")
            except Exception as exc:  # a download refused offline, a broken cache...
                raise ConfigError(
                    f"the profile cannot load the cl100k_base tokenizer ({type(exc).__name__}: "
                    f"{exc}); set TIKTOKEN_CACHE_DIR to a folder holding it, or `tokens: false`"
                ) from exc
    return len(_encoding.encode(text, disallowed_special=()))
