"""Global backend limits for a Ray run: one actor per backend leases capacity to shards.

The actor holds an ordinary :class:`~grasp_core.models.backends.Backend` (its AIMD limit and its
rpm/tpm buckets), so the arithmetic is the one a local run uses, applied to every shard's
calls together. Shards lease concurrency slots in small blocks and reuse a slot locally
for at most ``lease_seconds`` before handing it back, so a busy shard cannot starve the
others and a halved limit takes effect within one lease term. Requests and tokens are
taken from the actor's buckets call by call. Successes and 429s flow back to the actor,
whose AIMD limit then shrinks or grows for all shards at once.
"""

from __future__ import annotations

from typing import Any

import anyio

from grasp_core.models.backends import Backend

__all__ = ["BackendLimits"]


class BackendLimits:
    """One backend's global limits (the body of a Ray actor; Ray-free so it tests alone)."""

    def __init__(
        self,
        name: str,
        *,
        max_concurrency: int,
        rpm: float | None = None,
        tpm: float | None = None,
        adaptive: bool = True,
    ) -> None:
        self.backend = Backend(
            name=name, max_concurrency=max_concurrency, rpm=rpm, tpm=tpm, adaptive=adaptive
        )
        self._held: dict[str, list[object]] = {}
        self._requests: dict[str, set[anyio.CancelScope]] = {}
        """Each shard's requests still waiting for a slot."""
        self._closed: set[str] = set()
        """Shards that ended: a slot granted to one would be booked to it for good."""
        self.most_leased = 0

    async def acquire(self, shard: str, count: int) -> tuple[int, int]:
        """Wait for one slot (first come, first served), take up to ``count`` if free;
        return the number granted and the current global limit. A closed shard is granted
        nothing, even when its request was waiting before it closed."""
        if shard in self._closed:
            return 0, self.limit
        limiter = self.backend.limiter
        first = object()
        requests = self._requests.setdefault(shard, set())
        with anyio.CancelScope() as request:
            requests.add(request)
            try:
                await limiter.acquire_on_behalf_of(first)
            finally:
                requests.discard(request)
        if request.cancelled_caught:  # see close()
            return 0, self.limit
        held = self._held.setdefault(shard, [])
        held.append(first)
        granted = 1
        while granted < count:
            extra = object()
            try:
                limiter.acquire_on_behalf_of_nowait(extra)
            except anyio.WouldBlock:
                break
            held.append(extra)
            granted += 1
        self.most_leased = max(self.most_leased, int(limiter.borrowed_tokens))
        return granted, self.limit

    def release(self, shard: str, count: int) -> None:
        """Take back ``count`` of the shard's slots."""
        held = self._held.get(shard, [])
        for _ in range(min(count, len(held))):
            self.backend.limiter.release_on_behalf_of(held.pop())

    def close(self, shard: str) -> int:
        """End ``shard``'s lease: cancel its waiting requests, grant it nothing from now on,
        and take back every slot it holds; return how many."""
        self._closed.add(shard)
        for request in list(self._requests.pop(shard, ())):
            request.cancel()
        held = self._held.pop(shard, [])
        for borrower in held:
            self.backend.limiter.release_on_behalf_of(borrower)
        return len(held)

    def reclaim(self, shard: str) -> int:
        """The driver's :meth:`close` once a shard's task ended (its worker may have died
        holding slots); return how many slots came back."""
        return self.close(shard)

    async def admit(self, estimated_tokens: int = 0) -> None:
        """Wait for the rpm/tpm budgets of one request."""
        await self.backend.admit(estimated_tokens)

    def report(
        self, successes: int = 0, rate_limited: int = 0, estimated: int = 0, used: int = 0
    ) -> int:
        """Feed outcomes into the global AIMD limit and the token budget; return the limit."""
        for _ in range(rate_limited):
            self.backend.record_rate_limited()
        for _ in range(successes):
            self.backend.record_success()
        if estimated:
            self.backend.used_tokens(estimated, used)
        return self.limit

    @property
    def limit(self) -> int:
        return max(1, int(self.backend.limit))

    def summary(self) -> dict[str, Any]:
        """The backend's summary, as a local run reports it, plus the most slots leased."""
        return {**self.backend.summary(), "most_leased": self.most_leased}
