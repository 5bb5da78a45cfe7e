"""``first_records``: what a run would read first, to pick records to try."""

from __future__ import annotations

import json
from pathlib import Path

import grasp_core
from tests.conftest import copy_task_yaml, write_task


def test_the_first_records_in_the_run_window(tmp_path: Path) -> None:
    """The source's records with their ids, from ``start_index``, at most ``limit``."""
    rows = "".join(json.dumps({"id": f"r{i}", "n": i}) + "\n" for i in range(10))
    task = write_task(tmp_path, copy_task_yaml(), {"data.jsonl": rows})
    picked = grasp_core.first_records(task, limit=3, start_index=2)
    assert [item.record_id for item in picked] == ["r2", "r3", "r4"]
    assert picked[0].data == {"id": "r2", "n": 2}
    assert grasp_core.first_records(task, limit=0) == []


def test_a_data_less_task_has_ids_without_data(tmp_path: Path) -> None:
    """A data-less task: its first ids, with no data."""
    yaml = copy_task_yaml().replace(
        "  source: {type: disk, file_path: data.jsonl}\n", "  num_records: 4\n"
    )
    task = write_task(tmp_path, yaml)
    picked = grasp_core.first_records(task, limit=2)
    assert [(item.record_id, item.data) for item in picked] == [("0", {}), ("1", {})]
