"""``first_records``: the records a run of a task would read first, with their ids — what a
person picks from before trying a task on a few of them (``grasp_core.preview(records=...)``)."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from grasp_core.config.task_file import Task
from grasp_core.models.catalog import ModelCatalog
from grasp_core.protocols import SourceItem
from grasp_core.runs.options import RunOptions
from grasp_core.runs.parts import TaskParts, load_task

__all__ = ["first_records"]


def first_records(
    task: Task | str | Path, /, *, limit: int = 20, **options: Any
) -> list[SourceItem]:
    """The first ``limit`` records of ``task``'s source, after its transforms and within its
    start/limit window (``options`` are :class:`RunOptions` fields: ``start_index``...). A
    data-less task's records are ids with no data. Nothing is called and nothing written."""
    run_options = RunOptions(**options)
    loaded = load_task(task, run_options)
    parts = TaskParts(loaded, run_options, ModelCatalog(mock_url="-"))
    source = parts.source() if loaded.config.data_config.source is not None else None
    return list(itertools.islice(parts.items(source), max(0, limit)))
