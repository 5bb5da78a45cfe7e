"""Batch mode in whole runs over HTTP against the mock server: a batched node and a live
node in one graph write every record once; failed and expired batches, and requests that
fail inside a batch, are submitted again up to the limit, then fail their records with the
reason."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from grasp_core import RunOptions, run_task
from grasp_core.errors import StopRunError
from grasp_core.mock_server import BatchPlan, MockServer
from tests.nodes.clients.batch.conftest import (
    BATCH,
    batch_lines,
    batch_task,
    live_calls,
    submitted,
)


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_batched_node_and_a_live_node_write_every_record_once(
    tmp_path: Path, server: MockServer
) -> None:
    """Every record's batched request is answered in a batch, its live request live, and
    every record is written once with both answers."""
    task = batch_task(tmp_path, server.url, records=10)
    result = run_task(task, RunOptions(overwrite=True, cache=False))
    rows = _rows(tmp_path / "out.jsonl")
    assert sorted(r["id"] for r in rows) == [f"r{i}" for i in range(10)]
    for row in rows:
        assert f"topic {str(row['id'])[1:]}" in str(row["draft"])
        assert str(row["draft"]) in str(row["final"])
    ids = submitted(server)
    assert len(ids) == len(set(ids)) == 10
    assert len(batch_lines(server)) == 10
    assert len(live_calls(server)) == 10
    batches = {r["key"] for r in server.requests() if r["path"] == "/v1/batches"}
    assert len(batches) >= 3
    assert result.done == 10
    assert result.failed == 0
    shown = {"parked": 0, "held": 0, "batches": {"completed": len(batches)}}
    assert result.metrics["batches"] == shown
    progress = json.loads((tmp_path / "out.progress.json").read_text())
    assert progress["progress"]["batches"] == shown


FULL_BATCHES = "{max_requests: 4, max_wait: 600, poll_interval: 0.05, max_resubmits: 1}"
"""Batches go only when full (the tests use multiples of 4 records)."""


@pytest.mark.parametrize("plan", [BatchPlan(expire=1)])
def test_an_expired_batch_is_submitted_again_and_its_records_written(
    tmp_path: Path, server: MockServer
) -> None:
    """One batch of four expires; its requests go into one new batch, and every record
    is written."""
    task = batch_task(tmp_path, server.url, records=8, batch=FULL_BATCHES)
    result = run_task(task, RunOptions(overwrite=True, cache=False))
    assert result.done == 8
    assert result.failed == 0
    ids = submitted(server)
    assert sorted(ids.count(i) for i in set(ids)) == [1, 1, 1, 1, 2, 2, 2, 2]


@pytest.mark.parametrize("plan", [BatchPlan(failed_requests=2)])
def test_requests_failed_inside_a_batch_are_submitted_again(
    tmp_path: Path, server: MockServer
) -> None:
    """Two requests fail inside a completed batch; only they are submitted again."""
    task = batch_task(tmp_path, server.url, records=6)
    result = run_task(task, RunOptions(overwrite=True, cache=False))
    assert result.done == 6
    assert result.failed == 0
    ids = submitted(server)
    assert sorted(ids.count(i) for i in set(ids)) == [1, 1, 1, 1, 2, 2]


@pytest.mark.parametrize("plan", [BatchPlan(fail=100)])
def test_batches_that_keep_failing_fail_their_records_with_the_reason(
    tmp_path: Path, server: MockServer
) -> None:
    """With every batch failing, each request is submitted 1 + max_resubmits times, then
    its record fails naming the batch and the provider's reason; the live node is never
    called."""
    task = batch_task(tmp_path, server.url, records=4, batch=FULL_BATCHES)
    result = run_task(task, RunOptions(overwrite=True, cache=False, allowed_failures=1.0))
    assert result.done == 0
    assert result.failed == 4
    ids = submitted(server)
    assert sorted(ids.count(i) for i in set(ids)) == [2, 2, 2, 2]
    assert live_calls(server) == []
    failures = _rows(tmp_path / "out.failures.jsonl")
    assert len(failures) == 4
    for failure in failures:
        text = json.dumps(failure)
        assert "failed: mock batch failure (BatchPlan.fail)" in text
        assert "submitted 2 times" in text


def test_an_azure_route_uses_azures_batch_paths(tmp_path: Path, server: MockServer) -> None:
    """An ``azure/<deployment>`` entry uploads to ``/openai/files`` and creates batches at
    ``/openai/batches`` with an ``api-version``; lines name ``/chat/completions``."""
    task = batch_task(tmp_path, server.url, records=4)
    (tmp_path / "models.yaml").write_text(
        f"batched: {{model: azure/dep, api_base: '{server.url}', api_version: '2024-10-21',\n"
        "          batch: {max_requests: 4, max_wait: 0.2, poll_interval: 0.05}}\n"
        f"live: {{model: openai/live, api_base: '{server.url}/v1'}}\n"
    )
    result = run_task(task, RunOptions(overwrite=True, cache=False))
    assert result.done == 4
    created = [r for r in server.requests() if r["path"] == "/openai/batches"]
    assert sum(len(r["messages"]) for r in created) == 4
    answered = [r for r in server.requests() if str(r["path"]).startswith("/v1/batches/")]
    paths = {re.sub(r"batch_mock\d+", "ID", str(r["path"])) for r in answered}
    assert paths == {"/v1/batches/ID/chat/completions"}
    assert {r["model"] for r in answered} == {"dep"}


def test_two_batched_nodes_run_under_trio(tmp_path: Path, server: MockServer) -> None:
    """Both nodes batched (a record waits at each in turn), on trio's event loop: every
    record is written once, each request submitted once."""
    task = batch_task(tmp_path, server.url, records=4)
    (tmp_path / "models.yaml").write_text(
        f"batched: {{model: openai/b, api_base: '{server.url}/v1', batch: {BATCH}}}\n"
        f"live: {{model: openai/live, api_base: '{server.url}/v1', batch: {BATCH}}}\n"
    )
    result = run_task(task, RunOptions(overwrite=True, cache=False), backend="trio")
    assert result.done == 4
    ids = submitted(server)
    assert len(ids) == len(set(ids)) == 8
    assert live_calls(server) == []
    rows = _rows(tmp_path / "out.jsonl")
    assert all(str(row["draft"]) in str(row["final"]) for row in rows)


@pytest.mark.parametrize("plan", [BatchPlan(refused_polls=1)])
def test_a_refused_poll_stops_the_run_and_resume_collects_the_batch(
    tmp_path: Path, server: MockServer
) -> None:
    """A 401 on a poll stops the run with one line naming the batch and ``--resume`` (no
    record fails: failed records are never resumed); the resume polls the same batch and
    writes every record, nothing submitted twice."""
    task = batch_task(tmp_path, server.url, records=4, batch=FULL_BATCHES)
    with pytest.raises(StopRunError, match=r"cannot collect batch batch_mock1 .*--resume"):
        run_task(task, RunOptions(overwrite=True, cache=False))
    failures = tmp_path / "out.failures.jsonl"
    assert not failures.exists() or failures.read_text() == ""
    result = run_task(task, RunOptions(resume=True, cache=False))
    assert result.done == 4
    assert sorted(r["id"] for r in _rows(tmp_path / "out.jsonl")) == ["r0", "r1", "r2", "r3"]
    ids = submitted(server)
    assert len(ids) == len(set(ids)) == 4


MULTI_TASK = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out.jsonl}
graph_config:
  nodes:
    both:
      node_type: multi_llm
      prompt: [{user: "write about {topic}"}]
      models:
        a: {name: batched}
        b: {name: live}
  edges:
    - {from: START, to: both}
    - {from: both, to: END}
"""


@pytest.mark.parametrize("plan", [BatchPlan(refused_polls=1)])
def test_a_stop_inside_a_multi_llm_node_stops_the_run(tmp_path: Path, server: MockServer) -> None:
    """The stop raised inside ``multi_llm``'s own task group still stops the run (it is not
    turned into a failed record)."""
    batch_task(tmp_path, server.url, records=4, batch=FULL_BATCHES)
    task = tmp_path / "task.yaml"
    task.write_text(MULTI_TASK)
    with pytest.raises(StopRunError, match="cannot collect batch batch_mock1"):
        run_task(task, RunOptions(overwrite=True, cache=False))
    failures = tmp_path / "out.failures.jsonl"
    assert not failures.exists() or failures.read_text() == ""
