"""Per-backend capacity: adaptive concurrency, rate budgets, and a circuit breaker.

One :class:`Backend` per backend (a models-file entry, or a ``backend:`` group), shared by
every node and record that calls it. Its concurrency adapts AIMD-style: each 429 halves the
limit (at most once a second), each window of successes adds one back, never above
``max_concurrency``. ``rpm`` / ``tpm`` budgets make requests wait rather than fail. A backend
that keeps failing opens its circuit: its calls pause (others go on) and a probe after a
cool-down closes it again.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio

from grasp_core.logs import get_logger
from grasp_core.models.catalog import ModelCatalog
from grasp_core.models.ratelimit import TokenBucket

__all__ = ["Backend", "BackendPool", "CircuitBreaker"]

_log = get_logger(__name__)


@dataclass
class CircuitBreaker:
    """Opens after ``threshold`` consecutive failures; pauses calls for a growing cool-down."""

    threshold: int = 8
    cooldown: float = 5.0
    max_cooldown: float = 300.0
    failures_in_a_row: int = 0
    open_until: float = 0.0
    current_cooldown: float = 0.0
    times_opened: int = 0

    def record_success(self) -> None:
        self.failures_in_a_row = 0
        self.current_cooldown = 0.0

    def record_failure(self, now: float) -> bool:
        """Count a failure; True when this one opened the circuit."""
        self.failures_in_a_row += 1
        if self.failures_in_a_row < self.threshold or now < self.open_until:
            return False
        self.current_cooldown = min(
            self.max_cooldown, max(self.cooldown, self.current_cooldown * 2)
        )
        self.open_until = now + self.current_cooldown
        self.failures_in_a_row = 0
        self.times_opened += 1
        return True

    def wait_seconds(self, now: float) -> float:
        return max(0.0, self.open_until - now)


@dataclass
class Backend:
    """One backend's limiter, budgets, adaptive limit and breaker."""

    name: str
    max_concurrency: int
    rpm: float | None = None
    tpm: float | None = None
    adaptive: bool = True
    limit: float = 0.0
    rate_limited: int = 0
    breaker: CircuitBreaker = field(default_factory=CircuitBreaker)
    _limiter: anyio.CapacityLimiter | None = None
    _requests: TokenBucket | None = None
    _tokens: TokenBucket | None = None
    _last_decrease: float = 0.0

    def __post_init__(self) -> None:
        self.limit = float(self.max_concurrency)

    @property
    def limiter(self) -> anyio.CapacityLimiter:
        """The concurrency limiter (made on first use, inside the event loop)."""
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.max_concurrency)
            if self.rpm:
                self._requests = TokenBucket(self.rpm)
            if self.tpm:
                self._tokens = TokenBucket(self.tpm)
        return self._limiter

    @asynccontextmanager
    async def slot(self, estimated_tokens: int = 0) -> AsyncIterator[None]:
        """Wait for the circuit, the budgets and a concurrency slot; hold the slot inside.

        A free slot is taken without waiting (``async with limiter`` would yield to the loop
        twice, for cancellation checkpoints, on every call: about a tenth of a run's CPU at
        50 ms latency); the request that follows is the checkpoint. Slots are still handed
        out first come, first served: a free one is not taken while others wait."""
        limiter = self.limiter
        await self.admit(estimated_tokens)
        borrower = object()
        try:
            limiter.acquire_on_behalf_of_nowait(borrower)
        except anyio.WouldBlock:
            await limiter.acquire_on_behalf_of(borrower)
        try:
            yield
        finally:
            limiter.release_on_behalf_of(borrower)

    async def admit(self, estimated_tokens: int = 0) -> None:
        """Wait for the circuit and the rpm/tpm budgets: everything but a concurrency slot."""
        self.limiter  # noqa: B018  (makes the budgets on first use)
        pause = self.breaker.wait_seconds(time.monotonic())
        if pause > 0:
            await anyio.sleep(pause)
        if self._requests is not None:
            await self._requests.take(1)
        if self._tokens is not None and estimated_tokens:
            await self._tokens.take(estimated_tokens)

    def used_tokens(self, estimated: int, actual: int) -> None:
        """Correct the token budget once a response says how many tokens a call used."""
        if self._tokens is not None and estimated:
            self._tokens.adjust(actual - estimated)

    def record_success(self) -> None:
        self.breaker.record_success()
        if self.adaptive and self.limit < self.max_concurrency:
            self.limit = min(float(self.max_concurrency), self.limit + 1.0 / self.limit)
            self._apply_limit()

    def record_rate_limited(self) -> None:
        """A 429: shrink the limit multiplicatively (once a second at most)."""
        self.rate_limited += 1
        now = time.monotonic()
        if self.adaptive and now - self._last_decrease >= 1.0:
            self._last_decrease = now
            self.limit = max(1.0, self.limit / 2)
            self._apply_limit()

    def record_failure(self, error: str | None = None, *, url: str | None = None) -> None:
        """A 5xx, timeout or dropped connection (after which the call may be retried).

        When it opens the circuit, the warning names ``error`` (the last one) and ``url``
        (the endpoint called; None: the provider's default): a backend that keeps failing
        is most often the wrong endpoint, or a server that is down."""
        if self.breaker.record_failure(time.monotonic()):
            seconds = self.breaker.current_cooldown
            where = url or "the provider's default endpoint"
            last = f"; last error: {error}" if error else ""
            _log.warning(
                f"backend {self.name!r} at {where} keeps failing; pausing its calls for "
                f"{seconds:g} s{last}",
                backend=self.name,
                seconds=seconds,
            )

    def _apply_limit(self) -> None:
        if self._limiter is not None:
            self._limiter.total_tokens = max(1, int(self.limit))

    def summary(self) -> dict[str, Any]:
        in_flight = self._limiter.borrowed_tokens if self._limiter is not None else 0
        budget_wait = sum(b.waited for b in (self._requests, self._tokens) if b is not None)
        return {
            "max_concurrency": self.max_concurrency,
            "current_limit": max(1, int(self.limit)),
            "in_flight": in_flight,
            "rate_limited_429": self.rate_limited,
            "circuit_opened": self.breaker.times_opened,
            "seconds_waiting_for_budget": round(budget_wait, 3),
        }


