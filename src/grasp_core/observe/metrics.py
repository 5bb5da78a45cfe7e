"""Counters and latencies of a run, per model and per node.

Model calls are counted under their model and under the node that made them: the node
running in the current task is kept in a context variable (see :meth:`RunMetrics.node`).

Time is split in two: ``latency_s`` is the wire, one sample per HTTP request (every attempt,
failed ones included); ``queue_s`` is what each call spent waiting around its requests (for
the circuit breaker, the rpm/tpm budgets, a concurrency slot, and backoff between retries).
A call that waited ten seconds behind a busy backend for a reply that took ten milliseconds
shows both, apart. Costs are kept at full precision; only printed tables round them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from grasp_core.observe.latency import Seconds, latency_summary, percentile, queue_summary
from grasp_core.observe.reserved import ReservedSpending

if TYPE_CHECKING:
    from grasp_core.models.pricing import Price

__all__ = [
    "REPLY_DEFECTS",
    "ModelStats",
    "NodeStats",
    "RunMetrics",
    "latency_summary",
    "percentile",
    "queue_summary",
]

REPLY_DEFECTS = ("truncated", "empty")
"""What :meth:`RunMetrics.record_reply` counts: replies cut off at ``max_tokens``, and
replies with no text and no tool calls."""

_CALLING_NODE: ContextVar[str | None] = ContextVar("grasp_calling_node", default=None)


@dataclass
class ModelStats:
    """Calls to one model (from the whole run, or from one node)."""

    calls: int = 0
    """Logical calls, each with all of its retries."""
    failures: int = 0
    """Calls that failed after their retries."""
    retries: int = 0
    """Attempts after the first, over all calls."""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    """Failed attempts by kind (``429``, ``500``, ``timeout``, ``connection``, ``truncated``,
    ``empty``...), retried ones included."""
    truncated: int = 0
    """Replies cut off at ``max_tokens`` (kept, retried or failed)."""
    empty: int = 0
    """Replies with no text and no tool calls (kept, retried or failed)."""
    latencies: Seconds = field(default_factory=Seconds)
    """Seconds on the wire, one per request sent (every attempt)."""
    queued: Seconds = field(default_factory=Seconds)
    """Seconds each call waited around its requests (breaker, budgets, slot, backoff)."""
    cache_hits: int = 0
    """Calls answered from the response cache (not among ``calls``: nothing was sent)."""
    cache_misses: int = 0
    """Calls the cache was asked about and did not hold (then sent, and counted in ``calls``)."""
    saved_prompt_tokens: int = 0
    """Tokens the cached replies cost when they were first fetched."""
    saved_completion_tokens: int = 0
    media_cost_usd: float = 0.0
    """Dollars of media made or read (images, characters spoken, audio seconds), priced per
    call on top of the tokens."""

    def cache_summary(self, price: Price | None) -> dict[str, Any]:
        """Hits, misses, and what the hits would have cost (None: unpriced model)."""
        saved = (
            price.cost(self.saved_prompt_tokens, self.saved_completion_tokens)
            if price is not None
            else None
        )
        return {
            "hits": self.cache_hits,
            "misses": self.cache_misses,
            "saved_prompt_tokens": self.saved_prompt_tokens,
            "saved_completion_tokens": self.saved_completion_tokens,
            "saved_cost_usd": saved,
        }

    def cost(self, price: Price | None) -> float | None:
        """Dollars spent on these calls; ``None`` when the price is unknown."""
        if price is None:
            return None
        return price.cost(self.prompt_tokens, self.completion_tokens) + self.media_cost_usd

    def merge(self, other: ModelStats) -> None:
        """Add ``other``'s calls (from another process of the same run) to these."""
        self.calls += other.calls
        self.failures += other.failures
        self.retries += other.retries
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        for kind, count in other.errors.items():
            self.errors[kind] = self.errors.get(kind, 0) + count
        self.truncated += other.truncated
        self.empty += other.empty
        self.latencies.merge(other.latencies)
        self.queued.merge(other.queued)
        self.cache_hits += other.cache_hits
        self.cache_misses += other.cache_misses
        self.saved_prompt_tokens += other.saved_prompt_tokens
        self.saved_completion_tokens += other.saved_completion_tokens
        self.media_cost_usd += other.media_cost_usd

    def summary(self, price: Price | None = None) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "failures": self.failures,
            "retries": self.retries,
            "errors": dict(sorted(self.errors.items())),
            "truncated_replies": self.truncated,
            "empty_replies": self.empty,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "latency_s": latency_summary(self.latencies),
            "queue_s": queue_summary(self.queued),
            "cost_usd": self.cost(price),
            "price_source": price.source if price is not None else None,
            "cache": self.cache_summary(price),
        }


