"""``warn_on_sink_suffixes``: a sink whose type and file name disagree (a ``json`` sink, which
writes one JSON array, into ``out.jsonl``) is valid, but whatever reads the file by its name
(a JSON Lines reader, ``grasp tag``, a trainer) then fails on it or misreads it. Said once,
by ``grasp validate`` and at the start of a run."""

from __future__ import annotations

from pathlib import Path

from grasp_core.config.task_file import Task
from grasp_core.config.yaml_source import format_yaml_path
from grasp_core.logs import get_logger
from grasp_core.runs.dataset_files import SINK_SUFFIXES
from grasp_core.runs.layout import RunLayout

__all__ = ["sink_suffix_mismatches", "warn_on_sink_suffixes"]

_log = get_logger(__name__)

_WRITES = {
    "jsonl": "JSON Lines, one object a line",
    "json": "one JSON array",
    "csv": "CSV",
    "parquet": "Parquet",
}
"""What each sink type with a conventional suffix writes."""


def sink_suffix_mismatches(task: Task) -> list[str]:
    """One message per sink whose ``file_path`` ends in another sink type's suffix, with
    the task file, line and YAML path of the ``file_path``."""
    suffix_of = {kind: suffix for suffix, kind in SINK_SUFFIXES.items()}
    messages = []
    for block, path in RunLayout.of(task).sink_blocks.values():
        kind, file_path = str(block.get("type")), block.get("file_path")
        if file_path is None or kind not in suffix_of:
            continue
        suffix = Path(str(file_path)).suffix.lower()
        named = SINK_SUFFIXES.get(suffix)
        if named is None or named == kind:
            continue
        where = (*path, "file_path")
        located = task.document.where(where) if task.document else format_yaml_path(where)
        messages.append(
            f"{located}: a {kind!r} sink writes {_WRITES[kind]}, but its file is named "
            f"{suffix!r} ({_WRITES[named]}); name it {suffix_of[kind]!r}, or use type: {named}"
        )
    return messages


def warn_on_sink_suffixes(task: Task) -> None:
    """Log each of :func:`sink_suffix_mismatches` as a warning."""
    for message in sink_suffix_mismatches(task):
        _log.warning(message)
