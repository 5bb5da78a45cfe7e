"""walker._call: `except TimeoutError` also catches TimeoutErrors raised by the node itself."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from grasp_core.runner import RunOptions, run_task
from grasp_core.task import Task


def slow_service(state: dict[str, Any]) -> str:
    raise TimeoutError("upstream service timed out")


def run(tmp_path: Path, **node: Any) -> list[dict[str, Any]]:
    graph = {
        "nodes": {"a": {"node_type": "lambda", "lambda": slow_service, "output_keys": "x", **node}},
        "edges": [{"from": "START", "to": "a"}, {"from": "a", "to": "END"}],
    }
    task = Task.from_dict({"data_config": {"num_records": 1}, "graph_config": graph}, task_dir=tmp_path)
    result = run_task(task, RunOptions(output_dir=tmp_path))
    assert result.failed == 1
    return [json.loads(x) for x in result.failures_path.read_text().splitlines()]


@pytest.mark.xfail(
    strict=True,
    reason="bug: a node without `timeout` that raises TimeoutError hits the timeout branch, "
    "whose f-string formats None with :g -> 'TypeError: unsupported format string'",
)
def test_timeout_error_from_a_node_without_timeout_keeps_its_reason(tmp_path: Path) -> None:
    (failure,) = run(tmp_path)
    assert "upstream service timed out" in failure["reason"], failure["reason"]


@pytest.mark.xfail(
    strict=True,
    reason="bug: a TimeoutError raised inside a node with a generous `timeout` is reported "
    "as the node exceeding its timeout",
)
def test_timeout_error_from_a_node_is_not_blamed_on_its_timeout(tmp_path: Path) -> None:
    (failure,) = run(tmp_path, timeout=60)
    assert "longer than its timeout" not in failure["reason"], failure["reason"]
