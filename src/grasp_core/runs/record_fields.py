"""The fields of a dataset's records, for commands that check them before working
(``grasp tag``, ``grasp filter``): finding a dotted path, listing the paths records have, and
naming the nearest one to a misspelt path.

Values stored as JSON text (CSV cells hold ``{"overall": 5}`` as text) are read through, so
a CSV that GraSP wrote has the same paths as its JSONL.
"""

from __future__ import annotations

import difflib
import itertools
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from grasp_core.engine.output import MISSING, lookup
from grasp_core.runs.dataset_files import open_source

__all__ = ["MAX_PATHS", "did_you_mean", "field_list", "find", "first_records", "paths_of"]

MAX_PATHS = 10_000
"""Most paths :func:`paths_of` collects: enough to suggest from, bounded for wide records."""
_MAX_DEPTH = 8


def find(record: Mapping[str, Any], path: str) -> Any:
    """The value at dotted ``path`` (list positions are numbers), reading through nested
    values stored as JSON text; ``MISSING`` when there is none."""
    found = lookup(record, path)
    if found is not MISSING:
        return found
    current: Any = record
    for part in path.split("."):
        current = _container(current)
        found = lookup(current, part) if isinstance(current, Mapping) else MISSING
        if isinstance(current, list) and part.isdigit() and int(part) < len(current):
            found = current[int(part)]
        if found is MISSING:
            return MISSING
        current = found
    return current


def paths_of(records: Iterable[Mapping[str, Any]], limit: int = MAX_PATHS) -> set[str]:
    """The dotted paths ``records`` hold: every key, nested keys joined by dots, and the
    first item of each list (``conversation.0.role``); at most ``limit`` of them."""
    found: set[str] = set()
    for record in records:
        _collect(record, "", 0, found, limit)
    return found


def did_you_mean(path: str, candidates: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` with the candidate nearest to ``path``, or ``""``."""
    close = difflib.get_close_matches(path, sorted(candidates), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def field_list(paths: Iterable[str], most: int = 12) -> str:
    """The top-level fields among ``paths``, for a message: ``id, quality, text``."""
    return ", ".join(sorted(p for p in paths if "." not in p)[:most]) or "none"


def first_records(
    block: dict[str, Any], base_dir: Path, count: int, *, start: int = 0
) -> list[dict[str, Any]]:
    """The first ``count`` readable records of the source ``block`` describes, from
    position ``start`` (unreadable ones are skipped: a run reports them)."""
    items = open_source(block, base_dir).iter_records(start=start)
    readable = (item.data for item in items if item.error is None)
    return list(itertools.islice(readable, count))


def _collect(
    value: Mapping[str, Any], prefix: str, depth: int, found: set[str], limit: int
) -> None:
    for key, item in value.items():
        if len(found) >= limit:
            return
        path = f"{prefix}{key}"
        found.add(path)
        inner = _container(item)
        if depth >= _MAX_DEPTH:
            continue
        if isinstance(inner, list) and inner:
            found.add(f"{path}.0")
            inner = _container(inner[0])
            path = f"{path}.0"
        if isinstance(inner, Mapping):
            _collect(inner, f"{path}.", depth + 1, found, limit)


def _container(value: Any) -> Any:
    """``value``, or the object or list its JSON text holds."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
