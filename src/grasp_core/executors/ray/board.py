"""The run's board (a Ray actor body): shards post their counts and what they spent, the
driver reads the counts, and the board keeps the budget cap of the whole run.

Once the spending of every shard, with what earlier runs of the output spent, reaches the
cap, the answer to each post is the reason to stop, and each shard stops admitting records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from grasp_core.observe.budget import BudgetCap, BudgetWatch, Spending

__all__ = ["ProgressBoard", "ReportStep"]

STEPS_PER_SHARD = 16
"""A shard posts again once it has spent another 1/(16 × shards) of what the run had left
under its cap: between the crossing post and the stop, the shards can spend about twice
that each, so the run passes its cap by at most about 1/8 of it (plus records in flight)."""


@dataclass(frozen=True, slots=True)
class ReportStep:
    """How much a shard may spend before it posts again, sooner than its timed post; ``None``
    for a kind of spending the run does not cap."""

    cost_usd: float | None = None
    tokens: int | None = None

    @classmethod
    def of(cls, cap: BudgetCap, earlier: Spending, shards: int) -> ReportStep:
        """A share of what ``cap`` leaves after ``earlier``, small enough for every shard."""
        parts = STEPS_PER_SHARD * shards
        cost, tokens = cap.max_cost, cap.max_tokens
        return cls(
            None if cost is None else max(cost - earlier.cost_usd, 0.0) / parts,
            None if tokens is None else max(tokens - earlier.tokens, 0) // parts,
        )

    def due(self, spent: Spending, posted: Spending) -> bool:
        """True once ``spent`` is a step beyond what was last ``posted``."""
        if self.cost_usd is not None and spent.cost_usd - posted.cost_usd >= self.cost_usd:
            return True
        return self.tokens is not None and spent.tokens - posted.tokens >= self.tokens


class ProgressBoard:
    """The latest counts each shard posted, and the run's spending against its cap."""

    def __init__(self, cap: BudgetCap | None = None, earlier: Spending | None = None) -> None:
        self._counts: dict[int, dict[str, int]] = {}
        self._spent: dict[tuple[int, int], Spending] = {}
        """By shard and attempt: a crashed attempt's spending still counts."""
        self._cost = 0.0
        self._tokens = 0
        self._watch = BudgetWatch(cap or BudgetCap(), earlier or Spending(), lambda _reason: None)
        self._watch.check_spending(Spending())  # earlier runs may have spent it all

    def update(
        self,
        shard: int,
        counts: dict[str, int],
        spent: Spending | None = None,
        attempt: int = 1,
    ) -> str | None:
        """Keep ``shard``'s counts and what this attempt of it spent so far; return why the
        run must stop admitting records (its budget is reached), else ``None``."""
        self._counts[shard] = dict(counts)
        if spent is not None:
            before = self._spent.get((shard, attempt), Spending())
            self._spent[(shard, attempt)] = spent
            self._cost += spent.cost_usd - before.cost_usd
            self._tokens += spent.tokens - before.tokens
            self._watch.check_spending(self.spent())
        return self._watch.reason

    def spent(self) -> Spending:
        """What every shard spent in this run."""
        return Spending(self._cost, self._tokens)

    def poll(self) -> tuple[dict[int, dict[str, int]], str | None]:
        """The driver's read: each shard's latest counts, and why the run stops (or None)."""
        return {shard: dict(counts) for shard, counts in self._counts.items()}, self._watch.reason

    def budget(self) -> dict[str, Any]:
        """The ``budget`` block of the run's ``metrics.json``."""
        return self._watch.summary_of(self.spent())
