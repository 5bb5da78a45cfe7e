"""Review annotations: accept, reject, edit or rate a record of an output without changing
the output. They go to ``NAME.annotations.jsonl`` beside it, one JSON object a line,
appended; a record's last line is its annotation (last write wins). ``grasp filter`` reads
them (``--where 'annotation.verdict == "accept"'``) and writes the kept records with their
edits applied.

A line: ``{"id": "r1", "verdict": "accept", "rating": 4, "edit": {"answer": "..."},
"note": "...", "at": "2026-01-01T00:00:00Z"}``; every field but ``id`` and ``at`` may be
``null``.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from grasp_core.errors import ConfigError

__all__ = [
    "ANNOTATION_FIELD",
    "VERDICTS",
    "annotate",
    "annotated_records",
    "annotations_beside",
    "read_annotations",
]

ANNOTATION_FIELD = "annotation"
"""The field a filter sees a record's annotation under (``annotation.verdict``)."""
VERDICTS = ("accept", "reject")
_FIELDS = ("verdict", "rating", "edit", "note")
_WRITE_LOCK = threading.Lock()


def annotations_beside(output: Path) -> Path:
    """``NAME.annotations.jsonl`` beside the output ``NAME.<suffix>`` (or dataset folder)."""
    stem = output.with_suffix("") if output.suffix else output
    return stem.with_name(stem.name + ".annotations.jsonl")


def annotate(
    path: Path,
    record_id: str,
    *,
    verdict: str | None = None,
    rating: int | None = None,
    edit: Mapping[str, Any] | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """Append ``record_id``'s whole annotation to ``path`` (it replaces the earlier one) and
    return it. ``verdict`` is ``accept`` or ``reject``, ``rating`` 1 to 5, ``edit`` the
    fields to replace in the record."""
    if verdict is not None and verdict not in VERDICTS:
        raise ConfigError(f"verdict {verdict!r}: use one of {', '.join(VERDICTS)} (or none)")
    if rating is not None and (isinstance(rating, bool) or rating not in range(1, 6)):
        raise ConfigError(f"rating {rating!r}: use a whole number from 1 to 5 (or none)")
    if note is not None and not isinstance(note, str):
        raise ConfigError(f"note {note!r}: write text")
    if edit is not None and not isinstance(edit, Mapping):
        raise ConfigError(f"edit {edit!r}: give an object of field → new value")
    entry = {
        "id": record_id,
        "verdict": verdict,
        "rating": rating,
        "edit": dict(edit) if edit else None,
        "note": note or None,
        "at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
    }
    line = (json.dumps(entry, ensure_ascii=False) + "\n").encode()
    with _WRITE_LOCK:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)  # one write of one line: an append never interleaves
        finally:
            os.close(fd)
    return entry


def read_annotations(path: Path) -> dict[str, dict[str, Any]]:
    """Each record's annotation (its last line); nothing when there is no file. A line that
    is not a JSON object with an ``id`` is a :class:`ConfigError` naming it."""
    found: dict[str, dict[str, Any]] = {}
    if not path.is_file():
        return found
    with path.open("rb") as handle:
        lines = handle.read().split(b"\n")
    last = len(lines) - 1
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            entry = json.loads(raw)
        except ValueError:
            if number == last + 1:
                continue  # a torn last line (a write cut short): not an annotation yet
            raise ConfigError(
                f"{path}:{number}: not a JSON line; fix or delete that line of the annotations file"
            ) from None
        if not isinstance(entry, dict) or "id" not in entry:
            raise ConfigError(
                f"{path}:{number}: an annotation is an object with an `id`; fix or delete that line"
            )
        found[str(entry["id"])] = {k: entry.get(k) for k in _FIELDS}
    return found


def annotated_records(
    records: Iterable[Mapping[str, Any]],
    annotations: Mapping[str, Mapping[str, Any]],
    id_column: str = "id",
) -> Iterator[dict[str, Any]]:
    """``records`` with their edits applied and their annotation under
    :data:`ANNOTATION_FIELD` (records without one pass unchanged)."""
    for record in records:
        found = annotations.get(str(record.get(id_column)))
        if found is None:
            yield dict(record)
            continue
        edited = {**record, **(found.get("edit") or {})}
        edited[ANNOTATION_FIELD] = {**found, "edited": bool(found.get("edit"))}
        yield edited