@dataclass
class BackendPool:
    """Every backend of a run, by the name its models share."""

    catalog: ModelCatalog
    make_backend: Callable[..., Backend] = Backend
    """Builds each backend (the Ray executor passes one whose limits are global)."""
    _backends: dict[str, Backend] = field(default_factory=dict)

    def backend(self, model_name: str) -> Backend:
        """The backend serving ``model_name``."""
        key = self.catalog.backend_of(model_name)
        backend = self._backends.get(key)
        if backend is None:
            members = [
                spec for name, spec in self.catalog.specs.items() if (spec.backend or name) == key
            ]
            backend = self.make_backend(
                name=key,
                max_concurrency=max(spec.max_concurrency for spec in members),
                rpm=min((s.rpm for s in members if s.rpm), default=None),
                tpm=min((s.tpm for s in members if s.tpm), default=None),
                adaptive=all(s.adaptive for s in members),
            )
            self._backends[key] = backend
        return backend

    def total_concurrency(self, model_names: list[str]) -> int:
        """Sum of the limits of the backends these models use (sizes the record window); a
        batched model counts its ``batch.max_requests``, so that a whole batch of records
        can wait parked while live models keep their own share (a node's own batched
        variant of a model too)."""
        backends = {b.name: b for b in map(self.backend, model_names)}
        batched = [self.catalog.get(n).batch for n in self.catalog.named(model_names)]
        parked = sum(options.max_requests for options in batched if options is not None)
        return parked + sum(b.max_concurrency for b in backends.values())

    def summary(self) -> dict[str, Any]:
        return {name: b.summary() for name, b in sorted(self._backends.items())}
