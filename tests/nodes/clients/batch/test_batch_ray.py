"""Batch mode under the Ray executor: each shard gathers its own records' requests into
its own batches, with its ledger in its shard folder, so a resumed shard polls its own
batches again; the merged output has every record once, each request submitted once. A
budget cap with batch mode needs the local executor."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grasp_core import RunOptions, run_task
from grasp_core.errors import ConfigError
from grasp_core.mock_server import BatchPlan, MockServer
from tests.conftest import REPO_ROOT
from tests.nodes.clients.batch.conftest import batch_lines, batch_task, live_calls, submitted

ray = pytest.importorskip("ray")

pytestmark = pytest.mark.slow


def _ledger(tmp_path: Path, shard: int) -> Path:
    return tmp_path / "out.shards" / f"shard-{shard:05d}" / "output.batches" / "ledger.jsonl"


def _ids(tmp_path: Path) -> list[str]:
    rows = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert all(str(r["draft"]) in str(r["final"]) for r in rows)
    return sorted(str(r["id"]) for r in rows)


def test_two_shards_with_a_batched_model_write_every_record_once(
    cluster: None, tmp_path: Path, server: MockServer
) -> None:
    """Two shards, eight records: every record written once with both answers, each
    batched request submitted and answered once; each shard keeps its ledger in its
    folder, and the run's summary adds up their batches."""
    task = batch_task(tmp_path, server.url, records=8)
    result = run_task(task, RunOptions(overwrite=True, cache=False, executor="ray", num_shards=2))
    assert (result.done, result.failed) == (8, 0)
    assert _ids(tmp_path) == [f"r{i}" for i in range(8)]
    ids = submitted(server)
    assert len(ids) == len(set(ids)) == 8
    assert len(batch_lines(server)) == 8
    assert len(live_calls(server)) == 8
    created = {r["key"] for r in server.requests() if r["path"] == "/v1/batches"}
    assert _ledger(tmp_path, 0).is_file()
    assert _ledger(tmp_path, 1).is_file()
    assert result.metrics["batches"] == {
        "parked": 0,
        "held": 0,
        "batches": {"completed": len(created)},
    }


@pytest.mark.parametrize("plan", [BatchPlan(delay=3.0)])
def test_a_stopped_ray_run_resumes_each_shards_batches_without_resubmitting(
    cluster: None, tmp_path: Path, server: MockServer
) -> None:
    """SIGTERM to the driver once both shards have a batch in flight; the resumed run's
    shards find their batches in their own ledgers and wait for them: no custom_id
    reaches the server twice, and every record is written once."""
    task = batch_task(tmp_path, server.url, records=8)
    address = ray.get_runtime_context().gcs_address
    command = [
        sys.executable, "-m", "grasp_core", "run", str(task), "--quiet", "--no-cache",
        "--executor", "ray", "--num-shards", "2", "--ray-address", address,
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    driver = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    ledgers = [_ledger(tmp_path, i) for i in range(2)]
    while not all(p.is_file() and '"created"' in p.read_text() for p in ledgers):
        assert driver.poll() is None, "the driver finished before it could be stopped"
        assert time.monotonic() < deadline, "the shards never created a batch"
        time.sleep(0.05)
    driver.send_signal(signal.SIGTERM)
    driver.wait(timeout=60)
    before = submitted(server)
    assert before

    result = run_task(task, RunOptions(resume=True, cache=False, executor="ray", num_shards=2))

    ids = submitted(server)
    assert len(ids) == len(set(ids)) == 8
    assert ids[: len(before)] == before
    assert _ids(tmp_path) == [f"r{i}" for i in range(8)]
    assert result.failed == 0


def test_a_budget_cap_with_batch_mode_under_ray_is_refused_before_any_call(
    tmp_path: Path,
) -> None:
    """Ray shards count a batch's cost only when its answers come back, so a capped Ray
    run with a batched model stops with one line before any shard starts."""
    task = batch_task(tmp_path, "http://127.0.0.1:9", records=1)
    options = RunOptions(overwrite=True, cache=False, executor="ray", max_tokens=1000)
    with pytest.raises(ConfigError) as caught:
        run_task(task, options)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("a budget cap with batch mode (`batch:` on 'batched') needs the")
    assert not (tmp_path / "out.jsonl").exists()
