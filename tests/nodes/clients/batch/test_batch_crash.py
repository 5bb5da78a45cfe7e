"""A batched run killed with SIGKILL while its batches are in flight, then resumed: the
resume polls the same batches instead of submitting their requests again (the mock's log
shows every request submitted once), and every record is written once."""

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
from grasp_core.mock_server import BatchPlan, MockServer
from tests.conftest import REPO_ROOT
from tests.nodes.clients.batch.conftest import batch_task, submitted


@pytest.mark.slow
@pytest.mark.parametrize("plan", [BatchPlan(delay=3.0)])
def test_sigkill_with_batches_in_flight_then_resume_submits_nothing_twice(
    tmp_path: Path, server: MockServer
) -> None:
    """Killed once a batch is created (and still in progress), the resumed run finds it in
    the ledger and waits for it: no custom_id reaches the server twice, and every record
    is written once."""
    task = batch_task(tmp_path, server.url, records=8)
    cmd = [sys.executable, "-m", "grasp_core", "run", str(task), "--no-cache", "--quiet"]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    env.pop("GRASP_MODELS", None)
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not submitted(server):  # whatever the machine's pace
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    before = submitted(server)
    assert before, "no batch was created before the deadline"

    result = run_task(task, RunOptions(resume=True, cache=False))

    ids = submitted(server)
    assert len(ids) == len(set(ids)) == 8
    assert ids[: len(before)] == before
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert sorted(r["id"] for r in rows) == [f"r{i}" for i in range(8)]
    assert result.failed == 0
    ledger = (tmp_path / "out.batches" / "ledger.jsonl").read_text().splitlines()
    assert {json.loads(line)["event"] for line in ledger} == {"uploaded", "created", "ended"}