@dataclass
class NodeStats:
    """Runs of one node, and the model calls it made."""

    runs: int = 0
    replayed: int = 0
    failures: int = 0
    seconds: float = 0.0
    models: dict[str, ModelStats] = field(default_factory=dict)
    """This node's model calls, by model."""

    def merge(self, other: NodeStats) -> None:
        """Add ``other``'s runs and model calls (from another process) to these."""
        self.runs += other.runs
        self.replayed += other.replayed
        self.failures += other.failures
        self.seconds += other.seconds
        for model, stats in other.models.items():
            self.models.setdefault(model, ModelStats()).merge(stats)

    def summary(self, prices: dict[str, Price | None] | None = None) -> dict[str, Any]:
        prices = prices or {}
        calls = list(self.models.values())
        costs = [s.cost(prices.get(name)) for name, s in self.models.items()]
        errors: dict[str, int] = {}
        for stats in calls:
            for kind, count in stats.errors.items():
                errors[kind] = errors.get(kind, 0) + count
        return {
            "runs": self.runs,
            "replayed_from_journal": self.replayed,
            "failures": self.failures,
            "seconds": round(self.seconds, 3),
            "model_calls": sum(s.calls for s in calls),
            "retries": sum(s.retries for s in calls),
            "errors": dict(sorted(errors.items())),
            "truncated_replies": sum(s.truncated for s in calls),
            "empty_replies": sum(s.empty for s in calls),
            "prompt_tokens": sum(s.prompt_tokens for s in calls),
            "completion_tokens": sum(s.completion_tokens for s in calls),
            "latency_s": latency_summary(_merged(s.latencies for s in calls)),
            "queue_s": queue_summary(_merged(s.queued for s in calls)),
            "cost_usd": math.fsum(c for c in costs if c is not None)
            if costs and None not in costs
            else None,
            "cache": _cache_totals(self.models, prices),
        }


