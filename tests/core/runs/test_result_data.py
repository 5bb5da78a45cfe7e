"""The Python API's result object: records as an async iterator, a `datasets.Dataset`, the
metrics and the paths written; and `grasp_core.run`, the one-call entry point."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest

import grasp_core
from grasp_core import ConfigError, RunOptions, SinkError, Task, run_task


def _task(tmp_path: Path, sink_type: str, file_name: str, n: int = 5) -> Task:
    rows = "".join(json.dumps({"id": str(i)}) + "\n" for i in range(n))
    (tmp_path / "data.jsonl").write_text(rows, encoding="utf-8")
    return Task.from_dict(
        {
            "data_config": {
                "source": {"type": "disk", "file_path": "data.jsonl"},
                "sink": {"type": sink_type, "file_path": file_name},
            },
            "graph_config": {
                "nodes": {
                    "n": {
                        "node_type": "lambda",
                        "lambda": lambda s: f"v{s['id']}",
                        "output_keys": "x",
                    }
                },
                "edges": [{"from": "START", "to": "n"}, {"from": "n", "to": "END"}],
            },
            "output_config": {"output_map": {"id": {"from": "id"}, "x": {"from": "x"}}},
        },
        task_dir=tmp_path,
    )


EXPECTED = [{"id": str(i), "x": f"v{i}"} for i in range(5)]


@pytest.mark.parametrize(
    ("sink_type", "file_name"),
    [("jsonl", "out.jsonl"), ("parquet", "out.parquet"), ("json", "out.json")],
)
def test_to_dataset_and_aiter_records_read_the_output(
    tmp_path: Path, sink_type: str, file_name: str
) -> None:
    """Whatever the sink format, to_dataset() and aiter_records() give the written records."""
    result = run_task(_task(tmp_path, sink_type, file_name), RunOptions(output_dir=tmp_path))
    dataset = result.to_dataset()
    assert sorted(dataset.to_list(), key=lambda r: r["id"]) == EXPECTED

    async def collect() -> list[dict[str, Any]]:
        return [record async for record in result.aiter_records()]

    assert sorted(anyio.run(collect), key=lambda r: r["id"]) == EXPECTED
    assert result.paths["outputs"] == [tmp_path / file_name]
    assert result.paths["metrics"] == tmp_path / "out.metrics.json"
    assert result.metrics_path is not None
    assert result.metrics_path.is_file()
    assert result.summary_path.is_file()


def test_run_is_the_one_call_entry_point(tmp_path: Path) -> None:
    """grasp_core.run takes RunOptions fields as keywords; a misspelt one is a ConfigError
    with the nearest name."""
    result = grasp_core.run(_task(tmp_path, "jsonl", "out.jsonl"), output_dir=tmp_path)
    assert sorted(result.records(), key=lambda r: r["id"]) == EXPECTED
    assert result.metrics["nodes"]["n"]["runs"] == 5
    with pytest.raises(ConfigError, match="did you mean 'num_records'"):
        grasp_core.run(_task(tmp_path, "jsonl", "out.jsonl"), num_record=3)


def test_to_dataset_of_a_stopped_run_says_to_resume(tmp_path: Path, mock_url: str) -> None:
    """A run stopped by its budget has no finished output; to_dataset says how to finish."""
    task = Task.from_dict(
        {
            "data_config": {"num_records": 20},
            "graph_config": {
                "nodes": {
                    "ask": {
                        "node_type": "llm",
                        "prompt": [{"user": "hi [[mock:latency=0.02]]"}],
                        "model": {"name": "m"},
                        "output_keys": "a",
                    }
                },
                "edges": [{"from": "START", "to": "ask"}, {"from": "ask", "to": "END"}],
            },
        },
        task_dir=tmp_path,
    )
    result = run_task(task, RunOptions(mock=mock_url, window=2, max_tokens=5))
    assert result.stopped_by_budget
    with pytest.raises(SinkError, match="--resume"):
        result.to_dataset()


def test_empty_output_is_an_empty_dataset(tmp_path: Path) -> None:
    """No records written: an empty dataset, not an error from `datasets`."""
    result = run_task(_task(tmp_path, "jsonl", "out.jsonl", n=0), RunOptions(output_dir=tmp_path))
    assert result.to_dataset().num_rows == 0
