"""What every client of one models-file entry holds (chat, embeddings, media), and how its
requests are reported: to the entry's backend (AIMD limiter, circuit breaker) as each one
ends, and to the run's metrics as one call with all of its retries."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from grasp_core.errors import RetryableModelError
from grasp_core.plugin import Backend, ModelSpec, RunMetrics

__all__ = ["EntryClient"]


class EntryClient:
    """A client of the models-file entry ``name``: its spec, API key, backend and the run's
    metrics."""

    def __init__(
        self,
        name: str,
        spec: ModelSpec,
        *,
        api_key: str | None,
        backend: Backend,
        metrics: RunMetrics,
    ) -> None:
        self.name = name
        self.spec = spec
        self._api_key = api_key
        self.backend = backend
        self.metrics = metrics

    def _report_failure(self, exc: RetryableModelError) -> None:
        """Tell the backend a request failed: a 429 slows it down, any other failure counts
        toward its circuit breaker."""
        if exc.status == 429:
            self.backend.record_rate_limited()
        else:
            self.backend.record_failure(str(exc), url=self.spec.api_base)

    @asynccontextmanager
    async def _reported_slot(
        self, wire: list[float], estimated_tokens: int = 0
    ) -> AsyncIterator[None]:
        """A backend slot around one request: its seconds inside go to ``wire``, a retryable
        failure to :meth:`_report_failure`, and a request that ends cleanly counts as the
        backend's success once the slot is released."""
        async with self.backend.slot(estimated_tokens):
            sent = time.perf_counter()
            try:
                yield
            except RetryableModelError as exc:
                self._report_failure(exc)
                raise
            finally:
                wire.append(time.perf_counter() - sent)
        self.backend.record_success()

    def _record_call(
        self,
        started: float,
        wire: Sequence[float],
        *,
        retries: int,
        error: str | None,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        media_cost_usd: float = 0.0,
    ) -> None:
        """Count one call begun at ``started`` in the metrics: its ``wire`` seconds, and the
        rest of its time as queued."""
        self.metrics.record_call(
            self.name,
            wire=wire,
            queued=max(0.0, time.perf_counter() - started - sum(wire)),
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            retries=retries,
            error=error,
            media_cost_usd=media_cost_usd,
        )
