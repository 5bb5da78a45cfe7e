"""RunResult.records() reads back what the run wrote, whatever the sink format."""

from __future__ import annotations

from pathlib import Path

import pytest

from grasp_core import RunOptions, Task, run_task


@pytest.mark.parametrize(
    ("sink_type", "file_name"),
    [("jsonl", "out.jsonl"), ("json", "out.jsonl"), ("csv", "out.csv"), ("parquet", "out.pq")],
)
def test_records_reads_every_sink_format(tmp_path: Path, sink_type: str, file_name: str) -> None:
    """The sink's type decides how the output is read, not the file name (the paper's JSON
    example writes an array into a `.jsonl` name)."""
    task = Task.from_dict(
        {
            "data_config": {
                "num_records": 3,
                "sink": {"type": sink_type, "file_path": file_name},
            },
            "graph_config": {
                "nodes": {
                    "n": {"node_type": "lambda", "lambda": lambda s: "v", "output_keys": "x"}
                },
                "edges": [{"from": "START", "to": "n"}, {"from": "n", "to": "END"}],
            },
            "output_config": {"output_map": {"x": {"from": "x"}, "k": {"value": "const"}}},
        },
        task_dir=tmp_path,
    )
    result = run_task(task, RunOptions(output_dir=tmp_path))
    assert list(result.records()) == [{"x": "v", "k": "const"}] * 3
