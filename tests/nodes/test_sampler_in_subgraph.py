"""Samplers inside subgraphs are seeded by their qualified path and outer iteration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from grasp_core import RunOptions, run_task
from grasp_core.config.task_file import Task

VALUES = list(range(1000))

INNER = {
    "nodes": {
        "pick": {
            "node_type": "weighted_sampler",
            "attributes": {"choice": {"values": VALUES}},
        }
    },
    "edges": [{"from": "START", "to": "pick"}, {"from": "pick", "to": "END"}],
}


def collect(state: dict[str, Any]) -> list[int]:
    return [*(state.get("picks") or []), state["choice"]]


def again(state: dict[str, Any]) -> str:
    return "done" if len(state["picks"]) >= 4 else "again"


def run(tmp_path: Path, graph: dict[str, Any], n: int = 3) -> list[dict[str, Any]]:
    task = Task.from_dict(
        {"data_config": {"num_records": n}, "graph_config": graph}, task_dir=tmp_path
    )
    result = run_task(task, RunOptions(output_dir=tmp_path, seed=7))
    assert result.failed == 0
    return list(result.records())


def test_sampler_inside_a_looped_subgraph_draws_anew_each_iteration(tmp_path: Path) -> None:
    """A sampler in a subgraph that runs in a loop draws anew on each run."""
    graph = {
        "nodes": {
            "evolve": {"node_type": "subgraph", "graph_config": INNER},
            "collect": {"node_type": "lambda", "lambda": collect, "output_keys": "picks"},
        },
        "edges": [
            {"from": "START", "to": "evolve"},
            {"from": "evolve", "to": "collect"},
            {
                "from": "collect",
                "condition": again,
                "path_map": {"again": "evolve", "done": "END"},
            },
        ],
    }
    for record in run(tmp_path, graph):
        # 4 uniform draws from 1000 values: all equal with probability 1e-9
        assert len(set(record["picks"])) > 1, record["picks"]


def test_sibling_subgraphs_draw_independently(tmp_path: Path) -> None:
    """Two subgraph nodes with the same inner sampler draw independently."""
    graph = {
        "nodes": {
            "first": {
                "node_type": "subgraph",
                "graph_config": INNER,
                "output_map": {"a": "choice"},
            },
            "second": {
                "node_type": "subgraph",
                "graph_config": INNER,
                "output_map": {"b": "choice"},
            },
        },
        "edges": [
            {"from": "START", "to": "first"},
            {"from": "first", "to": "second"},
            {"from": "second", "to": "END"},
        ],
    }
    records = run(tmp_path, graph, n=5)
    assert any(r["a"] != r["b"] for r in records), records
