"""The shard side of global backend limits: slots leased from the backend's actor.

:class:`LeasedBackend` stands in for :class:`~grasp_core.models.backends.Backend` inside a shard
(the model clients cannot tell them apart). Ray's object refs are asyncio futures, so a
shard's event loop is asyncio. Each call waits for the actor's rpm/tpm budget,
then for a slot from :class:`SlotLease`, which asks the actor for slots only when it holds
no fresh idle one. The circuit breaker stays per shard: a shard that sees failures pauses
its own calls.

A shard ends its leases with :meth:`SlotLease.aclose`: the actor then cancels the shard's
waiting request and grants it nothing more, so no slot is ever booked to a shard that is gone.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, cast

import anyio

from grasp_core.logs import get_logger
from grasp_core.models.backends import Backend

__all__ = ["LeasedBackend", "SlotLease"]

_log = get_logger(__name__)
_REPORT_EVERY = 16
"""Successes are sent to the actor in batches of this many (429s at once)."""
_CLOSE_SECONDS = 10.0
"""Longest wait for the actor when a lease ends (a shard never hangs on a lost actor)."""


class SlotLease:
    """Slots of one backend leased by one shard from the backend's actor (``limits``)."""

    def __init__(
        self, limits: Any, shard: str, *, max_concurrency: int, lease_seconds: float = 1.0
    ) -> None:
        self.limits = limits
        self.shard = shard
        self.block = max(1, max_concurrency // 8)
        self.lease_seconds = lease_seconds
        self.global_limit = max_concurrency
        self.busy = 0
        self._idle: deque[float] = deque()
        self._waiting = 0
        self._fetching = False
        self._closed = False
        self._changed = anyio.Event()
        self._successes = 0
        self._failure: BaseException | None = None

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one globally counted slot inside."""
        stamp = await self._acquire()
        try:
            yield
        finally:
            self._release(stamp)

    async def _acquire(self) -> float:
        while True:
            while self._idle:
                stamp = self._idle.popleft()
                if time.monotonic() - stamp < self.lease_seconds:
                    self.busy += 1
                    return stamp
                self._give_back(1)
            if self._failure is not None:
                raise self._failure
            if not self._fetching:
                self._fetch(min(self.block, self._waiting + 1))
            self._waiting += 1
            try:
                await self._changed.wait()
            finally:
                self._waiting -= 1

    def _fetch(self, count: int) -> None:
        """Ask the actor for slots; they join the idle ones when granted. Waiters also take
        slots this shard frees meanwhile, so a shard never waits on itself."""
        self._fetching = True
        reply = asyncio.ensure_future(self.limits.acquire.remote(self.shard, count))
        reply.add_done_callback(self._granted)

    def _granted(self, reply: asyncio.Future[tuple[int, int]]) -> None:
        self._fetching = False
        if reply.cancelled():
            self._failure = RuntimeError("the request for backend slots was cancelled")
        elif reply.exception() is not None:
            self._failure = reply.exception()
        else:
            granted, self.global_limit = reply.result()
            if self._closed:
                self._give_back(granted)
            elif granted:
                self._idle.extend([time.monotonic()] * granted)
            else:
                self._failure = RuntimeError(f"backend slots refused: {self.shard} was closed")
        self._notify()
        self._trim()

    def _release(self, stamp: float) -> None:
        self.busy -= 1
        fresh = time.monotonic() - stamp < self.lease_seconds
        if fresh and self._waiting:
            self._idle.append(stamp)
            self._notify()
        else:
            self._give_back(1)
        self._trim()

    def _trim(self) -> None:
        """Idle slots nobody here waits for go back to the actor."""
        if self._idle and not self._waiting:
            self._give_back(len(self._idle))
            self._idle.clear()

    def _give_back(self, count: int) -> None:
        if count:
            self.limits.release.remote(self.shard, count)

    def _notify(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()

    def record_success(self) -> None:
        self._successes += 1
        if self._successes >= _REPORT_EVERY:
            self.flush()

    def record_rate_limited(self) -> None:
        self.limits.report.remote(self._successes, 1)
        self._successes = 0

    def flush(self) -> None:
        """Send the successes counted so far."""
        if self._successes:
            self.limits.report.remote(self._successes, 0)
            self._successes = 0

    async def aclose(self) -> None:
        """End the lease (the shard is done): report what is left, return every idle slot,
        close the shard on the actor, and wait for a request still out (what it was granted
        goes straight back)."""
        self._closed = True
        self.flush()
        self._give_back(len(self._idle))
        self._idle.clear()
        try:
            with anyio.move_on_after(_CLOSE_SECONDS):
                await cast(Awaitable[int], self.limits.close.remote(self.shard))
                while self._fetching:
                    await self._changed.wait()
        except Exception as exc:  # the actor is gone: the driver reports it
            _log.warning("could not close the backend lease", shard=self.shard, error=repr(exc))


@dataclass
class LeasedBackend(Backend):
    """A backend whose concurrency, rpm, tpm and AIMD limit are global (see module doc)."""

    lease: SlotLease | None = field(default=None, kw_only=True)

    def _leased(self) -> SlotLease:
        assert self.lease is not None, "LeasedBackend needs a lease"
        return self.lease

    @asynccontextmanager
    async def slot(self, estimated_tokens: int = 0) -> AsyncIterator[None]:
        await self.admit(estimated_tokens)
        async with self._leased().slot():
            yield

    async def admit(self, estimated_tokens: int = 0) -> None:
        """The shard's own circuit breaker, then the actor's rpm/tpm budgets."""
        pause = self.breaker.wait_seconds(time.monotonic())
        if pause > 0:
            await anyio.sleep(pause)
        if self.rpm or (self.tpm and estimated_tokens):
            tokens = estimated_tokens if self.tpm else 0
            await cast(Awaitable[None], self._leased().limits.admit.remote(tokens))

    def used_tokens(self, estimated: int, actual: int) -> None:
        if self.tpm and estimated:
            self._leased().limits.report.remote(0, 0, estimated, actual)

    def record_success(self) -> None:
        self.breaker.record_success()
        self._leased().record_success()

    def record_rate_limited(self) -> None:
        self.rate_limited += 1
        self._leased().record_rate_limited()

    def summary(self) -> dict[str, Any]:
        lease = self._leased()
        return {
            **super().summary(),
            "current_limit": lease.global_limit,
            "in_flight": lease.busy,
            "scope": "global",
        }
