"""A node's timeout is the only thing reported as a timeout, and it holds for sync code too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from grasp_core import RunOptions, run_task
from grasp_core.config.task_file import Task


def slow_service(state: dict[str, Any]) -> str:
    raise TimeoutError("upstream service timed out")


def run(tmp_path: Path, **node: Any) -> list[dict[str, Any]]:
    graph = {
        "nodes": {"a": {"node_type": "lambda", "lambda": slow_service, "output_keys": "x", **node}},
        "edges": [{"from": "START", "to": "a"}, {"from": "a", "to": "END"}],
    }
    task = Task.from_dict(
        {"data_config": {"num_records": 1}, "graph_config": graph}, task_dir=tmp_path
    )
    result = run_task(task, RunOptions(output_dir=tmp_path))
    assert result.failed == 1
    return [json.loads(x) for x in result.failures_path.read_text().splitlines()]


def test_timeout_error_from_a_node_without_timeout_keeps_its_reason(tmp_path: Path) -> None:
    """A TimeoutError the node raises itself is reported as that error."""
    (failure,) = run(tmp_path)
    assert "upstream service timed out" in failure["reason"], failure["reason"]


def test_timeout_error_from_a_node_is_not_blamed_on_its_timeout(tmp_path: Path) -> None:
    """Only the node's own deadline produces the 'took longer than its timeout' reason."""
    (failure,) = run(tmp_path, timeout=60)
    assert "longer than its timeout" not in failure["reason"], failure["reason"]


def sleepy(state: dict[str, Any]) -> str:
    import time

    time.sleep(0.6)
    return "late"


def test_sync_lambda_that_overruns_its_timeout_fails(tmp_path: Path) -> None:
    """A sync callable in a worker thread still fails the record when it overruns its timeout."""
    graph = {
        "nodes": {
            "a": {"node_type": "lambda", "lambda": sleepy, "output_keys": "x", "timeout": 0.1}
        },
        "edges": [{"from": "START", "to": "a"}, {"from": "a", "to": "END"}],
    }
    task = Task.from_dict(
        {"data_config": {"num_records": 1}, "graph_config": graph}, task_dir=tmp_path
    )
    result = run_task(task, RunOptions(output_dir=tmp_path))
    assert (result.done, result.failed) == (0, 1), list(result.records())
