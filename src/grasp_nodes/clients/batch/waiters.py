"""What the batcher keeps of each parked request and each batch in flight."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from grasp_nodes.clients.batch.requests import BatchAnswer

__all__ = ["Poll", "Reservation", "Waiter", "why_failed"]


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
    next_at: float
    interval: float
    failures: int = 0
    """Polls in a row that failed (each after its own retries)."""


def why_failed(info: dict[str, Any]) -> str | None:
    """The reason a batch gives for failing (its ``errors``), if any."""
    errors = info.get("errors")
    data = errors.get("data") if isinstance(errors, dict) else None
    if isinstance(data, list) and data:
        first = data[0] if isinstance(data[0], dict) else {}
        return str(first.get("message") or first.get("code") or data[0])
    return None
