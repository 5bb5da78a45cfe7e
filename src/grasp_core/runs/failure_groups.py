"""A run's failures (``NAME.failures.jsonl``) grouped by node and reason, each group with
the records that failed so and their inputs: what to look at first when a run fails."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["FailureGroup", "failed_ids", "failure_groups", "reason_pattern"]

_PREFIX = re.compile(r"^record '(?:[^'\\]|\\.)*'(?:, node '[^']*')?: ")
_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
_NUMBER = re.compile(r"(?<![A-Za-z_])\d+(?:\.\d+)?")


@dataclass
class FailureGroup:
    """The records that failed at one node for one reason."""

    node: str | None
    """The failing node; ``None`` for a record that failed outside any node (unreadable
    input, an output that could not be shaped or written)."""
    reason: str
    """The reason with the record's own values masked (:func:`reason_pattern`)."""
    count: int = 0
    records: list[dict[str, Any]] = field(default_factory=list)
    """The first records of the group: ``id``, ``error`` (the message) and ``input``."""

    def to_json(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "reason": self.reason,
            "count": self.count,
            "records": self.records,
        }


def failure_groups(failures: Path, *, sample: int = 20) -> list[FailureGroup]:
    """The groups of ``failures``, the largest first; each keeps its first ``sample``
    records. A record that failed again (a later run of the journal) counts once, under its
    last failure."""
    latest: dict[str, dict[str, Any]] = {}
    for entry in _entries(failures):
        key = str(entry.get("id"))
        latest.pop(key, None)  # its last failure, in the order it was last written
        latest[key] = entry
    groups: dict[tuple[str | None, str], FailureGroup] = {}
    for record_id, entry in latest.items():
        node = entry.get("node")
        reason = reason_pattern(str(entry.get("reason") or "unknown"))
        group = groups.setdefault(
            (node if isinstance(node, str) else None, reason),
            FailureGroup(node if isinstance(node, str) else None, reason),
        )
        group.count += 1
        if len(group.records) < sample:
            group.records.append(
                {
                    "id": record_id,
                    "error": entry.get("error"),
                    "reason": entry.get("reason"),
                    "input": entry.get("input"),
                    "unreadable": bool(entry.get("unreadable")),
                }
            )
    return sorted(groups.values(), key=lambda g: (-g.count, g.node or "", g.reason))


def reason_pattern(reason: str) -> str:
    """``reason`` without the ``record 'ID', node 'NODE': `` prefix and with quoted text
    and numbers masked, so that records failing the same way share one group:
    ``ValueError: no multiples of three: 3`` → ``ValueError: no multiples of three: #``."""
    text = _PREFIX.sub("", reason, count=1)
    return _NUMBER.sub("#", _QUOTED.sub("'…'", text))


def failed_ids(failures: Path) -> set[str]:
    """The ids of the records in ``failures`` that can be run again (not unreadable input)."""
    return {str(entry["id"]) for entry in _entries(failures) if not entry.get("unreadable")}


def _entries(failures: Path) -> list[dict[str, Any]]:
    if not failures.is_file():
        return []
    entries: list[dict[str, Any]] = []
    with failures.open("rb") as handle:
        for raw in handle:
            try:
                entry = json.loads(raw)
            except ValueError:
                continue  # a torn last line: the run was killed mid-write
            if isinstance(entry, dict) and "id" in entry:
                entries.append(entry)
    return entries
