"""Merge the shards' JSON Lines into the task's sinks, through the sinks themselves.

A merge always starts from empty sinks (``restore([])``) and writes every shard's committed
rows, so a merge cut short by a crash is simply redone by the next ``--resume``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from grasp_core.protocols import Sink

__all__ = ["concatenate", "merge_into", "read_rows"]

_BATCH = 1024


def read_rows(path: Path, batch: int = _BATCH) -> Iterator[list[dict[str, Any]]]:
    """A shard's output rows in batches (lines split on newline bytes only, as written)."""
    if not path.is_file():
        return
    rows: list[dict[str, Any]] = []
    with path.open("rb") as handle:
        for line in handle:
            if line.strip():
                rows.append(json.loads(line))
            if len(rows) >= batch:
                yield rows
                rows = []
    if rows:
        yield rows


def merge_into(sinks: dict[str, Sink], parts: list[Path]) -> dict[str, list[Path]]:
    """Write every part's rows into each sink, finalize them, return each sink's files."""
    for sink in sinks.values():
        sink.restore([])
    try:
        for part in parts:
            for rows in read_rows(part):
                for sink in sinks.values():
                    sink.write(rows)
        return {name: sink.finalize() for name, sink in sinks.items()}
    except BaseException:
        for sink in sinks.values():
            sink.close()
        raise


def concatenate(parts: list[Path], target: Path) -> None:
    """Copy the parts, in order, into ``target`` (replaced atomically)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    with tmp.open("wb") as out:
        for part in parts:
            if part.is_file():
                with part.open("rb") as handle:
                    shutil.copyfileobj(handle, out)
    tmp.replace(target)
