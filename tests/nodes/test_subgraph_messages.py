"""A subgraph that maps `messages` back appends only the turns it added."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from grasp_core import RunOptions, run_task
from grasp_core.config.task_file import Task


def first(state: dict[str, Any]) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": "m1"}]}


def second(state: dict[str, Any]) -> dict[str, Any]:
    return {"messages": [{"role": "assistant", "content": "m2"}], "y": "done"}


def test_output_map_of_messages_does_not_duplicate_history(tmp_path: Path) -> None:
    """Mapping `messages` out of a subgraph appends only its new turns."""
    inner = {
        "nodes": {
            "reply": {"node_type": "lambda", "lambda": second, "output_keys": ["messages", "y"]}
        },
        "edges": [{"from": "START", "to": "reply"}, {"from": "reply", "to": "END"}],
    }
    graph = {
        "nodes": {
            "ask": {"node_type": "lambda", "lambda": first, "output_keys": "messages"},
            "sub": {
                "node_type": "subgraph",
                "graph_config": inner,
                "output_map": {"messages": "messages", "y": "y"},
            },
        },
        "edges": [
            {"from": "START", "to": "ask"},
            {"from": "ask", "to": "sub"},
            {"from": "sub", "to": "END"},
        ],
    }
    task = Task.from_dict(
        {
            "data_config": {"num_records": 1},
            "graph_config": graph,
            "output_config": {"output_map": {"messages": {"from": "messages"}}},
        },
        task_dir=tmp_path,
    )
    result = run_task(task, RunOptions(output_dir=tmp_path))
    assert result.failed == 0
    (record,) = result.records()
    assert [m["content"] for m in record["messages"]] == ["m1", "m2"]
