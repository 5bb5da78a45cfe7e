"""Percentiles of a run's seconds: time on the wire and time waiting (``metrics``' tables).

A run of millions of calls must not keep a number per call, nor sort them all each time the
progress file is written: that grew a 200,000-record run's peak memory by half. So
:class:`Seconds` keeps each value only up to :data:`EXACT_LIMIT` of them (percentiles then
exact), and past that folds them into a DDSketch, whose percentiles are within 1% of the
true ones, in a few kilobytes, whatever the count. The maximum and the total stay exact."""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ddsketch import DDSketch

__all__ = ["EXACT_LIMIT", "Seconds", "latency_summary", "percentile", "queue_summary"]

EXACT_LIMIT = 65_536
"""Values kept one by one (512 KiB); past this many, percentiles come from the sketch."""
_RELATIVE_ACCURACY = 0.01


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values (never above the maximum)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def latency_summary(values: Iterable[float] | Seconds) -> dict[str, float]:
    """p50, p95, p99 and max of ``values`` in seconds (all 0 when there are none)."""
    seconds = values if isinstance(values, Seconds) else Seconds(values)
    return seconds.summary()


def queue_summary(values: Iterable[float] | Seconds) -> dict[str, float]:
    """:func:`latency_summary` of waiting times, with their ``total`` in seconds."""
    seconds = values if isinstance(values, Seconds) else Seconds(values)
    return {**seconds.summary(), "total": round(seconds.total(), 4)}


class Seconds:
    """A bounded store of seconds (one per request or call) that summarises as percentiles;
    see the module's docstring. Mergeable, so shards' stores add up to the run's."""

    __slots__ = ("_largest", "_sketch", "_sum", "_values")

    def __init__(self, values: Iterable[float] = ()) -> None:
        self._values: array[float] | None = array("d")
        self._sketch: DDSketch | None = None
        self._largest = 0.0
        self._sum = 0.0
        """Running total, used once values are folded into the sketch."""
        self.extend(values)

    def __len__(self) -> int:
        if self._values is not None:
            return len(self._values)
        assert self._sketch is not None
        return int(self._sketch.count)

    def append(self, value: float) -> None:
        self._largest = max(self._largest, value)
        self._sum += value
        if self._values is None:
            assert self._sketch is not None
            self._sketch.add(value)
            return
        self._values.append(value)
        if len(self._values) > EXACT_LIMIT:
            self._fold()

    def extend(self, values: Iterable[float]) -> None:
        for value in values:
            self.append(value)

    def merge(self, other: Seconds) -> None:
        """Add ``other``'s values to these (a summary merges every node's stores, each time
        the progress file is written: exact stores are joined in one ``extend``)."""
        values = other._values
        if values is not None:
            if self._values is not None and len(self._values) + len(values) <= EXACT_LIMIT:
                self._values.extend(values)
                if values:
                    self._largest = max(self._largest, max(values))
                self._sum = sum(values, self._sum)  # the same additions, in the same order
                return
            self.extend(values)
            return
        assert other._sketch is not None
        if self._values is not None:
            self._fold()
        assert self._sketch is not None
        self._sketch.merge(other._sketch)
        self._largest = max(self._largest, other._largest)
        self._sum += other._sum

    def exact(self) -> bool:
        """Whether every value is still kept (percentiles and total exact)."""
        return self._values is not None

    def total(self) -> float:
        return math.fsum(self._values) if self._values is not None else self._sum

    def summary(self) -> dict[str, float]:
        """p50, p95, p99 and max in seconds, rounded to 0.1 ms (all 0 when empty)."""
        if self._values is not None:
            ordered = sorted(self._values)
            points = [percentile(ordered, q) for q in (50, 95, 99)]
            largest = ordered[-1] if ordered else 0.0
        else:
            assert self._sketch is not None
            largest = self._largest
            points = [
                min(largest, self._sketch.get_quantile_value(q / 100) or 0.0) for q in (50, 95, 99)
            ]
        p50, p95, p99 = (round(point, 4) for point in points)
        return {"p50": p50, "p95": p95, "p99": p99, "max": round(largest, 4)}

    def _fold(self) -> None:
        from ddsketch import DDSketch

        assert self._values is not None
        self._sketch = DDSketch(_RELATIVE_ACCURACY)
        for value in self._values:
            self._sketch.add(value)
        self._sum = math.fsum(self._values)
        self._values = None
