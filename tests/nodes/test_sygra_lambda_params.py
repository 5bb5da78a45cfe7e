"""SyGra's lambdas get the node's config as `lambda_node_dict`: its own keys, the extra keys
written beside them, and `params` as written (`lambda_node_dict["params"]["k"]`)."""

from __future__ import annotations

import json
from pathlib import Path

from grasp_core import RunOptions, run_task
from tests.conftest import write_task

GRAPH_CONFIG = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out.jsonl}
graph_config:
  nodes:
    grade:
      node_type: lambda
      lambda: task_executor.Grade
      function_type: sync
      golden_key: expected
      params:
        bonus: 2
        label: graded
      output_keys: [score, note]
  edges:
    - {from: START, to: grade}
    - {from: grade, to: END}
output_config:
  output_map:
    id: {from: id}
    score: {from: score}
    note: {from: note}
"""

TASK_EXECUTOR = """
class Grade:
    def apply(lambda_node_dict, state):
        params = lambda_node_dict["params"]
        right = state["answer"] == state[lambda_node_dict["golden_key"]]
        state["score"] = int(right) + params["bonus"]
        state["note"] = f"{params['label']} by {lambda_node_dict['lambda']}"
        return state
"""


def test_a_sygra_lambda_reads_params_and_extra_keys_from_its_node_dict(tmp_path: Path) -> None:
    """`lambda_node_dict["params"]` holds the YAML's `params`; an extra key (`golden_key`)
    and the node's own keys (`lambda`) are there too, as SyGra passes its node config."""
    folder = tmp_path / "grading"
    write_task(
        folder,
        "",
        {
            "graph_config.yaml": GRAPH_CONFIG,
            "task_executor.py": TASK_EXECUTOR,
            "data.jsonl": '{"id": "a", "answer": "4", "expected": "4"}\n'
            '{"id": "b", "answer": "5", "expected": "4"}\n',
        },
    )
    (folder / "task.yaml").unlink()
    result = run_task(folder / "graph_config.yaml", RunOptions())
    assert result.failed == 0, result.failure_reasons
    rows = {row["id"]: row for row in map(json.loads, (folder / "out.jsonl").open())}
    assert rows["a"] == {"id": "a", "score": 3, "note": "graded by task_executor.Grade"}
    assert rows["b"]["score"] == 2
