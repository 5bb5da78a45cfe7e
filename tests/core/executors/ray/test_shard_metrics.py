"""The metrics of a Ray run: each shard's raw counts, sent to the driver and merged, give the
summary one process counting every call would give."""

from __future__ import annotations

import contextvars
import pickle
from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from grasp_core.models.pricing import Price
from grasp_core.observe.metrics import RunMetrics

PRICES: dict[str, Price | None] = {
    "priced": Price(input_per_token=0.5, output_per_token=0.25, source="models file"),
    "unpriced": None,
}


@dataclass(frozen=True)
class Call:
    shard: int
    node: str
    model: str
    latency: float
    queued: float
    prompt_tokens: int
    completion_tokens: int
    retries: int
    failed: bool
    node_seconds: float


calls = st.builds(
    Call,
    shard=st.integers(0, 1),
    node=st.sampled_from(["ask", "judge"]),
    model=st.sampled_from(sorted(PRICES)),
    latency=st.floats(0.001, 30.0),
    queued=st.integers(0, 80).map(lambda n: n / 8),  # exact sums in any order
    prompt_tokens=st.integers(0, 500),
    completion_tokens=st.integers(0, 500),
    retries=st.integers(0, 2),
    failed=st.booleans(),
    node_seconds=st.integers(0, 80).map(lambda n: n / 8),  # exact sums in any order
)


def count(metrics: RunMetrics, call: Call) -> None:
    """What the engine and a model client count for one node run with one model call."""

    def in_the_nodes_task() -> None:
        node = metrics.running(call.node)
        node.runs += 1
        node.seconds += call.node_seconds
        for _ in range(call.retries + call.failed):
            metrics.record_attempt_error(call.model, "429")
        metrics.record_call(
            call.model,
            wire=[call.latency],
            queued=call.queued,
            prompt_tokens=call.prompt_tokens,
            completion_tokens=call.completion_tokens,
            retries=call.retries,
            error="failed" if call.failed else None,
        )

    contextvars.copy_context().run(in_the_nodes_task)


@given(st.lists(calls, max_size=40))
def test_merged_shard_metrics_summarise_as_one_process_counting_every_call(
    made: list[Call],
) -> None:
    """Two shards' metrics, pickled as Ray sends them and merged, summarise exactly like one
    RunMetrics that counted every call: totals, per model, per node, latency percentiles."""
    whole = RunMetrics(prices=dict(PRICES))
    shards = [RunMetrics(prices=dict(PRICES)) for _ in range(2)]
    for shard in shards:
        shard.listeners.append(lambda _metrics: None)  # a live object: never sent
    for call in made:
        count(whole, call)
        count(shards[call.shard], call)
    merged = RunMetrics(prices=dict(PRICES))
    for shard in shards:
        merged.merge(pickle.loads(pickle.dumps(shard.detached())))
    assert merged.summary() == whole.summary()
    assert merged.total_tokens == whole.total_tokens
    for stats in merged.summary()["models"].values():
        latency = stats["latency_s"]
        assert latency["p50"] <= latency["p95"] <= latency["p99"] <= latency["max"]
