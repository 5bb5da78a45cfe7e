"""``RunFiles``: a finished (or running) run found by its output file, and the files beside
it — journal, failures, summary, metrics, annotations — named as :class:`RunLayout` names
them. ``find_runs`` lists the runs under a folder (GraSP Studio's workspace)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from grasp_core.config.task_file import Task

__all__ = ["RunFiles", "find_runs"]

_OUTPUT_SUFFIXES = {".jsonl": "jsonl", ".json": "json", ".csv": "csv", ".parquet": "parquet"}
_JOURNAL = ".journal.jsonl"
_SKIPPED = {".git", ".venv", "node_modules", "__pycache__"}


@dataclass(frozen=True)
class RunFiles:
    """The files of one run, named after its (first) output."""

    output: Path
    """The output file, or an ``hf`` dataset folder."""

    @classmethod
    def of(cls, output: Path | str) -> RunFiles:
        return cls(Path(output))

    @classmethod
    def of_task(cls, task: Task, output_dir: Path | str | None = None) -> RunFiles:
        """The files a run of ``task`` writes (its first sink's), as :class:`RunLayout`
        places them."""
        from grasp_core.runs.layout import RunLayout

        return cls(RunLayout.of(task, output_dir).sink_path)

    @property
    def output_format(self) -> str | None:
        """``jsonl``, ``json``, ``csv``, ``parquet`` or ``hf`` (a folder); ``None`` for
        any other file."""
        if self.output.is_dir():
            return "hf"
        return _OUTPUT_SUFFIXES.get(self.output.suffix.lower())

    @property
    def stem(self) -> Path:
        base = self.output
        return base.with_suffix("") if base.suffix else base

    def beside(self, suffix: str) -> Path:
        """``NAME<suffix>`` beside the output (``.journal.jsonl``...)."""
        return self.stem.with_name(self.stem.name + suffix)

    @property
    def journal(self) -> Path:
        return self.beside(_JOURNAL)

    @property
    def failures(self) -> Path:
        return self.beside(".failures.jsonl")

    @property
    def summary(self) -> Path:
        return self.beside(".summary.json")

    @property
    def metrics(self) -> Path:
        return self.beside(".metrics.json")

    @property
    def annotations(self) -> Path:
        """Review annotations (:mod:`grasp_core.runs.annotations`)."""
        return self.beside(".annotations.jsonl")

    def summary_data(self) -> dict[str, Any] | None:
        """The run's summary (``NAME.summary.json``), or ``None`` before the run ends."""
        try:
            data = json.loads(self.summary.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None


def find_runs(folder: Path, depth: int = 6) -> list[RunFiles]:
    """The runs under ``folder``: each journal's output (the summary's first output, else
    the file or dataset folder of the journal's name), sorted by path."""
    found: dict[Path, RunFiles] = {}
    for journal in _journals(folder, depth):
        name = journal.name[: -len(_JOURNAL)]
        output = _output_of(journal.with_name(name))
        if output is not None:
            found[output] = RunFiles(output)
    return [found[path] for path in sorted(found)]


def _journals(folder: Path, depth: int) -> list[Path]:
    if depth < 0:
        return []
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return []
    journals: list[Path] = []
    for entry in entries:
        if entry.name.startswith(".") or entry.name in _SKIPPED or entry.is_symlink():
            continue
        if entry.is_dir():
            journals.extend(_journals(entry, depth - 1))
        elif entry.name.endswith(_JOURNAL):
            journals.append(entry)
    return journals


def _output_of(stem: Path) -> Path | None:
    """The output a journal at ``stem`` + ``.journal.jsonl`` belongs to."""
    try:
        summary = json.loads(stem.with_name(stem.name + ".summary.json").read_text("utf-8"))
    except (OSError, ValueError):
        summary = None
    outputs = summary.get("outputs") if isinstance(summary, dict) else None
    if isinstance(outputs, list) and outputs:
        first = Path(str(outputs[0]))
        if first.exists() and first.parent.resolve() == stem.parent.resolve():
            return stem.parent / first.name
    for suffix in _OUTPUT_SUFFIXES:
        candidate = stem.with_name(stem.name + suffix)
        if candidate.is_file():
            return candidate
    return stem if stem.is_dir() else None
