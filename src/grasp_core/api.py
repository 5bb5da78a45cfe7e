"""The Python API's entry points: ``run``, ``run_task`` and ``run_task_async``.

This is the one place that chooses the executor: the local one (``grasp_core.runs``) or
Ray's (``grasp_core.executors.ray``, imported only when asked for).
"""

from __future__ import annotations

import dataclasses
import difflib
from pathlib import Path
from typing import Any, Literal

import anyio
import anyio.to_thread

from grasp_core.config.task_file import Task
from grasp_core.errors import ConfigError, GraspError
from grasp_core.logs import default_logging
from grasp_core.runs import (
    RunOptions,
    RunResult,
    TaskRun,
    catalog_for,
    load_task,
    mock_server_for,
)
from grasp_core.runs.sink_suffixes import warn_on_sink_suffixes

__all__ = ["run", "run_task", "run_task_async"]


def run(task: Task | str | Path, /, **options: Any) -> RunResult:
    """Run ``task`` with the given :class:`RunOptions` fields and return its result::

        ds = grasp_core.run("task.yaml", mock=True, num_records=100).to_dataset()

    Progress stays off unless ``progress=True``; for an event loop of your own, use
    ``run_task_async``.
    """
    _refuse_a_running_event_loop("run")
    known = {f.name for f in dataclasses.fields(RunOptions)}
    for name in options:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"run() got an unknown option {name!r}{hint}")
    return run_task(task, RunOptions(**options))


def run_task(
    task: Task | str | Path,
    options: RunOptions | None = None,
    *,
    backend: Literal["asyncio", "trio"] = "asyncio",
) -> RunResult:
    """Run a task from synchronous code (starts its own event loop; inside one already
    running, in Jupyter or an async function, use ``await run_task_async(...)``)."""
    _refuse_a_running_event_loop("run_task")
    if options is not None and options.executor == "ray":
        from grasp_core.executors.ray import run_on_ray

        return run_on_ray(task, options)  # in this thread, so Ctrl-C reaches the driver

    async def main() -> RunResult:
        return await run_task_async(task, options)

    return anyio.run(main, backend=backend)


async def run_task_async(task: Task | str | Path, options: RunOptions | None = None) -> RunResult:
    """Run a task inside the caller's event loop (asyncio or trio)."""
    options = options or RunOptions()
    default_logging()
    if options.executor == "ray":
        from grasp_core.executors.ray import run_on_ray

        return await anyio.to_thread.run_sync(run_on_ray, task, options)
    loaded = load_task(task, options)
    warn_on_sink_suffixes(loaded)  # here, not in TaskRun: a Ray run warns in its driver
    with mock_server_for(options.mock) as mock_url:
        catalog = catalog_for(loaded, options, mock_url)
        return await TaskRun(loaded, options, catalog).execute()


def _refuse_a_running_event_loop(function: str) -> None:
    """Refuse to start an event loop inside a running one (a Jupyter cell, an async
    function), where anyio would only say "Already running asyncio in this thread"."""
    try:
        anyio.get_current_task()
    except RuntimeError:  # no event loop runs in this thread: the caller may start one
        return
    raise GraspError(
        f"{function}() starts its own event loop, and one is already running in this thread "
        "(a Jupyter notebook, an async function): use `await run_task_async(task, options)` "
        "instead"
    )
