"""Counters and latencies of a run, per model and per node."""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ModelStats", "NodeStats", "RunMetrics", "percentile"]


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values (never above the maximum)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


@dataclass
class ModelStats:
    """Calls to one model."""

    calls: int = 0
    failures: int = 0
    retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    latencies: array[float] = field(default_factory=lambda: array("d"))

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)
        return {
            "calls": self.calls,
            "failures": self.failures,
            "retries": self.retries,
            "errors": dict(self.errors),
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "latency_s": {
                "p50": round(percentile(ordered, 50), 4),
                "p95": round(percentile(ordered, 95), 4),
                "p99": round(percentile(ordered, 99), 4),
                "max": round(ordered[-1], 4) if ordered else 0.0,
            },
        }


@dataclass
class NodeStats:
    """Runs of one node."""

    runs: int = 0
    replayed: int = 0
    failures: int = 0
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "replayed_from_journal": self.replayed,
            "failures": self.failures,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class RunMetrics:
    """Everything counted during a run; summarised into ``summary.json``."""

    models: dict[str, ModelStats] = field(default_factory=dict)
    nodes: dict[str, NodeStats] = field(default_factory=dict)

    def model(self, name: str) -> ModelStats:
        stats = self.models.get(name)
        if stats is None:
            stats = self.models[name] = ModelStats()
        return stats

    def node(self, name: str) -> NodeStats:
        stats = self.nodes.get(name)
        if stats is None:
            stats = self.nodes[name] = NodeStats()
        return stats

    def record_call(
        self,
        model: str,
        *,
        latency: float,
        prompt_tokens: int,
        completion_tokens: int,
        retries: int,
        error: str | None = None,
    ) -> None:
        """Count one logical model call (with all of its retries)."""
        stats = self.model(model)
        stats.calls += 1
        stats.retries += retries
        stats.latencies.append(latency)
        stats.prompt_tokens += prompt_tokens
        stats.completion_tokens += completion_tokens
        if error is not None:
            stats.failures += 1
            stats.errors[error] = stats.errors.get(error, 0) + 1

    def summary(self) -> dict[str, Any]:
        return {
            "models": {name: s.summary() for name, s in sorted(self.models.items())},
            "nodes": {name: s.summary() for name, s in sorted(self.nodes.items())},
        }
