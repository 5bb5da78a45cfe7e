"""The synchronous entry points refuse to start an event loop inside a running one (a
Jupyter cell, an async function) with a `GraspError` that says to `await run_task_async`,
under asyncio and trio; `run_task_async` there runs the task."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import trio

import grasp_core
from grasp_core import RunOptions, run_task, run_task_async
from grasp_core.errors import GraspError
from tests.conftest import copy_task_yaml, write_task


def task(folder: Path) -> Path:
    steps = {"data.jsonl": '{"id": 1}\n{"id": 2}\n', "steps.py": "def copy(state):\n    return 1\n"}
    return write_task(folder, copy_task_yaml(), steps)


def asyncio_run(function: Callable[[], Any]) -> Any:
    return asyncio.run(function())


@pytest.mark.parametrize("loop", [asyncio_run, trio.run], ids=["asyncio", "trio"])
@pytest.mark.parametrize(
    ("function", "call"),
    [
        ("run_task", lambda path: run_task(path, RunOptions())),
        ("run", lambda path: grasp_core.run(path)),
    ],
)
def test_the_sync_entry_points_refuse_a_running_loop(
    tmp_path: Path,
    loop: Callable[[Any], Any],
    function: str,
    call: Callable[[Path], Any],
) -> None:
    """Inside a running loop, `run_task()` and `grasp_core.run()` raise a GraspError naming
    themselves and `await run_task_async(...)`, and run nothing."""
    path = task(tmp_path)

    async def in_a_notebook_cell() -> None:
        call(path)

    with pytest.raises(GraspError) as caught:
        loop(in_a_notebook_cell)
    assert str(caught.value).startswith(f"{function}() starts its own event loop")
    assert "use `await run_task_async(task, options)` instead" in str(caught.value)
    assert not (tmp_path / "out.jsonl").exists()


def test_run_task_async_runs_in_the_callers_loop(tmp_path: Path) -> None:
    """What the error advises works in the same place."""
    path = task(tmp_path)

    async def in_a_notebook_cell() -> int:
        return (await run_task_async(path, RunOptions())).done

    assert asyncio.run(in_a_notebook_cell()) == 2
