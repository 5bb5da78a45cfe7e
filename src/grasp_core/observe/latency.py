"""Percentiles of a run's seconds: time on the wire and time waiting (``metrics``' tables)."""

from __future__ import annotations

import math
from collections.abc import Iterable

__all__ = ["latency_summary", "percentile", "queue_summary"]


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values (never above the maximum)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def latency_summary(values: Iterable[float]) -> dict[str, float]:
    """p50, p95, p99 and max of ``values`` in seconds (all 0 when there are none)."""
    ordered = sorted(values)
    return {
        "p50": round(percentile(ordered, 50), 4),
        "p95": round(percentile(ordered, 95), 4),
        "p99": round(percentile(ordered, 99), 4),
        "max": round(ordered[-1], 4) if ordered else 0.0,
    }


def queue_summary(values: Iterable[float]) -> dict[str, float]:
    """:func:`latency_summary` of waiting times, with their ``total`` in seconds."""
    waits = list(values)
    return {**latency_summary(waits), "total": round(math.fsum(waits), 4)}
