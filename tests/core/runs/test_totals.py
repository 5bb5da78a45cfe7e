"""The record total a run's progress shows: the source's cheap count through its transforms
and the start/limit window, or unknown (None) where a step cannot tell."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from grasp_core import RunOptions, Task
from grasp_core.models.catalog import ModelCatalog
from grasp_core.runs.parts import TaskParts

GRAPH = {
    "nodes": {"n": {"node_type": "lambda", "lambda": "builtins.len", "output_keys": "x"}},
    "edges": [{"from": "START", "to": "n"}, {"from": "n", "to": "END"}],
}


def parts_for(folder: Path, data: dict[str, Any], **options: Any) -> TaskParts:
    task = Task.from_dict({"data_config": data, "graph_config": GRAPH}, task_dir=folder)
    return TaskParts(task, RunOptions(**options), ModelCatalog())


def total_of(parts: TaskParts) -> int | None:
    """What the progress display shows as the total."""
    known = parts.total()
    if parts.task.config.data_config.source is None:
        return known
    count = parts.counter(parts.source())
    assert count is not None
    return count()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    lines = [json.dumps({"id": f"r{i}", "text": str(i)}) for i in range(10)]
    (tmp_path / "ten.jsonl").write_text("\n".join(lines) + "\n\n", encoding="utf-8")
    (tmp_path / "three.jsonl").write_text("".join(line + "\n" for line in lines[:3]))
    (tmp_path / "ten.csv").write_text("id\n" + "".join(f"r{i}\n" for i in range(10)))
    (tmp_path / "checks.py").write_text("def keep(record):\n    return True\n")
    return tmp_path


SOURCE = {"type": "disk", "file_path": "ten.jsonl"}
SKIP_ENDS = {"transform": "skip_records", "params": {"count": {"from_start": 2, "from_end": 1}}}
RENAME = {"transform": "rename_fields", "params": {"mapping": {"text": "body"}}}
SAMPLE_4 = {"transform": "sample", "params": {"n": 4}}
SAMPLE_HALF = {"transform": "sample", "params": {"fraction": 0.5}}
FILTER = {"transform": "filter", "params": {"predicate": "checks.keep"}}
THREE = {"type": "disk", "file_path": "three.jsonl"}


@pytest.mark.parametrize(
    ("data", "options", "total"),
    [
        ({"source": SOURCE}, {}, 10),
        ({"source": SOURCE, "start_index": 3, "num_records": 4}, {}, 4),
        ({"source": SOURCE}, {"start_index": 8, "num_records": 5}, 2),
        ({"source": SOURCE}, {"start_index": 20}, 0),
        ({"source": {**SOURCE, "transformations": [SKIP_ENDS, RENAME]}}, {}, 7),
        ({"source": {**SOURCE, "transformations": [SKIP_ENDS]}, "num_records": 3}, {}, 3),
        ({"source": {**SOURCE, "transformations": [SAMPLE_4]}}, {}, 4),
        (
            {
                "source": [
                    {**SOURCE, "alias": "a", "join_type": "vstack"},
                    {**THREE, "alias": "b", "join_type": "vstack"},
                ]
            },
            {},
            13,
        ),
        ({"num_records": 6}, {}, 6),
        ({"num_records": 6}, {"num_records": 2}, 2),
    ],
)
def test_the_total_follows_transforms_and_the_window(
    folder: Path, data: dict[str, Any], options: dict[str, Any], total: int
) -> None:
    """Lines of a JSONL file, less what skip_records drops, within start/limit (a data-less
    run: its record count); each equals the records the run reads."""
    parts = parts_for(folder, data, **options)
    assert total_of(parts) == total
    if data.get("source") is not None:
        assert len(list(parts.items(parts.source()))) == total


@pytest.mark.parametrize(
    "source",
    [
        {**SOURCE, "transformations": [FILTER]},
        {**SOURCE, "transformations": [SAMPLE_HALF]},
        {"type": "disk", "file_path": "ten.csv"},
    ],
    ids=["filter", "sample-fraction", "csv"],
)
def test_the_total_is_unknown_where_a_step_cannot_tell(
    folder: Path, source: dict[str, Any]
) -> None:
    """A filter or a sample by fraction depends on the records, and counting CSV rows is not
    cheap: the total is unknown (None), not a guess."""
    assert total_of(parts_for(folder, {"source": source})) is None
