"""``RunResult``: what a run did — counts, files written, metrics — and how to read its
output back (records, async records, a ``datasets.Dataset``). The reader of outputs
(``grasp_core.postprocess.output``) is imported when records are read, not by every run."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grasp_core.errors import SinkError
from grasp_core.runs import result_data
from grasp_core.runs.layout import RunLayout

__all__ = ["RunResult"]


@dataclass
class RunResult:
    """What a run did: counts, files written, metrics."""

    task: str
    done: int
    failed: int
    filtered: int
    previously_done: int
    """Records that earlier runs of this journal finished (written, filtered or failed), as
    the journal records them; this run skips them."""
    interrupted: bool
    seconds: float
    output_paths: list[Path]
    failures_path: Path
    journal_path: Path
    summary_path: Path
    metrics: dict[str, Any] = field(default_factory=dict)
    failure_reasons: dict[str, int] = field(default_factory=dict)
    allowed_failures: float | int | None = None
    previously_failed: int = 0
    """Records that failed in earlier runs of this journal (resume does not retry them)."""
    output_format: str | None = None
    """The (first) sink's format (`jsonl`, `json`, `csv`, `parquet`, `hf`); None to infer
    from the name."""
    sink_paths: dict[str, list[Path]] = field(default_factory=dict)
    """Each sink's files by its name (`output` for a single sink, else its `alias`);
    ``output_paths`` lists them all, and :meth:`records` reads the first sink's."""
    stopped_by_budget: bool = False
    """The run stopped early because it reached `max_cost` or `max_tokens` (also
    ``interrupted``); resume with a higher cap to continue."""
    metrics_path: Path | None = None
    """``NAME.metrics.json``: per model and per node calls, tokens, latency, cost."""
    unfinished_outputs: list[Path] = field(default_factory=list)
    """Where an interrupted run's sinks hold what it committed, not finalized yet (a JSON
    array not closed, Parquet parts not merged): a resume finishes them. Empty once the run
    finished; its files are then ``output_paths``."""

    @classmethod
    def build(
        cls,
        layout: RunLayout,
        *,
        done: int,
        failed: int,
        filtered: int,
        previously_done: int,
        interrupted: bool,
        seconds: float,
        sink_paths: dict[str, list[Path]],
        metrics: dict[str, Any],
        previously_failed: int = 0,
        failure_reasons: dict[str, int] | None = None,
        allowed_failures: float | int | None = None,
        stopped_by_budget: bool = False,
        journal_path: Path | None = None,
        failures_path: Path | None = None,
    ) -> RunResult:
        """The one way a run's result is made: paths and output format come from the
        run's ``layout`` (an executor may name another journal or failures path)."""
        return cls(
            task=layout.task_name,
            done=done,
            failed=failed,
            filtered=filtered,
            previously_done=previously_done,
            interrupted=interrupted,
            seconds=seconds,
            output_paths=[path for paths in sink_paths.values() for path in paths],
            sink_paths=sink_paths,
            failures_path=failures_path or layout.failures_path,
            journal_path=journal_path or layout.journal_path,
            summary_path=layout.summary_path,
            metrics=metrics,
            failure_reasons=failure_reasons or {},
            allowed_failures=allowed_failures,
            previously_failed=previously_failed,
            output_format=layout.output_format,
            stopped_by_budget=stopped_by_budget,
            metrics_path=layout.metrics_path,
            unfinished_outputs=layout.sink_paths() if interrupted else [],
        )

    @property
    def paths(self) -> dict[str, Path | list[Path] | None]:
        """Every file the run wrote, by role."""
        return {
            "outputs": list(self.output_paths),
            "failures": self.failures_path,
            "journal": self.journal_path,
            "summary": self.summary_path,
            "metrics": self.metrics_path,
        }

    def aiter_records(self) -> AsyncIterator[dict[str, Any]]:
        """The output records as an async iterator (files are read in a worker thread)."""
        return result_data.aiter_records(self.records())

    def to_dataset(self) -> Any:
        """The output as a `datasets.Dataset` (read by `datasets` from the output files)."""
        return result_data.to_dataset(self._first_sink_paths(), self.output_format)

    def _first_sink_paths(self) -> list[Path]:
        return next(iter(self.sink_paths.values())) if self.sink_paths else self.output_paths

    @property
    def finished_total(self) -> int:
        """Records of the dataset finished so far, by this run and earlier runs of its journal
        (written, filtered or failed)."""
        return self.done + self.failed + self.filtered + self.previously_done

    @property
    def failed_total(self) -> int:
        """Failed records of the whole dataset: this run's and earlier runs'."""
        return self.failed + self.previously_failed

    @property
    def ok(self) -> bool:
        """True when the run finished and the dataset's failures are within the budget."""
        if self.interrupted:
            return False
        budget = self.allowed_failures or 0
        total = self.finished_total
        limit = budget * total if isinstance(budget, float) and budget < 1 else budget
        return self.failed_total <= limit

    def records(self) -> Iterator[dict[str, Any]]:
        """The (first sink's) output records, read lazily through the disk source, or the
        hf source for an ``hf`` sink's dataset folder."""
        from grasp_core.postprocess.output import read_output

        for item in read_output(self._first_sink_paths(), self.output_format):
            if item.error is not None:
                raise SinkError(f"cannot read back the output: {item.error}")
            yield item.data
