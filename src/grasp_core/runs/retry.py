"""Run a task again on only the records its last run failed.

A resume never retries a failed record (the journal says it is finished), and the first
run's files stay as they are: the retry is a run of its own, over the same source, that
keeps only the failed ids and writes under ``NAME.retry/`` beside the first run's output
(the same relative sink paths, its own journal and failures file). Compare it with the
first run, or merge its output in with ``grasp filter``/your own tools.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

from grasp_core.config.task_file import Task
from grasp_core.errors import ConfigError
from grasp_core.protocols import SourceItem
from grasp_core.runs.catalog import catalog_for, mock_server_for
from grasp_core.runs.failure_groups import failed_ids
from grasp_core.runs.hooks import RunHooks
from grasp_core.runs.layout import RunLayout
from grasp_core.runs.local import TaskRun
from grasp_core.runs.options import RunOptions
from grasp_core.runs.parts import load_task
from grasp_core.runs.result import RunResult

__all__ = ["OnlyRecords", "retry_dir", "retry_failures"]


class OnlyRecords(RunHooks):
    """Process only the records whose ids are in ``ids``."""

    def __init__(self, ids: set[str]) -> None:
        self.ids = ids

    def items(self, items: Iterator[SourceItem], *, data_less: bool) -> Iterator[SourceItem]:
        return (item for item in items if str(item.record_id) in self.ids)


def retry_dir(task: Task, options: RunOptions | None = None) -> Path:
    """The folder a retry of ``task``'s run writes under: ``NAME.retry`` beside its output."""
    layout = RunLayout.of(task, (options or RunOptions()).output_dir)
    return layout.stem.with_name(layout.stem.name + ".retry")


async def retry_failures(task: Task | str | Path, options: RunOptions | None = None) -> RunResult:
    """Run ``task`` again on the records its run (at ``options.output_dir``) failed, writing
    under :func:`retry_dir` (an earlier retry there is replaced). ``options`` are the run's
    (``mock``, ``models``...); the source window is not applied again."""
    options = options or RunOptions()
    loaded = load_task(task, options)
    failures = RunLayout.of(loaded, options.output_dir).failures_path
    ids = failed_ids(failures)
    if not ids:
        raise ConfigError(
            f"{str(failures)!r} lists no failed record to run again (unreadable input "
            "cannot be retried: fix the source)"
        )
    again = dataclasses.replace(
        options,
        output_dir=retry_dir(loaded, options),
        overwrite=True,
        resume=False,
        num_records=None,
        start_index=None,
    )
    with mock_server_for(again.mock) as mock_url:
        catalog = catalog_for(loaded, again, mock_url)
        return await TaskRun(loaded, again, catalog, hooks=OnlyRecords(ids)).execute()
