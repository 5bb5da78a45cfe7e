"""Spending reserved for provider batches: submitted (so paid for, or about to be) and not
yet back.

A batched model's answers come back minutes to hours after its batch is submitted, so
counting spending only as answers arrive would let a budget cap be passed by every batch
in flight. Instead, a batch reserves what its requests will cost when it is submitted (its
prompt tokens at the batch price, and ``max_tokens`` of completion where the request sets
it), and releases the reservation when it ends, as its answers are counted for real. The
budget compares spending plus reservations with the cap; once it is reached, ``stop``
tells batched models to submit nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ReservedSpending"]


@dataclass
class ReservedSpending:
    """The run's open reservations, by batch (one object in :class:`RunMetrics`)."""

    cost_usd: float = 0.0
    """Dollars reserved by the batches still open."""
    tokens: int = 0
    """Tokens reserved by the batches still open."""
    batches: dict[str, tuple[float, int]] = field(default_factory=dict)
    """Each open batch's reservation: dollars and tokens."""
    stop_reason: str | None = None
    """Set when the budget is reached: batched models submit no new batches."""

    def reserve(self, batch: str, cost_usd: float, tokens: int) -> None:
        """Reserve ``cost_usd`` and ``tokens`` for ``batch`` (again: replaced)."""
        self.release(batch)
        self.batches[batch] = (cost_usd, tokens)
        self.cost_usd += cost_usd
        self.tokens += tokens

    def release(self, batch: str) -> None:
        """``batch`` ended: its answers are counted as spending, no longer reserved."""
        held = self.batches.pop(batch, None)
        if held is not None:
            self.cost_usd = max(0.0, self.cost_usd - held[0]) if self.batches else 0.0
            self.tokens -= held[1]

    def stop(self, reason: str) -> None:
        """The budget is reached: no new batch may be submitted."""
        self.stop_reason = self.stop_reason or reason

    def summary(self) -> dict[str, Any]:
        """What is still reserved (batches open when the run ended)."""
        return {"batches": len(self.batches), "cost_usd": self.cost_usd, "tokens": self.tokens}
