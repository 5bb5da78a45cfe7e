"""A finished run's ``NAME.summary.json`` and ``NAME.metrics.json``, written the same way
by every executor."""

from __future__ import annotations

import json

from grasp_core.engine.storage import write_atomically
from grasp_core.runs.monitor import RunMonitor
from grasp_core.runs.result import RunResult

__all__ = ["write_summary"]

_RECORD_COUNTS = frozenset(
    {
        "done",
        "failed",
        "filtered",
        "previously_finished",
        "finished_total",
        "failed_total",
        "interrupted",
        "seconds",
    }
)


def write_summary(result: RunResult, monitor: RunMonitor) -> None:
    """Write the summary (counts, outputs, failure reasons, metrics) atomically, then the
    metrics file through ``monitor``."""
    summary = {
        "task": result.task,
        "done": result.done,
        "failed": result.failed,
        "filtered": result.filtered,
        "previously_finished": result.previously_done,
        "finished_total": result.finished_total,
        "failed_total": result.failed_total,
        "interrupted": result.interrupted,
        "seconds": round(result.seconds, 3),
        "outputs": [str(p) for p in result.output_paths],
        "unfinished_outputs": [str(p) for p in result.unfinished_outputs],
        "failure_reasons": result.failure_reasons,
        **result.metrics,
    }
    write_atomically(result.summary_path, json.dumps(summary, indent=2))
    records = {k: v for k, v in summary.items() if k in _RECORD_COUNTS}
    monitor.write_metrics(
        {**records, "stopped_by_budget": result.stopped_by_budget}, result.metrics
    )
