"""Watching a run from outside its process: the progress file every run keeps beside its
journal, and :func:`run_status`, which reads it (with the journal, the lock and the summary).

``NAME.progress.json`` is rewritten whole (through a temporary file) about once a second while
the run works, and a last time when it ends. It holds the progress counters (records done,
failed and in flight, rate, ETA, tokens, cost...) and the metrics so far (per model and node:
calls, retries, errors by kind such as 429, truncated replies, latency percentiles). So a run
started by ``grasp run`` in a terminal can be watched by GraSP Studio or a script, as one the
Studio started."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import anyio

from grasp_core.config.task_file import Task
from grasp_core.engine.storage import write_atomically
from grasp_core.logs import get_logger
from grasp_core.observe.metrics import RunMetrics
from grasp_core.observe.progress import ProgressSnapshot
from grasp_core.runs.layout import RunLayout
from grasp_core.runs.lock import RunLock

__all__ = ["PROGRESS_INTERVAL", "ProgressFile", "RunState", "RunStatus", "run_status"]

PROGRESS_INTERVAL = 1.0
"""Seconds between two writes of the progress file, at the least."""
_MOST_TIME = 0.02
"""The most of the event loop's time the progress file may take: summing the metrics sorts
every call's latency, so a run of millions of calls writes it less often."""
_log = get_logger(__name__)

RunState = Literal["none", "running", "stopped", "finished", "died"]
"""``none``: never run here; ``running``: a process holds the run's lock; ``stopped``:
interrupted (Ctrl-C, a budget), resumable; ``finished``; ``died``: killed or crashed
mid-run (resumable too)."""


class ProgressFile:
    """Writes ``path`` every ``interval`` seconds until cancelled, then once more (final).
    A write that fails (a full disk) is skipped: watching never stops a run. When a write
    takes long (the metrics of a huge run), the next waits longer, so the file never costs
    the run more than 2% of its event loop's time."""

    def __init__(
        self,
        path: Path,
        read: Callable[[float], ProgressSnapshot],
        metrics: RunMetrics,
        *,
        interval: float = PROGRESS_INTERVAL,
    ) -> None:
        self.path = path
        self.read = read
        self.metrics = metrics
        self.interval = interval
        self.started = time.monotonic()

    async def run(self) -> None:
        try:
            while True:
                started = time.perf_counter()
                self._write(final=False)
                spent = time.perf_counter() - started
                await anyio.sleep(max(self.interval, spent / _MOST_TIME))
        finally:
            self._write(final=True)

    def _write(self, *, final: bool) -> None:
        body = {
            "v": 1,
            "pid": os.getpid(),
            "updated": time.time(),
            "final": final,
            "progress": self.read(time.monotonic() - self.started).as_fields(),
            "metrics": self.metrics.summary(),
        }
        try:
            write_atomically(self.path, json.dumps(body))
        except Exception as exc:
            _log.debug("the progress file was not written", path=str(self.path), error=str(exc))


