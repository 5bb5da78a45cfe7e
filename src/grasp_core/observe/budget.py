"""Budget caps: stop admitting records once a run has spent its dollars or tokens.

The cap covers the whole dataset, not one invocation: a resumed run starts from what the
earlier runs of its journal spent (read from their ``metrics.json``), so `--resume` with
the same cap stops at once and a higher cap continues from where the last run stopped.
Records already in flight when the cap is reached finish and are written, so the final
spend can pass the cap by what they cost. Provider batches in flight count at submission:
what they reserved (:mod:`grasp_core.observe.reserved`) is checked with the spending.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grasp_core.errors import ConfigError
from grasp_core.logs import get_logger
from grasp_core.observe.metrics import RunMetrics

__all__ = ["BudgetCap", "BudgetWatch", "Spending"]

_log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Spending:
    """Dollars and tokens spent."""

    cost_usd: float = 0.0
    tokens: int = 0

    def __add__(self, other: Spending) -> Spending:
        return Spending(self.cost_usd + other.cost_usd, self.tokens + other.tokens)

    def as_dict(self) -> dict[str, Any]:
        return {"cost_usd": self.cost_usd, "tokens": self.tokens}

    @classmethod
    def recorded_in(cls, metrics_path: Path) -> Spending:
        """What the runs behind an earlier ``metrics.json`` spent in all (nothing when the
        file is missing or unreadable: a run killed before it wrote its metrics)."""
        try:
            data = json.loads(metrics_path.read_text(encoding="utf-8"))
            spent = data["budget"]["spent_total"]
            return cls(float(spent["cost_usd"]), int(spent["tokens"]))
        except (OSError, ValueError, KeyError, TypeError):
            return cls()


@dataclass(frozen=True, slots=True)
class BudgetCap:
    """The limits; ``None`` means no limit of that kind."""

    max_cost: float | None = None
    max_tokens: int | None = None

    def __post_init__(self) -> None:
        if self.max_cost is not None and not (0 < self.max_cost < float("inf")):
            raise ConfigError(
                f"max cost must be a positive number of dollars, got {self.max_cost!r}"
            )
        if self.max_tokens is not None and self.max_tokens <= 0:
            raise ConfigError(f"max tokens must be a positive count, got {self.max_tokens!r}")

    @property
    def active(self) -> bool:
        return self.max_cost is not None or self.max_tokens is not None

    def check_prices(self, unpriced: Iterable[str], models_source: str) -> None:
        """A dollar cap needs a price for every model the graph may call."""
        missing = sorted(unpriced)
        if self.max_cost is not None and missing:
            raise ConfigError(
                f"--max-cost needs a price for every model, but litellm's price table does not "
                f"know {', '.join(map(repr, missing))}; add `cost: {{input_per_million: ..., "
                f"output_per_million: ...}}` to those entries of the models file "
                f"({models_source}), or cap with --max-tokens instead"
            )

    def exceeded_by(self, spent: Spending) -> str | None:
        """Which limit ``spent`` reached, as a phrase; ``None`` while within both."""
        if self.max_cost is not None and spent.cost_usd >= self.max_cost:
            return f"cost ${spent.cost_usd:.4f} reached --max-cost ${self.max_cost:g}"
        if self.max_tokens is not None and spent.tokens >= self.max_tokens:
            return f"{spent.tokens} tokens reached --max-tokens {self.max_tokens}"
        return None


class BudgetWatch:
    """Checks the cap after every model call and calls ``on_reached`` once when it is hit."""

    def __init__(
        self, cap: BudgetCap, earlier: Spending, on_reached: Callable[[str], None]
    ) -> None:
        self.cap = cap
        self.earlier = earlier
        self.on_reached = on_reached
        self.reason: str | None = None

    def this_run(self, metrics: RunMetrics) -> Spending:
        return Spending(metrics.cost_usd, metrics.total_tokens)

    def check(self, metrics: RunMetrics) -> None:
        """A :attr:`RunMetrics.listeners` callback (also called once before the run starts):
        spending so far, and what batches in flight reserved."""
        reserved = metrics.reserved
        self.check_spending(self.this_run(metrics) + Spending(reserved.cost_usd, reserved.tokens))

    def check_spending(self, this_run: Spending) -> None:
        """:meth:`check` for spending added up elsewhere (a Ray run sums its shards')."""
        if self.reason is not None:
            return
        reason = self.cap.exceeded_by(self.earlier + this_run)
        if reason is not None:
            self.reason = reason
            _log.warning("budget reached; finishing records in flight", reason=reason)
            self.on_reached(reason)

    @property
    def reached(self) -> bool:
        return self.reason is not None

    def summary(self, metrics: RunMetrics) -> dict[str, Any]:
        """The ``budget`` block of ``metrics.json``; ``reserved``: batches still in flight
        (not in ``spent_*``: a resumed run reserves them again from the batch ledger)."""
        block = self.summary_of(self.this_run(metrics))
        if metrics.reserved.batches:
            block["reserved"] = metrics.reserved.summary()
        return block

    def summary_of(self, this_run: Spending) -> dict[str, Any]:
        """:meth:`summary` for spending added up elsewhere."""
        return {
            "max_cost": self.cap.max_cost,
            "max_tokens": self.cap.max_tokens,
            "spent_earlier": self.earlier.as_dict(),
            "spent_this_run": this_run.as_dict(),
            "spent_total": (self.earlier + this_run).as_dict(),
            "stopped_by_budget": self.reached,
            "reason": self.reason,
        }
