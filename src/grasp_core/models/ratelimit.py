"""Token buckets for requests-per-minute and tokens-per-minute budgets.

A request waits for budget rather than failing. The clock and sleep are injectable so the
arithmetic is tested without timing.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import anyio

__all__ = ["TokenBucket"]


class TokenBucket:
    """``per_minute`` units refill evenly; a burst may use up to a minute's worth."""

    def __init__(
        self,
        per_minute: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        if per_minute <= 0:
            raise ValueError(f"a per-minute budget must be positive, got {per_minute!r}")
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.tokens = self.capacity
        self._clock = clock
        self._sleep = sleep
        self._updated = clock()
        self._lock: anyio.Lock | None = None
        self.waited = 0.0
        """Total seconds callers spent waiting for budget."""

    def _refill(self) -> None:
        now = self._clock()
        self.tokens = min(self.capacity, self.tokens + (now - self._updated) * self.rate)
        self._updated = now

    async def take(self, amount: float = 1.0) -> None:
        """Wait until ``amount`` units are available, then spend them (FIFO among waiters)."""
        amount = min(amount, self.capacity)
        if self._lock is None:
            self._lock = anyio.Lock()
        async with self._lock:
            self._refill()
            while self.tokens < amount:
                wait = (amount - self.tokens) / self.rate
                self.waited += wait
                await self._sleep(wait)
                self._refill()
            self.tokens -= amount

    def adjust(self, delta: float) -> None:
        """Correct an estimate after the fact (may go negative: later callers wait longer)."""
        self._refill()
        self.tokens = min(self.capacity, self.tokens - delta)