@dataclass
class RunMetrics:
    """Everything counted during a run; summarised into ``summary.json``."""

    models: dict[str, ModelStats] = field(default_factory=dict)
    nodes: dict[str, NodeStats] = field(default_factory=dict)
    prices: dict[str, Price | None] = field(default_factory=dict)
    """Price of each model (set by the runner; a model not in it is unpriced)."""
    prompt_tokens: int = 0
    """Running totals over every model, kept for live progress and budget checks."""
    completion_tokens: int = 0
    cost_usd: float = 0.0
    """Dollars spent on priced models so far."""
    listeners: list[Callable[[RunMetrics], None]] = field(default_factory=list)
    """Called after every model call (budget caps watch spending through this)."""
    cache_hits: int = 0
    """Running totals of the response cache, for live progress."""
    cache_misses: int = 0
    saved_cost_usd: float = 0.0
    reserved: ReservedSpending = field(default_factory=ReservedSpending)
    """Spending reserved by provider batches in flight (batch mode), which budgets count."""

    def notify(self) -> None:
        """Call the listeners (after a model call, or a change in reserved spending)."""
        for listener in self.listeners:
            listener(self)

    def model(self, name: str) -> ModelStats:
        stats = self.models.get(name)
        if stats is None:
            stats = self.models[name] = ModelStats()
        return stats

    def running(self, name: str) -> NodeStats:
        """The stats of node ``name``, which the walker is about to run in the current task:
        model calls made from this task (and tasks it starts) are counted under it."""
        _CALLING_NODE.set(name)
        stats = self.nodes.get(name)  # self.node(name), a call fewer: once per node run
        if stats is None:
            stats = self.nodes[name] = NodeStats()
        return stats

    def node(self, name: str) -> NodeStats:
        """The stats of node ``name``."""
        stats = self.nodes.get(name)
        if stats is None:
            stats = self.nodes[name] = NodeStats()
        return stats

    def calling_node(self) -> str | None:
        """The node whose model calls the current task makes (None outside a node run)."""
        return _CALLING_NODE.get()

    def _node_model(self, model: str) -> ModelStats | None:
        node = _CALLING_NODE.get()
        if node is None:
            return None
        stats = self.nodes.get(node)
        if stats is None:
            stats = self.nodes[node] = NodeStats()
        calls = stats.models.get(model)
        if calls is None:
            calls = stats.models[model] = ModelStats()
        return calls

    def record_attempt_error(self, model: str, kind: str) -> None:
        """Count one failed attempt (retried or final) by its kind."""
        for stats in (self.model(model), self._node_model(model)):
            if stats is not None:
                stats.errors[kind] = stats.errors.get(kind, 0) + 1

    def record_reply(self, model: str, defect: str) -> None:
        """Count one reply of ``model`` that is ``truncated`` or ``empty``, whatever the call
        then does with it (keep it, ask again, or fail)."""
        if defect not in REPLY_DEFECTS:
            raise ValueError(f"unknown reply defect {defect!r}; use one of {REPLY_DEFECTS}")
        for stats in (self.model(model), self._node_model(model)):
            if stats is not None:
                if defect == "truncated":
                    stats.truncated += 1
                else:
                    stats.empty += 1

    def record_call(
        self,
        model: str,
        *,
        wire: Sequence[float],
        queued: float,
        prompt_tokens: int,
        completion_tokens: int,
        retries: int,
        error: str | None = None,
        media_cost_usd: float = 0.0,
    ) -> None:
        """Count one logical model call (with all of its retries): ``wire`` holds the
        seconds of each request it sent, ``queued`` the seconds it waited around them;
        ``error`` marks a call that failed after them (its attempts' errors are counted by
        :meth:`record_attempt_error`); ``media_cost_usd`` is what a media call's images,
        characters or audio seconds cost."""
        for stats in (self.model(model), self._node_model(model)):
            if stats is None:
                continue
            stats.calls += 1
            stats.retries += retries
            stats.latencies.extend(wire)
            stats.queued.append(queued)
            stats.prompt_tokens += prompt_tokens
            stats.completion_tokens += completion_tokens
            stats.media_cost_usd += media_cost_usd
            if error is not None:
                stats.failures += 1
        self.prompt_tokens += prompt_tokens
        self.completion_tokens += completion_tokens
        price = self.prices.get(model)
        if price is not None:
            self.cost_usd += price.cost(prompt_tokens, completion_tokens) + media_cost_usd
        self.notify()

    def record_cache(
        self, model: str, *, hit: bool, prompt_tokens: int = 0, completion_tokens: int = 0
    ) -> None:
        """Count one call the response cache answered (``hit``, with the tokens its reply
        cost when first fetched) or did not."""
        for stats in (self.model(model), self._node_model(model)):
            if stats is None:
                continue
            if not hit:
                stats.cache_misses += 1
                continue
            stats.cache_hits += 1
            stats.saved_prompt_tokens += prompt_tokens
            stats.saved_completion_tokens += completion_tokens
        if not hit:
            self.cache_misses += 1
            return
        self.cache_hits += 1
        price = self.prices.get(model)
        if price is not None:
            self.saved_cost_usd += price.cost(prompt_tokens, completion_tokens)

    def merge(self, other: RunMetrics) -> None:
        """Add what ``other`` counted (a shard of the same run, on another worker): the
        latencies join these, so percentiles are those of every call; listeners are not
        called."""
        for name, stats in other.models.items():
            self.model(name).merge(stats)
        for name, node in other.nodes.items():
            self.node(name).merge(node)
        for name, price in other.prices.items():
            self.prices.setdefault(name, price)
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.cost_usd += other.cost_usd
        self.cache_hits += other.cache_hits
        self.cache_misses += other.cache_misses
        self.saved_cost_usd += other.saved_cost_usd

    def detached(self) -> RunMetrics:
        """These counts without the listeners (which hold live objects), to send to
        another process."""
        return replace(self, listeners=[])

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def unpriced_models(self) -> list[str]:
        """Models that were called but have no known price."""
        return sorted(m for m, s in self.models.items() if s.calls and self.prices.get(m) is None)

    def summary(self) -> dict[str, Any]:
        unpriced = self.unpriced_models()
        models = self.models.values()
        return {
            "totals": {
                "model_calls": sum(s.calls for s in models),
                "retries": sum(s.retries for s in models),
                "truncated_replies": sum(s.truncated for s in models),
                "empty_replies": sum(s.empty for s in models),
                "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens,
                "cost_usd": self.cost_usd,
                "unpriced_models": unpriced,
                "cache": _cache_totals(self.models, self.prices),
            },
            "models": {
                name: s.summary(self.prices.get(name)) for name, s in sorted(self.models.items())
            },
            "nodes": {name: s.summary(self.prices) for name, s in sorted(self.nodes.items())},
        }


def _merged(stores: Iterable[Seconds]) -> Seconds:
    """One store holding the values of ``stores`` (a node's calls to several models)."""
    merged = Seconds()
    for store in stores:
        merged.merge(store)
    return merged


def _cache_totals(models: dict[str, ModelStats], prices: dict[str, Price | None]) -> dict[str, Any]:
    """The response cache's hits, misses and savings over ``models`` (``saved_cost_usd``
    sums the priced models' savings)."""
    parts = [stats.cache_summary(prices.get(name)) for name, stats in models.items()]
    return {
        "hits": sum(p["hits"] for p in parts),
        "misses": sum(p["misses"] for p in parts),
        "saved_cost_usd": math.fsum(p["saved_cost_usd"] or 0.0 for p in parts),
    }