@dataclass(frozen=True, slots=True)
class RunStatus:
    """Where a task's run stands, as read from its files."""

    state: RunState
    output: Path
    """The run's (first) output: the journal, progress and summary are beside it."""
    progress: dict[str, Any] | None
    """The last progress counters written (``ProgressSnapshot`` fields), if any."""
    metrics: dict[str, Any] | None
    """Per model and node so far (the progress file's), else the finished run's summary's."""
    summary: dict[str, Any] | None
    """The summary of the last run that ended here (``NAME.summary.json``)."""
    journal: dict[str, int]
    """Records the journal holds as ``done`` and ``failed`` (every run of it so far)."""
    updated: float | None
    """When the progress file was last written (seconds since the epoch)."""
    pid: int | None
    """The process of the run that wrote the progress file."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "output": str(self.output),
            "progress": self.progress,
            "metrics": self.metrics,
            "summary": self.summary,
            "journal": self.journal,
            "updated": self.updated,
            "pid": self.pid,
        }


def run_status(task: Task | str | Path, /, *, output_dir: Path | str | None = None) -> RunStatus:
    """Where the run of ``task`` (writing under ``output_dir``, default the task's folder)
    stands: running, stopped, finished..., with its latest counters. Reads files only."""
    loaded = task if isinstance(task, Task) else Task.load(task)
    layout = RunLayout.of(loaded, output_dir)
    progress_file = _read_json(layout.progress_path) or _shards_progress(layout)
    summary = _read_json(layout.summary_path)
    journal = journal_counts(layout.journal_path)
    running = RunLock.held(layout.lock_path)
    state: RunState
    if running:
        state = "running"
    elif progress_file is not None and not progress_file.get("final"):
        state = "died"
    elif summary is not None:
        state = "stopped" if summary.get("interrupted") else "finished"
    elif journal["done"] or journal["failed"] or layout.journal_path.is_file():
        state = "died"
    else:
        state = "none"
    progress = progress_file.get("progress") if progress_file else None
    metrics = progress_file.get("metrics") if progress_file else None
    if metrics is None and summary is not None:
        metrics = {k: summary.get(k) for k in ("totals", "models", "nodes")}
    return RunStatus(
        state=state,
        output=layout.sink_path,
        progress=progress,
        metrics=metrics,
        summary=summary,
        journal=journal,
        updated=progress_file.get("updated") if progress_file else None,
        pid=progress_file.get("pid") if progress_file else None,
    )


_SUMMED = (
    "done",
    "failed",
    "filtered",
    "earlier",
    "in_flight",
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
    "cache_hits",
    "cache_misses",
    "saved_usd",
    "rate_per_s",
)


def _shards_progress(layout: RunLayout) -> dict[str, Any] | None:
    """A Ray run's progress: the sum of its shards' progress files. Each shard is an
    ordinary run in ``NAME.shards/shard-NNNNN/`` (the Ray executor's layout; named here, as
    this layer cannot import it), writing ``output.progress.json``. Latency percentiles do
    not add up, so only the counters are given (``metrics`` stays None)."""
    stem = layout.journal_path.name.removesuffix(".journal.jsonl")
    found = [
        data
        for path in sorted(
            layout.journal_path.parent.glob(f"{stem}.shards/shard-*/*.progress.json")
        )
        if (data := _read_json(path)) is not None and isinstance(data.get("progress"), dict)
    ]
    if not found:
        return None
    shards = [data["progress"] for data in found]
    progress: dict[str, Any] = {key: sum(p.get(key) or 0 for p in shards) for key in _SUMMED}
    totals = [p.get("total") for p in shards]
    progress["total"] = None if None in totals else sum(t for t in totals if t is not None)
    left = (progress["total"] or 0) - progress["earlier"] - progress["done"] - progress["failed"]
    rate = progress["rate_per_s"]
    progress["eta_s"] = round(max(0, left) / rate, 1) if progress["total"] and rate > 0 else None
    progress["elapsed_s"] = max(p.get("elapsed_s") or 0 for p in shards)
    progress["shards"] = len(shards)
    return {
        "final": all(data.get("final") for data in found),
        "progress": progress,
        "metrics": None,
        "updated": max(data.get("updated") or 0 for data in found),
        "pid": None,
    }


def journal_counts(path: Path) -> dict[str, int]:
    """Records done and failed in the journal at ``path``, read without changing it (a run
    may be appending: a torn last line is skipped, not cut off)."""
    done: set[str] = set()
    failed: set[str] = set()
    try:
        with path.open("rb") as handle:
            for raw in handle:
                if not raw.endswith(b"\n") or b"record_" not in raw:
                    continue
                try:
                    event = json.loads(raw)
                except ValueError:
                    continue
                if event.get("e") == "record_done":
                    done.update(event.get("ids", []))
                elif event.get("e") == "record_failed":
                    failed.update(f.get("id") for f in event.get("failures", []))
    except OSError:
        pass  # no journal yet
    return {"done": len(done), "failed": len(failed - done)}


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
