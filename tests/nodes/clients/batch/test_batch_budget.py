"""Budgets count batches when they are submitted: each batch reserves its requests'
estimated cost (prompt tokens, and ``max_tokens`` of completion, at the entry's price),
a reached cap submits no new batch, the records waiting for one are left for ``--resume``,
and the reservation is released as the answers are counted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grasp_core import RunOptions, run_task
from grasp_core.mock_server import MockServer
from tests.nodes.clients.batch.conftest import batch_task, submitted

FULL_BATCHES = "{max_requests: 4, max_wait: 600, poll_interval: 0.05}"
"""Batches go only when full, so eight records make two batches of four."""


def _ledger(folder: Path) -> list[dict[str, object]]:
    text = (folder / "out.batches" / "ledger.jsonl").read_text()
    return [json.loads(line) for line in text.splitlines()]


def _ids(folder: Path) -> list[str]:
    lines = (folder / "out.jsonl").read_text().splitlines()
    return sorted(str(json.loads(line)["id"]) for line in lines)


def test_a_submitted_batch_reaching_the_cap_stops_the_next_one(
    tmp_path: Path, server: MockServer
) -> None:
    """The first batch's reservation reaches --max-tokens: it still completes and its
    records are written, the second batch is never submitted, its records are left for
    --resume (not failed); a resume with a higher cap submits them once."""
    task = batch_task(tmp_path, server.url, records=8, batch=FULL_BATCHES)
    first = run_task(task, RunOptions(overwrite=True, cache=False, max_tokens=10))
    assert first.done == 4
    assert first.failed == 0
    assert first.interrupted
    assert first.metrics["budget"]["stopped_by_budget"]
    assert "reserved" not in first.metrics["budget"]  # the batch ended: nothing left reserved
    assert len(submitted(server)) == 4
    assert first.metrics["batches"]["batches"] == {"completed": 1}
    assert not (tmp_path / "out.failures.jsonl").exists() or not (
        (tmp_path / "out.failures.jsonl").read_text().strip()
    )
    second = run_task(task, RunOptions(resume=True, cache=False, max_tokens=1_000_000))
    assert second.done == 4
    assert _ids(tmp_path) == [f"r{i}" for i in range(8)]
    ids = submitted(server)
    assert len(ids) == len(set(ids)) == 8


def test_a_batch_reserves_its_prompt_and_max_tokens_at_the_entrys_price(
    tmp_path: Path, server: MockServer
) -> None:
    """The ledger's `created` event holds the batch's reservation: for each request its
    prompt's estimated tokens plus `max_tokens`, priced at the entry's `cost:`."""
    task = batch_task(tmp_path, server.url, records=4, batch=FULL_BATCHES)
    (tmp_path / "models.yaml").write_text(
        f"batched: {{model: openai/b, api_base: '{server.url}/v1', batch: {FULL_BATCHES},\n"
        "          parameters: {max_tokens: 50},\n"
        "          cost: {input_per_million: 1000000, output_per_million: 2000000}}\n"
        f"live: {{model: openai/live, api_base: '{server.url}/v1'}}\n"
    )
    result = run_task(task, RunOptions(overwrite=True, cache=False))
    assert result.done == 4
    created = [e for e in _ledger(tmp_path) if e["event"] == "created"]
    assert len(created) == 1
    cost, tokens = created[0]["reserved"]  # type: ignore[misc]
    prompt = 4 * (len("write about topic 0") // 4 + 1)  # ~4 characters a token
    assert tokens == prompt + 4 * 50
    assert cost == pytest.approx(prompt * 1.0 + 4 * 50 * 2.0)
