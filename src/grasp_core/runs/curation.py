"""A finished run's post-process: the task's ``post_process`` steps over its (first) sink's
output, once every record was processed, never for a run that stopped early.

The run's summary is written first, then the steps run and the summary and ``metrics.json``
are written again with a ``post_process`` entry. A post-process starts from scratch each
time and never changes the generation's output, so ``grasp run --resume`` on a finished run
(or ``grasp curate`` on its output) runs the steps again, for instance with other settings:
they are not part of the task's fingerprint.

``grasp_core.postprocess`` is imported when a run has steps to run, not with this module:
most runs have none, and every run imports this module.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import anyio.to_thread

from grasp_core.errors import GraspError, OutputWriteError, PostProcessError
from grasp_core.logs import get_logger
from grasp_core.runs.monitor import RunMonitor
from grasp_core.runs.parts import TaskParts
from grasp_core.runs.result import RunResult
from grasp_core.runs.summary import write_summary

__all__ = ["post_process_run", "post_process_run_sync"]

_log = get_logger(__name__)


async def post_process_run(
    parts: TaskParts,
    result: RunResult,
    monitor: RunMonitor,
    *,
    seed: int = 0,
    stop: Callable[[], bool] | None = None,
    provenance: Mapping[str, Any] | None = None,
) -> None:
    """Run the task's steps over ``result``'s output (in a worker thread, so steps can
    await the run's model clients) and add their counts to the summary and metrics."""
    if not _wanted(parts, result):
        return
    summary = await anyio.to_thread.run_sync(
        functools.partial(
            _curate, parts, result, seed=seed, stop=stop, from_loop=True, provenance=provenance
        )
    )
    result.metrics["post_process"] = summary
    await anyio.to_thread.run_sync(write_summary, result, monitor)


def post_process_run_sync(parts: TaskParts, result: RunResult, monitor: RunMonitor) -> None:
    """:func:`post_process_run` for a caller without an event loop (the Ray driver)."""
    if not _wanted(parts, result):
        return
    result.metrics["post_process"] = _curate(parts, result, seed=parts.options.seed or 0)
    write_summary(result, monitor)


def _wanted(parts: TaskParts, result: RunResult) -> bool:
    config = parts.task.config
    if not (config.post_process or config.graph_post_process) or not parts.options.post_process:
        return False
    if result.interrupted:
        _log.warning("the run stopped early: its post-process steps did not run")
        return False
    return True


def _curate(
    parts: TaskParts,
    result: RunResult,
    *,
    seed: int,
    stop: Callable[[], bool] | None = None,
    from_loop: bool = False,
    provenance: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    from grasp_core.postprocess import CurationTarget, curate, read_output, task_steps

    layout, task = parts.layout, parts.task
    block, _path = next(iter(layout.sink_blocks.values()))
    output_format = layout.output_format
    if output_format is None:
        raise PostProcessError(
            f"the post-process steps cannot read the output back: the {block['type']!r} sink "
            "is not one of jsonl, json, csv, parquet, hf. Make one of those the first sink"
        )
    paths = next(iter(result.sink_paths.values()), [])
    if not paths:
        _log.warning("the run wrote no output: its post-process steps did not run")
        return {"skipped": "the run wrote no output"}
    id_column = task.config.data_config.id_column
    try:
        curated = curate(
            read_output(paths, output_format, id_column),
            task_steps(task),
            CurationTarget.beside_run_output(block, paths[0]),
            base_dir=task.task_dir,
            seed=seed,
            id_column=id_column,
            models=parts.catalog,
            metadata={"output_file": str(paths[0]), "task_name": task.name},
            stop=stop,
            from_loop=from_loop,
            provenance=provenance,
        )
    except OutputWriteError:
        raise
    except GraspError as exc:
        raise PostProcessError(
            f"{exc}. The run itself finished: its output {str(paths[0])!r} is complete and "
            "unchanged; fix the step, then run the steps again with `grasp run TASK --resume`"
        ) from exc
    return curated.summary()
