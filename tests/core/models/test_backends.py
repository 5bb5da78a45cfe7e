"""Backend capacity: token budgets, AIMD concurrency on 429s, and the circuit breaker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grasp_core import RunOptions, run_task
from grasp_core.mock_server import MockServer
from grasp_core.models.backends import Backend, CircuitBreaker
from grasp_core.models.catalog import ModelCatalog
from grasp_core.models.ratelimit import TokenBucket
from tests.conftest import write_task


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.mark.anyio
async def test_token_bucket_waits_for_budget_instead_of_failing() -> None:
    """A minute's budget may burst; beyond it each request waits for its refill."""
    clock = FakeClock()
    bucket = TokenBucket(60, clock=clock, sleep=clock.sleep)  # one per second
    for _ in range(60):
        await bucket.take()
    assert clock.slept == []
    await bucket.take()
    await bucket.take(2)
    assert clock.slept == pytest.approx([1.0, 2.0])


@pytest.mark.anyio
async def test_token_bucket_estimates_are_corrected_by_usage() -> None:
    """Spending more than estimated makes later requests wait for the difference."""
    clock = FakeClock()
    bucket = TokenBucket(600, clock=clock, sleep=clock.sleep)  # 10 per second
    await bucket.take(600)
    bucket.adjust(100)  # the reply used 100 more tokens than estimated
    await bucket.take(10)
    assert clock.slept == pytest.approx([11.0])


@pytest.mark.anyio
async def test_aimd_halves_on_429_and_grows_back_additively() -> None:
    """A 429 halves the limit (once a second at most); successes add ~1 per window."""
    backend = Backend("b", max_concurrency=16)
    limiter = backend.limiter
    backend.record_rate_limited()
    backend.record_rate_limited()  # within the same second: no second halving
    assert (backend.limit, limiter.total_tokens, backend.rate_limited) == (8.0, 8, 2)
    for _ in range(8):
        backend.record_success()
    assert 8.9 < backend.limit < 9.1
    assert limiter.total_tokens == int(backend.limit)
    for _ in range(1000):
        backend.record_success()
    assert (backend.limit, limiter.total_tokens) == (16.0, 16)


def test_non_adaptive_backend_keeps_its_limit() -> None:
    """`adaptive: false` counts 429s but never changes the limit."""
    backend = Backend("b", max_concurrency=4, adaptive=False)
    backend.record_rate_limited()
    assert (backend.limit, backend.rate_limited) == (4.0, 1)


def test_circuit_opens_after_consecutive_failures_with_growing_cooldown() -> None:
    """N failures in a row open the circuit; each reopening doubles the pause; a success resets."""
    breaker = CircuitBreaker(threshold=3, cooldown=5.0)
    assert not breaker.record_failure(0.0)
    assert not breaker.record_failure(0.0)
    assert breaker.record_failure(0.0)
    assert breaker.wait_seconds(1.0) == pytest.approx(4.0)
    for _ in range(3):
        opened = breaker.record_failure(10.0)
    assert opened
    assert breaker.current_cooldown == 10.0
    breaker.record_success()
    assert (breaker.failures_in_a_row, breaker.current_cooldown) == (0, 0.0)
    assert breaker.times_opened == 2


def test_429s_are_retried_and_reported_per_backend(tmp_path: Path, mock_server: MockServer) -> None:
    """Every request first gets two 429s: all records are written, none fails, and the run
    summary shows the 429s and the shrunken limit of that backend."""
    rows = "".join(
        json.dumps({"id": i, "p": f"q{i} [[mock:429:2:retry_after=0.01]]"}) + "\n"
        for i in range(12)
    )
    task = write_task(
        tmp_path,
        """
        data_config:
          source: {type: disk, file_path: in.jsonl}
          sink: {type: jsonl, file_path: out.jsonl}
        graph_config:
          nodes:
            ask: {node_type: llm, prompt: [{user: "{p}"}], model: {name: m}}
          edges: [{from: START, to: ask}, {from: ask, to: END}]
        """,
        {"in.jsonl": rows},
    )
    catalog = ModelCatalog.from_mapping(
        {
            "m": {
                "model": "openai/m",
                "api_base": mock_server.url + "/v1",
                "max_concurrency": 16,
                "max_retries": 4,
                "rpm": 6000,
            }
        },
        source="test",
    )
    result = run_task(task, RunOptions(models=catalog))
    assert (result.done, result.failed) == (12, 0)
    backend = result.metrics["backends"]["m"]
    assert backend["rate_limited_429"] == 24
    assert backend["current_limit"] < 16
    assert backend["circuit_opened"] == 0
    assert result.metrics["models"]["m"]["failures"] == 0
    summary = json.loads(result.summary_path.read_text())
    assert summary["backends"]["m"]["rate_limited_429"] == 24
