"""The full run's size and cost, estimated from ``grasp preview``'s sample.

Every figure is per record first (calls, tokens, cost, seconds in each backend), measured on
the sampled records, then scaled by the record count. Its range is the sample mean ± two
standard errors (``sd / sqrt(n)``), clamped at zero, times the count: about a 95% range
when the other records are like the sampled ones (a loop's passes vary by record, so its
calls do too). A single sampled record has no spread, so its range is the value alone.

The wall time is the largest of what bounds a run: each backend's call-seconds over its
``max_concurrency`` (and its calls and tokens over its ``rpm``/``tpm``), the records'
call-seconds over the record window, and the slowest sampled record. A call's seconds are
its model's mean latency over the sample's calls that reached the backend; calls answered
from the response cache are estimated as if they had not been (their tokens and cost too).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from grasp_core.models.backends import Backend
from grasp_core.runs.preview_data import CallView, RecordPreview

__all__ = ["METHOD", "Estimate", "Range", "estimate_run"]

METHOD = (
    "per-record mean over the sampled records, times the record count; range: mean ± 2 "
    "standard errors (about 95% if the other records are like the sample); calls answered "
    "from the cache are counted as if they were not"
)


@dataclass(frozen=True, slots=True)
class Range:
    """An estimate and its range."""

    value: float
    low: float
    high: float

    def scaled(self, factor: float) -> Range:
        return Range(self.value * factor, self.low * factor, self.high * factor)

    @staticmethod
    def largest(ranges: Sequence[Range]) -> Range:
        return Range(
            max(r.value for r in ranges), max(r.low for r in ranges), max(r.high for r in ranges)
        )


@dataclass(frozen=True, slots=True)
class Estimate:
    """The full run, estimated from ``sample`` records (per record, and in all when the
    record count is known)."""

    sample: int
    records: int | None
    """How many records the full run processes (None: the source cannot count cheaply)."""
    per_record: dict[str, Range]
    """``calls``, ``prompt_tokens``, ``completion_tokens``, ``cost_usd`` (when every model
    called is priced) and ``seconds`` (its calls' seconds, one after another)."""
    total: dict[str, Range]
    """The same, times ``records`` (empty when the count is unknown)."""
    wall_seconds: Range | None
    """The run's duration (None: unknown record count, or no call reached a backend)."""
    bound_by: str | None
    """What the wall time is bound by: ``backend NAME``, ``backend NAME rpm``, ``the record
    window`` or ``the slowest record``."""
    unpriced_models: list[str] = field(default_factory=list)
    mock: bool = False
    """The sample ran against a mock: costs are at the named models' prices, not billed."""
    priced_as: dict[str, str] = field(default_factory=dict)
    """The route each priced model's cost is counted at."""
    method: str = METHOD

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def estimate_run(
    records: Sequence[RecordPreview],
    *,
    count: int | None,
    backends: Mapping[str, Backend],
    window: int,
    mock: bool,
    priced_as: Mapping[str, str],
) -> Estimate:
    """The estimate from the sampled ``records`` (every node run, whatever ``--node``
    shows) for a run of ``count`` records; ``backends`` maps each model to its backend."""
    calls = [record.calls for record in records]
    latency = _mean_latency(calls)
    per_record: dict[str, Range] = {
        "calls": _spread([len(c) for c in calls]),
        "prompt_tokens": _spread([sum(x.prompt_tokens for x in c) for c in calls]),
        "completion_tokens": _spread([sum(x.completion_tokens for x in c) for c in calls]),
    }
    unpriced = sorted({x.model for c in calls for x in c if x.cost_usd is None})
    if not unpriced:
        per_record["cost_usd"] = _spread([sum(x.cost_usd or 0.0 for x in c) for c in calls])
    timed = all(x.model in latency for c in calls for x in c)
    if timed:
        per_record["seconds"] = _spread([_seconds(c, latency) for c in calls])
    total = {k: r.scaled(count) for k, r in per_record.items()} if count is not None else {}
    wall, bound = (None, None)
    if count is not None and timed and records:
        wall, bound = _wall(calls, latency, count, backends, window)
    return Estimate(
        sample=len(records),
        records=count,
        per_record=per_record,
        total=total,
        wall_seconds=wall,
        bound_by=bound,
        unpriced_models=unpriced,
        mock=mock,
        priced_as=dict(priced_as),
    )


def _spread(values: Sequence[float]) -> Range:
    """Mean ± 2 standard errors of ``values`` (zero when empty; no spread for one)."""
    if not values:
        return Range(0.0, 0.0, 0.0)
    mean = math.fsum(values) / len(values)
    if len(values) == 1:
        return Range(mean, mean, mean)
    variance = math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1)
    margin = 2 * math.sqrt(variance / len(values))
    return Range(mean, max(0.0, mean - margin), mean + margin)


def _mean_latency(calls: Sequence[Sequence[CallView]]) -> dict[str, float]:
    """Each model's mean seconds a call over the calls that reached its backend."""
    seen: dict[str, list[float]] = {}
    for call in (x for c in calls for x in c if not x.cached):
        seen.setdefault(call.model, []).append(call.seconds)
    return {model: math.fsum(s) / len(s) for model, s in seen.items()}


def _seconds(calls: Sequence[CallView], latency: Mapping[str, float]) -> float:
    return math.fsum(latency[x.model] for x in calls)


def _wall(
    calls: Sequence[Sequence[CallView]],
    latency: Mapping[str, float],
    count: int,
    backends: Mapping[str, Backend],
    window: int,
) -> tuple[Range, str]:
    """The largest bound on the run's duration, and which one it is."""
    bounds: dict[str, Range] = {}
    for name, backend in {b.name: b for b in backends.values()}.items():
        mine = [[x for x in c if backends[x.model].name == name] for c in calls]
        if not any(mine):
            continue

        def per(measure: Callable[[Sequence[CallView]], float]) -> Range:
            return _spread([measure(c) for c in mine]).scaled(count)  # noqa: B023 - used at once

        bounds[f"backend {name}"] = per(lambda c: _seconds(c, latency)).scaled(
            1 / backend.max_concurrency
        )
        if backend.rpm:
            bounds[f"backend {name} rpm"] = per(len).scaled(60 / backend.rpm)
        if backend.tpm:
            tokens = per(lambda c: sum(x.prompt_tokens + x.completion_tokens for x in c))
            bounds[f"backend {name} tpm"] = tokens.scaled(60 / backend.tpm)
    record_seconds = [_seconds(c, latency) for c in calls]
    bounds["the record window"] = _spread(record_seconds).scaled(count / max(1, window))
    slowest = max(record_seconds)
    bounds["the slowest record"] = Range(slowest, slowest, slowest)
    bound = max(bounds, key=lambda name: bounds[name].value)
    return Range.largest(list(bounds.values())), bound
