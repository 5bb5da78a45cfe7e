"""What the batcher keeps of each parked request and each batch in flight."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from grasp_nodes.clients.batch.requests import BatchAnswer

__all__ = ["FIRST_POLL", "Poll", "Reservation", "Waiter", "why_failed"]

FIRST_POLL, _MAX_POLL, _GROWTH = 1.0, 60.0, 1.5


@dataclass(frozen=True, slots=True)
class Reservation:
    """What a request is expected to cost: dollars and tokens (prompt, and ``max_tokens``
    of completion when the request sets it)."""

    cost_usd: float = 0.0
    tokens: int = 0


@dataclass(eq=False, slots=True)
class Waiter:
    custom_id: str
    line: bytes
    record: str
    """The record asking (held requests are counted by record)."""
    reservation: Reservation
    done: bool = False
    """Answered or failed (parked calls wait on the batcher's one event, not their own)."""
    answer: BatchAnswer | None = None
    error: str | None = None


@dataclass(slots=True)
class Poll:
    """When a batch is polled next: at first about a second after it is tracked, backing
    off (x1.5) toward a minute, unless ``poll_interval`` fixes the interval."""

    next_at: float
    interval: float
    failures: int = 0
    """Polls (or downloads) in a row that failed (each after its own retries)."""
    missing: int = 0
    """Polls in a row answered 404 (the batch not known yet, or gone)."""
    fresh: bool = False
    """The batch ended while this run polled it (not earlier, in the ledger)."""

    @classmethod
    def first(cls, fixed: float | None) -> Poll:
        """A poll due now."""
        return cls(time.monotonic(), fixed or FIRST_POLL)

    def back_off(self, fixed: float | None) -> None:
        """Due one interval from now; the interval grows unless ``fixed``."""
        self.next_at = time.monotonic() + self.interval
        if fixed is None:
            self.interval = min(_MAX_POLL, self.interval * _GROWTH)


def why_failed(info: dict[str, Any]) -> str | None:
    """The reason a batch gives for failing (its ``errors``), if any."""
    errors = info.get("errors")
    data = errors.get("data") if isinstance(errors, dict) else None
    if isinstance(data, list) and data:
        first = data[0] if isinstance(data[0], dict) else {}
        return str(first.get("message") or first.get("code") or data[0])
    return None
