"""SyGra's lambda without `output_keys` returns the whole state, which LangGraph merges: in
SyGra's own file (`graph_config.yaml`) GraSP reads the keys it sets from its code and keeps
those; a lambda whose keys cannot be read is refused in one line naming the node. In
`task.yaml`, `output_keys` stays required."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grasp_core import RunOptions, run_task
from grasp_core.errors import GraspError
from tests.conftest import write_task

GRAPH_CONFIG = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out.jsonl}
graph_config:
  nodes:
    bump:
      node_type: lambda
      lambda: task_executor.Bump
  edges:
    - {from: START, to: bump}
    - from: bump
      condition: task_executor.Again
      path_map: {bump: bump, END: END}
output_config:
  output_map:
    id: {from: id}
    counter: {from: counter}
    trail: {from: trail}
"""

HOOKS = """
class Bump:
    def apply(lambda_node_dict, state):
        state["counter"] += 1
        state.setdefault("trail", [])
        state["trail"].append(state["counter"])
        return state


class Again:
    def apply(state):
        return "bump" if state["counter"] < state["limit"] else "__end__"
"""


def _task(folder: Path, hooks: str = HOOKS, name: str = "graph_config.yaml") -> Path:
    files = {"task_executor.py": hooks, "data.jsonl": '{"id": "a", "counter": 0, "limit": 3}\n'}
    write_task(folder, GRAPH_CONFIG, files)
    if name != "task.yaml":
        (folder / "task.yaml").rename(folder / name)
    return folder / name


def test_a_sygra_lambda_without_output_keys_keeps_the_keys_its_code_sets(
    tmp_path: Path,
) -> None:
    """The lambda returns the whole state; the keys it sets (`counter`, `trail`) are kept
    on each turn of the loop."""
    result = run_task(_task(tmp_path / "loop"), RunOptions())
    assert result.failed == 0, result.failure_reasons
    [row] = [json.loads(line) for line in (tmp_path / "loop" / "out.jsonl").open()]
    assert row == {"id": "a", "counter": 3, "trail": [1, 2, 3]}


def test_a_sygra_lambda_whose_keys_cannot_be_read_is_refused_in_one_line(
    tmp_path: Path,
) -> None:
    """A key held in a variable: the run stops before its first record, naming the node
    and the fix."""
    hooks = HOOKS.replace('state["counter"] += 1', 'key = "counter"\n        state[key] += 1')
    with pytest.raises(GraspError) as info:
        run_task(_task(tmp_path / "loop", hooks), RunOptions())
    message = str(info.value)
    assert "lambda node 'bump' has no output_keys" in message
    assert "add `output_keys: [...]`" in message
    assert "\n" not in message.strip()


def test_in_task_yaml_a_lambda_still_needs_output_keys(tmp_path: Path) -> None:
    """GraSP's own file keeps `output_keys` required."""
    with pytest.raises(GraspError, match="lambda node 'bump' needs output_keys"):
        run_task(_task(tmp_path / "loop", name="task.yaml"), RunOptions())
