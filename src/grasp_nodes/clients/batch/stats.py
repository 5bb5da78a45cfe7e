"""What a run shows of its batches: each batch's last known state, and requests parked."""

from __future__ import annotations

import collections
from dataclasses import dataclass, field

from grasp_core.plugin import RunMetrics

__all__ = ["BatchStats"]


@dataclass
class BatchStats:
    """Shared by a run's batched models (one object in ``BuildEnv.shared``)."""

    metrics: RunMetrics
    """The run's metrics: their reserved spending says whether the budget stopped batching."""
    parked: int = 0
    """Requests waiting for a batch answer now."""
    states: dict[str, str] = field(default_factory=dict)
    """Each batch's last known state (``validating``, ``in_progress``, ``finalizing``,
    ``completed``, ``failed``, ``expired``, ``cancelled``...)."""

    queued: collections.Counter[str] = field(default_factory=collections.Counter)
    """Requests waiting for the next batch, by record."""

    def saw(self, batch: str, status: str) -> None:
        self.states[batch] = status

    @property
    def held(self) -> int:
        """Records whose requests the budget keeps out of batches (none before it stops)."""
        return len(self.queued) if self.metrics.reserved.stop_reason is not None else 0

    def summary(self) -> dict[str, object]:
        """``{"parked": n, "held": n, "batches": {state: count}}``."""
        by_state = collections.Counter(self.states.values())
        return {
            "parked": self.parked,
            "held": self.held,
            "batches": dict(sorted(by_state.items())),
        }
