"""Stopping a Ray run: SIGTERM to the driver stops it like Ctrl-C (and Ray's own SIGTERM in
the workers fails no record), and a dead actor is one GraSP error."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from grasp_core import RunOptions, run_task
from grasp_core.config.task_file import Task
from grasp_core.executors.ray import BackendLimits, ShardFailedError, ShardLayout
from grasp_core.executors.ray.board import ProgressBoard
from grasp_core.executors.ray.driver import _Jobs
from grasp_core.models.catalog import ModelCatalog
from tests.conftest import write_task
from tests.core.executors.ray.test_ray_executor import (
    LAMBDA_TASK,
    STEPS,
    _committed,
    output_ids,
    records,
)

ray = pytest.importorskip("ray")

pytestmark = pytest.mark.slow


def test_sigterm_stops_a_ray_run_like_ctrl_c_and_resume_finishes_it(
    cluster: None, tmp_path: Path
) -> None:
    """SIGTERM to the CLI's Ray driver cancels the shards and exits 130 with the resume hint
    (no native stack dump); its metrics.json records the stop; --resume writes every record
    once."""
    task = write_task(
        tmp_path, LAMBDA_TASK % "slow", {"data.jsonl": records(120), "steps.py": STEPS}
    )
    address = ray.get_runtime_context().gcs_address
    command = [
        sys.executable, "-m", "grasp_core", "run", str(task), "--quiet",
        "--executor", "ray", "--num-shards", "2", "--ray-address", address, "--window", "2",
    ]  # fmt: skip
    driver = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    journals = [
        tmp_path / "out" / "out.shards" / f"shard-{i:05d}" / "output.journal.jsonl"
        for i in range(2)
    ]
    deadline = time.monotonic() + 60
    while not all(_committed(j) for j in journals):
        assert driver.poll() is None, "the driver finished before it could be stopped"
        assert time.monotonic() < deadline, "the shards never committed anything"
        time.sleep(0.1)
    driver.send_signal(signal.SIGTERM)
    _, err = driver.communicate(timeout=30)
    assert driver.returncode == 130, err
    assert "SIGTERM received" not in err
    assert f"grasp run {task} --resume" in err
    assert "stopped early" in err
    metrics = json.loads((tmp_path / "out" / "out.metrics.json").read_text())
    assert metrics["records"]["interrupted"] is True
    assert not (tmp_path / "out" / "out.jsonl").is_file()
    result = run_task(task, RunOptions(executor="ray", resume=True))
    assert result.done + result.previously_done == 120
    assert output_ids(tmp_path / "out" / "out.jsonl") == sorted(f"r{i}" for i in range(120))
    # Ray's workers answer the stop with sys.exit inside the lambda: no record fails for it
    assert result.failed == result.previously_failed == 0
    assert (tmp_path / "out" / "out.failures.jsonl").read_text() == ""


def _wait_until_dead(method: Any) -> None:
    """``ray.kill`` returns before the actor is gone; a call sent at once may still be
    answered. Wait (bounded) until a call to ``method`` fails as a dead actor's does."""
    for _ in range(600):
        try:
            ray.get(method.remote(), timeout=5)
        except ray.exceptions.RayActorError:
            return
        time.sleep(0.05)
    raise AssertionError("the killed actor still answers")


def test_a_dead_board_or_limits_actor_is_a_grasp_error_naming_it(
    cluster: None, tmp_path: Path
) -> None:
    """The driver turns a dead actor into ShardFailedError naming what it kept and how to
    resume, not a raw RayActorError."""
    task = write_task(tmp_path, LAMBDA_TASK % "slow", {"data.jsonl": records(4), "steps.py": STEPS})
    layout = ShardLayout(tmp_path / "out" / "out.shards")
    jobs = _Jobs(ray, Task.load(task), RunOptions(), ModelCatalog(), layout, 1, None)
    jobs.board = ray.remote(num_cpus=0)(ProgressBoard).remote()
    jobs.actors = {"m": ray.remote(num_cpus=0)(BackendLimits).remote("m", max_concurrency=2)}
    jobs._report()  # both alive
    ray.kill(jobs.actors["m"])
    _wait_until_dead(jobs.actors["m"].summary)
    with pytest.raises(ShardFailedError, match=r"limits of backend 'm' died.*--resume"):
        jobs.limits_summary()
    ray.kill(jobs.board)
    _wait_until_dead(jobs.board.poll)
    with pytest.raises(ShardFailedError, match=r"progress and budget \(its board\) died.*--resume"):
        jobs._report()
    with pytest.raises(ShardFailedError, match="board"):
        jobs.budget_summary()
