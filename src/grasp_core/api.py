"""``grasp_core.run``: one call from a task to its dataset."""

from __future__ import annotations

import dataclasses
import difflib
from pathlib import Path
from typing import Any

from grasp_core.errors import ConfigError
from grasp_core.runner import RunOptions, RunResult, run_task
from grasp_core.task import Task

__all__ = ["run"]


def run(task: Task | str | Path, /, **options: Any) -> RunResult:
    """Run ``task`` with the given :class:`RunOptions` fields and return its result::

        ds = grasp_core.run("task.yaml", mock=True, num_records=100).to_dataset()

    Progress stays off unless ``progress=True``; for an event loop of your own, use
    ``run_task_async``.
    """
    known = {f.name for f in dataclasses.fields(RunOptions)}
    for name in options:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"run() got an unknown option {name!r}{hint}")
    return run_task(task, RunOptions(**options))
