"""Ids of unreadable or duplicate source lines never collide with real ids."""

from __future__ import annotations

import json
from pathlib import Path

from grasp_core import RunOptions, run_task
from tests.conftest import copy_task_yaml, write_task

TASK = copy_task_yaml()


def test_bad_line_id_does_not_shadow_a_real_record_on_resume(tmp_path: Path) -> None:
    """Regression (failed on HEAD): a bad source line gets its position as record id (disk.py
    _to_item), which can equal a real record's id; once that id is journaled as failed, a resume
    skips the real record, and it is never written.
    """
    rows = json.dumps({"id": 3}) + "\n" + "{not json\n" + json.dumps({"id": 1}) + "\n"
    task = write_task(
        tmp_path,
        TASK,
        {"data.jsonl": rows, "steps.py": "def copy(state):\n    return state['id']\n"},
    )
    first = run_task(task, RunOptions(num_records=2))  # a run stopped after two records
    assert (first.done, first.failed) == (1, 1)
    run_task(task, RunOptions(resume=True))
    out = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert sorted(r["copied"] for r in out) == [1, 3]
