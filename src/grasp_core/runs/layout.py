"""``RunLayout``: where a run's files go — its sinks, and beside the first one the journal,
failures, summary, metrics and lock files. Executors share it, so a local run and a Ray run
of the same task write the same paths."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grasp_core.config.task_file import Task
from grasp_core.engine import OUTPUT_SINK

__all__ = ["READABLE_FORMATS", "RunLayout", "SinkBlocks"]

READABLE_FORMATS = frozenset({"jsonl", "json", "csv", "parquet", "hf"})
"""Sink types whose output :meth:`RunResult.records` reads back (``hf`` with the hf source)."""

SinkBlocks = dict[str, tuple[dict[str, Any], tuple[str | int, ...]]]
"""Each sink's block and YAML path, by its name in the journal."""


@dataclass(frozen=True)
class RunLayout:
    """The files of one run of ``task``, resolved against its output folder."""

    task_name: str
    output_dir: Path
    sink_blocks: SinkBlocks
    """Each sink's block and YAML path by journal name; the first one names the journal,
    failures, summary and metrics files."""
    sink_path: Path
    """The first sink's target."""

    @classmethod
    def of(cls, task: Task, output_dir: Path | str | None = None) -> RunLayout:
        """The layout of ``task`` writing under ``output_dir`` (default: the task's folder)."""
        folder = Path(output_dir or task.task_dir).resolve()
        data = task.config.data_config
        default = {"type": "jsonl", "file_path": f"output/{task.name}.jsonl"}
        blocks = _sink_blocks(data.sink or default)
        first, _ = next(iter(blocks.values()))
        return cls(task.name, folder, blocks, _target(first, folder, task.name))

    @property
    def stem(self) -> Path:
        """The first sink's path without its suffix: the other files' common prefix."""
        base = self.sink_path
        return base.with_suffix("") if base.suffix else base

    def _beside(self, suffix: str) -> Path:
        return self.stem.with_name(self.stem.name + suffix)

    @property
    def journal_path(self) -> Path:
        return self._beside(".journal.jsonl")

    @property
    def failures_path(self) -> Path:
        return self._beside(".failures.jsonl")

    @property
    def summary_path(self) -> Path:
        return self._beside(".summary.json")

    @property
    def metrics_path(self) -> Path:
        return self._beside(".metrics.json")

    @property
    def progress_path(self) -> Path:
        """The run's live progress, rewritten while it works (``runs.watch``)."""
        return self._beside(".progress.json")

    @property
    def media_dir(self) -> Path:
        """Where media outputs go (``NAME.media/<node>/<sha256>.<ext>``)."""
        return self._beside(".media")

    @property
    def batch_dir(self) -> Path:
        """Where batched models journal their batches (``NAME.batches/ledger.jsonl``)."""
        return self._beside(".batches")

    @property
    def lock_path(self) -> Path:
        return self.journal_path.with_suffix(".lock")

    @property
    def output_format(self) -> str | None:
        """The first sink's type when :meth:`RunResult.records` can read it back."""
        first, _ = next(iter(self.sink_blocks.values()))
        kind = str(first["type"])
        return kind if kind in READABLE_FORMATS else None

    @property
    def ordered(self) -> bool:
        """A sink block asks for source order (``ordered: true``)."""
        return any(block.get("ordered") is True for block, _ in self.sink_blocks.values())

    def sink_paths(self) -> list[Path]:
        """Where each sink writes (its ``file_path`` under the output folder)."""
        return [
            _target(block, self.output_dir, self.task_name)
            for block, _ in self.sink_blocks.values()
        ]


def _target(block: dict[str, Any], folder: Path, task_name: str) -> Path:
    target = Path(str(block.get("file_path", f"output/{task_name}")))
    return target if target.is_absolute() else folder / target


def _sink_blocks(sink: dict[str, Any] | list[dict[str, Any]]) -> SinkBlocks:
    """Sink blocks by journal name: ``output`` for a single sink, each ``alias`` for a list
    (``DataConfig`` checked that aliases are there and unique)."""
    if isinstance(sink, dict):
        return {OUTPUT_SINK: (sink, ("data_config", "sink"))}
    return {
        str(block["alias"]): (block, ("data_config", "sink", index))
        for index, block in enumerate(sink)
    }
