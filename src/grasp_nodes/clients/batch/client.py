"""``BatchClient``: a model client whose calls are answered through the provider's batch API.

It is the live client with one attempt changed: instead of a request on the wire, the
attempt parks in the model's :class:`Batcher` until the batch answer is back. Everything
around an attempt stays the same as for live calls: the response cache (a cached reply
is never batched), replies cut off or empty (kept, failed or asked again: a request asked
again is a new request, in a later batch), the metrics and the run's spending. A batched
call holds no backend slot: parked requests are bounded by the record window, which a
batched model widens to twice its ``max_requests`` (see ``BackendPool``).
"""

from __future__ import annotations

import hashlib
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, cast

from grasp_core.errors import ConfigError
from grasp_core.plugin import BuildEnv, ModelSpec
from grasp_nodes.clients.base import ChatResult, RetryingClient
from grasp_nodes.clients.batch.batcher import Batcher
from grasp_nodes.clients.batch.ledger import BatchLedger
from grasp_nodes.clients.batch.requests import batch_line, custom_id_for
from grasp_nodes.clients.batch.stats import BatchStats
from grasp_nodes.clients.batch.submitter import BatchSubmitter, batch_url
from grasp_nodes.clients.batch.waiters import Reservation
from grasp_nodes.clients.fast_lane import FAST_LANE_PROVIDERS, parse_completion
from grasp_nodes.clients.replies import ReplyPolicy
from grasp_nodes.clients.wire import prompt_token_estimate

__all__ = ["BATCH_STATS_KEY", "BatchClient", "batch_stats"]

BATCH_STATS_KEY = "grasp_nodes.batch_stats"
"""Where the run's :class:`BatchStats` sit in ``BuildEnv.shared``."""
_LEDGER_KEY = "grasp_nodes.batch_ledger"


@dataclass(slots=True)
class _CallIds:
    """The custom ids of one call: fixed before its retries, so an attempt retried after a
    transient failure (a download that failed) joins the same batch request instead of
    paying for a new one; a reply asked again (cut off or empty) is a new request."""

    first: str
    asked_again: int = 0

    def current(self) -> str:
        if not self.asked_again:
            return self.first
        return hashlib.sha256(f"{self.first}:again:{self.asked_again}".encode()).hexdigest()


_CALL_IDS: ContextVar[_CallIds | None] = ContextVar("grasp_batch_call_ids", default=None)


class BatchClient(RetryingClient):
    """Chat completions for a ``batch:`` model entry, answered through provider batches."""

    def __init__(self, *args: Any, batcher: Batcher, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.batcher = batcher
        self._model_id = self.spec.model.split("/", 1)[1]
        self._url = batch_url(self.spec)

    @classmethod
    def build(cls, env: BuildEnv, name: str, spec: ModelSpec, **common: Any) -> BatchClient:
        """The client of ``name`` for this run, its ledger in the run's batch folder."""
        options = spec.batch
        if options is None:
            raise TypeError(f"model {name!r} has no `batch:` options; use its live client")
        if spec.provider not in FAST_LANE_PROVIDERS:
            where = env.models.lines.get(name)
            at = f"{env.models.source}:{where}" if where is not None else env.models.source
            raise ConfigError(
                f"{at}: model {name!r}: batch mode needs an OpenAI-compatible route "
                f"(openai/, azure/ or hosted_vllm/), got {spec.model!r}; remove `batch:` or "
                "change the route"
            )
        if env.batch_dir is None:
            raise ConfigError(f"model {name!r}: batch mode needs a run with an output folder")
        ledger = env.shared.get(_LEDGER_KEY)
        if ledger is None:
            ledger = env.shared[_LEDGER_KEY] = _ClosingLedger(env.batch_dir / "ledger.jsonl")
        submitter = BatchSubmitter(name, spec, common["api_key"])
        batcher = Batcher(name, options, submitter, ledger, batch_stats(env))
        return cls(name, spec, batcher=batcher, **common)

    async def _call(
        self,
        wired: list[dict[str, Any]],
        params: dict[str, Any],
        policy: ReplyPolicy,
        max_retries: int | None,
    ) -> ChatResult:
        token = _CALL_IDS.set(_CallIds(self._custom_id(wired, params)))
        try:
            return await super()._call(wired, params, policy, max_retries)
        finally:
            _CALL_IDS.reset(token)

    def _custom_id(self, messages: list[dict[str, Any]], params: dict[str, Any]) -> str:
        # its own endpoint name: the cache's keys count their occurrences apart
        return custom_id_for(self.spec, f"batch:{self.cache_endpoint}", messages, params)

    async def _attempt(self, messages: list[dict[str, Any]], params: dict[str, Any]) -> ChatResult:
        ids = _CALL_IDS.get()
        custom_id = ids.current() if ids is not None else self._custom_id(messages, params)
        body = {"model": self._model_id, "messages": messages, **params}
        line = batch_line(custom_id, self._url, body)
        raw = await self.batcher.submit(custom_id, line, self._reservation(messages, params))
        result = parse_completion(raw, self.name)
        if ids is not None and result.defect is not None:
            ids.asked_again += 1  # should it be asked again, that is a new request
        return result

    def _reservation(self, messages: list[dict[str, Any]], params: dict[str, Any]) -> Reservation:
        """What the request reserves of the budget while in a batch: its prompt, and
        ``max_tokens`` of completion when set, at this entry's (batch) price."""
        prompt = prompt_token_estimate(messages)
        completion = int(params.get("max_tokens") or params.get("max_completion_tokens") or 0)
        price = self.metrics.prices.get(self.name)
        cost = price.cost(prompt, completion) if price is not None else 0.0
        return Reservation(cost, prompt + completion)

    async def aclose(self) -> None:
        await self.batcher.submitter.aclose()


class _ClosingLedger(BatchLedger):
    """The ledger as a shared object: closed when the run's shared objects are."""

    async def aclose(self) -> None:
        self.close()


def batch_stats(env: BuildEnv) -> BatchStats:
    """The run's batch counters (made on first use)."""
    stats = env.shared.get(BATCH_STATS_KEY)
    if stats is None:
        stats = env.shared[BATCH_STATS_KEY] = BatchStats(env.metrics)
    return cast("BatchStats", stats)
