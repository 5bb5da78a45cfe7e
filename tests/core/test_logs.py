"""A run from Python prints warnings, not info lines, unless the application set up logging."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import structlog

from grasp_core import RunOptions, run_task
from tests.conftest import copy_task_yaml, write_task

STEPS = """
def copy(state):
    if state["text"] == "bad":
        raise ValueError("bad record")
    return state["text"]
"""


def run_one_failing(tmp_path: Path) -> None:
    data = "".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in enumerate(["ok", "bad"]))
    task = write_task(tmp_path, copy_task_yaml(), {"data.jsonl": data, "steps.py": STEPS})
    result = run_task(task, RunOptions())
    assert (result.done, result.failed) == (1, 1)


def test_unconfigured_logging_shows_warnings_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_one_failing(tmp_path)
    structlog.get_logger("test").info("an info line nobody asked for")
    captured = capsys.readouterr()
    assert "record failed" in captured.err
    assert "an info line nobody asked for" not in captured.out + captured.err


def test_an_applications_own_logging_is_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    structlog.configure(processors=[structlog.processors.KeyValueRenderer()])
    run_one_failing(tmp_path)
    structlog.get_logger("test").info("the application wants this")
    assert "the application wants this" in capsys.readouterr().out
