"""Where a post-process reads and writes: a finished output read back through GraSP's own
source for its format, and the curated output written by the same sink type beside it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grasp_core import registry
from grasp_core.config import validate_block
from grasp_core.protocols import Sink, SourceItem

__all__ = ["CurationTarget", "open_sink", "read_output"]

_CURATED = ".curated"
_REMOVED = ".removed.jsonl"
_NOT_COPIED = frozenset({"file_path", "alias", "push_to_hub", "repo_id"})
"""Sink keys the curated output does not take from the run's sink: its own path, and the
hub upload (the curated dataset is written locally; push it when you are happy with it)."""


@dataclass(frozen=True)
class CurationTarget:
    """The files a post-process writes: the curated dataset (``sink_block``'s type and
    options at ``output``), the removal report and the steps' files named from ``stem``."""

    output: Path
    sink_block: dict[str, Any]
    stem: Path
    """``output`` without its suffixes: ``NAME`` in ``NAME.removed.jsonl``."""

    @classmethod
    def beside_run_output(cls, sink_block: dict[str, Any], output: Path) -> CurationTarget:
        """``NAME.curated.jsonl`` (the run's sink type, suffix and options) beside a run's
        ``NAME.jsonl``; ``NAME.curated`` beside an ``hf`` dataset folder ``NAME``."""
        stem = output.with_suffix("") if output.suffix else output
        curated = stem.with_name(stem.name + _CURATED + output.suffix)
        return cls(curated, _curated_block(sink_block), stem)

    @classmethod
    def at(cls, sink_block: dict[str, Any], output: Path) -> CurationTarget:
        """Exactly ``output`` (``grasp curate --output``); ``OUT.removed.jsonl`` beside it."""
        stem = output.with_suffix("") if output.suffix else output
        return cls(output, _curated_block(sink_block), stem)

    @property
    def removed_path(self) -> Path:
        return self.beside(_REMOVED)

    def beside(self, suffix: str) -> Path:
        """``NAME`` + ``suffix``, in the output's folder."""
        return self.stem.with_name(self.stem.name + suffix)


def _curated_block(block: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in block.items() if key not in _NOT_COPIED}


def open_sink(block: dict[str, Any], path: Path) -> Sink:
    """The sink ``block`` describes (its type and options), writing ``path``."""
    kind = registry.sinks.get(str(block["type"]))
    full = {**block, "file_path": str(path)}
    config = validate_block(kind.config_model, full, path=("sink",), document=None)
    sink: Sink = kind.from_config(config, path.parent)
    return sink


def read_output(
    paths: Sequence[Path], output_format: str | None, id_column: str | None = None
) -> Iterator[SourceItem]:
    """The records of a finished output, in order: the ``disk`` source for a file format
    (``None``: inferred from each file's name), the ``hf`` source for a dataset folder. The
    one way GraSP reads an output back (a run's result and a post-process alike)."""
    for path in paths:
        block: dict[str, Any]
        if output_format == "hf":
            block = {"type": "hf", "repo_id": str(path)}
        else:
            block = {"type": "disk", "file_path": str(path), "file_format": output_format}
        kind = registry.sources.get(block["type"])
        fields = kind.config_model.model_fields
        if id_column is not None and "id_column" in fields:
            block["id_column"] = id_column
        config = validate_block(kind.config_model, block, path=("source",), document=None)
        yield from kind.from_config(config, path.parent).iter_records()
