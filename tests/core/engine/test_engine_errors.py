"""Errors from the engine's writer reach the caller as GraSP errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from grasp_core import RunOptions, run_task
from grasp_core.errors import SinkError
from tests.conftest import copy_task_yaml, write_task

TASK = copy_task_yaml("{type: csv, file_path: out.csv}")


def test_sink_error_reaches_the_caller_as_sink_error(tmp_path: Path) -> None:
    """Sink error reaches the caller as sink error."""
    rows = '{"id": 1, "a": 1}\n{"id": 2, "a": 1, "b": 2}\n'
    task = write_task(
        tmp_path, TASK, {"data.jsonl": rows, "steps.py": "def copy(state):\n    return 1\n"}
    )
    with pytest.raises(SinkError):
        run_task(task, RunOptions(batch_size=1, window=1))
