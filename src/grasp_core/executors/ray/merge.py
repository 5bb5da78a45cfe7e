"""Merge the shards' JSON Lines into the task's sinks, through the sinks themselves.

A merge always starts from empty sinks (``restore([])``) and writes every shard's committed
rows, so a merge cut short by a crash is simply redone by the next ``--resume``.

Media outputs (images, audio) sit in each shard's ``output.media/`` folder, and the shard's
rows hold paths relative to the shard folder. Before the rows are merged,
:func:`gather_media` links (or copies) every shard's files into the task's ``NAME.media/``
(content-addressed: the same bytes have the same name, so shards never clash), and
:func:`merge_into` rewrites the paths' first folder, so the merged output's paths resolve.
The shards keep their files: a resumed shard still reads the media its journal names.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from grasp_core.protocols import Sink

__all__ = ["concatenate", "gather_media", "merge_into", "read_rows"]

_BATCH = 1024
_MEDIA_KEYS = frozenset({"path", "type", "size", "duration"})
"""The keys of a stored media entry (``grasp_io.media.store``; ``duration`` for audio)."""


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


def merge_into(
    sinks: dict[str, Sink], parts: list[Path], media: tuple[str, str] | None = None
) -> dict[str, list[Path]]:
    """Write every part's rows into each sink, finalize them, return each sink's files.

    ``media`` is ``(shard_folder, task_folder)``: media entries whose path starts with the
    shard's media folder name get the task's instead."""
    for sink in sinks.values():
        sink.restore([])
    try:
        for part in parts:
            for rows in read_rows(part):
                if media is not None:
                    rows = [_relocated(row, *media) for row in rows]
                for sink in sinks.values():
                    sink.write(rows)
        return {name: sink.finalize() for name, sink in sinks.items()}
    except BaseException:
        for sink in sinks.values():
            sink.close()
        raise


def gather_media(folders: list[Path], target: Path) -> None:
    """Link every file under ``folders`` (shards' media folders) into ``target`` at the same
    relative path, copying where links are not possible; files already there are kept
    (same name, same bytes) and unfinished temporary files (``.*``) are skipped."""
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            if not path.is_file() or path.name.startswith("."):
                continue
            placed = target / path.relative_to(folder)
            if placed.is_file() and placed.stat().st_size == path.stat().st_size:
                continue
            placed.parent.mkdir(parents=True, exist_ok=True)
            temporary = placed.with_name(f".{placed.name}.merging")
            temporary.unlink(missing_ok=True)
            try:
                os.link(path, temporary)
            except OSError:  # another file system, or links not supported
                shutil.copyfile(path, temporary)
            temporary.replace(placed)


def _relocated(value: Any, old: str, new: str) -> Any:
    """``value`` with every media entry's path under folder ``old`` moved under ``new``."""
    if isinstance(value, list):
        return [_relocated(item, old, new) for item in value]
    if not isinstance(value, dict):
        return value
    path = value.get("path")
    if isinstance(path, str) and path.startswith(old + "/") and value.keys() <= _MEDIA_KEYS:
        return {**value, "path": new + path[len(old) :]}
    return {key: _relocated(item, old, new) for key, item in value.items()}


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
