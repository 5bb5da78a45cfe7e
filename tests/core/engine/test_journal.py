"""The journal stores whatever a sink can store."""

from __future__ import annotations

import json
from pathlib import Path

from grasp_core import RunOptions, run_task
from tests.conftest import copy_task_yaml, write_task

TASK = copy_task_yaml()


def test_lone_surrogate_in_node_output_is_journaled(tmp_path: Path) -> None:
    """Regression (failed on HEAD): Journal.append encodes with ensure_ascii=False, so a lone
    surrogate (a truncated emoji escaped in the source JSON) in a node delta raises
    UnicodeEncodeError and fails the record, though the jsonl sink stores it.
    """
    rows = json.dumps({"id": "a", "text": "cut emoji \ud83d"}) + "\n"  # ascii: "\\ud83d"
    task = write_task(
        tmp_path,
        TASK,
        {"data.jsonl": rows, "steps.py": "def copy(state):\n    return state['text']\n"},
    )
    result = run_task(task, RunOptions())
    assert (result.done, result.failed) == (1, 0), result.failure_reasons


def test_lone_surrogate_in_record_id_does_not_crash_the_run(tmp_path: Path) -> None:
    """Regression (failed on HEAD): a record id holding a lone surrogate makes Journal.records_done
    raise in the engine's writer (after the sink write), which crashes the whole run, every
    resume.
    """
    rows = json.dumps({"id": "x\ud83d", "text": "t"}) + "\n" + json.dumps({"id": "b"}) + "\n"
    task = write_task(
        tmp_path,
        TASK.replace("state['text']", "1"),
        {"data.jsonl": rows, "steps.py": "def copy(state):\n    return 1\n"},
    )
    result = run_task(task, RunOptions())
    assert result.done + result.failed == 2
