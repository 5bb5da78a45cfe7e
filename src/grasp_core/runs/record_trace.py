"""A record's node-by-node trace, read back from its run's journal and failures file.

What the journal holds per node run (``node_done``): the node, its iteration, the state
change it made (for a model node, the reply and the messages) and the routes its
conditional edges took. The journal keeps no timing, tokens, cost or retries per node:
``grasp preview`` shows those for a few records.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

__all__ = ["RecordTrace", "TraceStep", "failure_of", "record_trace"]

Status = Literal["done", "failed", "unfinished", "unknown"]


@dataclass(frozen=True)
class TraceStep:
    """One node run of the record."""

    node: str
    iteration: int
    delta: dict[str, Any]
    """The state keys the node wrote, with their values."""
    routes: dict[str, str]
    """Conditional edge → the branch taken."""
    attempt: int
    """Which start of the run (0: the first, 1: the first resume...) ran the node."""


@dataclass
class RecordTrace:
    """What a run did with one record."""

    record_id: str
    status: Status = "unknown"
    steps: list[TraceStep] = field(default_factory=list)
    failure: dict[str, Any] | None = None
    """The record's entry in the failures file (node, error, reason, input)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "record_id": self.record_id,
            "status": self.status,
            "steps": [
                {
                    "node": step.node,
                    "iteration": step.iteration,
                    "delta": step.delta,
                    "routes": step.routes,
                    "attempt": step.attempt,
                }
                for step in self.steps
            ],
            "failure": self.failure,
        }


def record_trace(journal: Path, record_id: str, failures: Path | None = None) -> RecordTrace:
    """The trace of ``record_id`` in ``journal`` (and its entry in ``failures``).

    Lines that do not mention the id are skipped before parsing, so a large journal is read
    at disk speed."""
    trace = RecordTrace(record_id)
    attempt = -1
    for event in _events(journal, _needle(record_id), keep={b'"e":"run"'}):
        kind = event.get("e")
        if kind == "run":
            attempt += 1
        elif kind == "node_done" and event.get("r") == record_id:
            trace.steps.append(
                TraceStep(
                    node=str(event.get("n")),
                    iteration=int(event.get("i", 0)),
                    delta=dict(event.get("d") or {}),
                    routes=dict(event.get("routes") or {}),
                    attempt=max(attempt, 0),
                )
            )
            if trace.status == "unknown":
                trace.status = "unfinished"
        elif kind == "record_done" and record_id in event.get("ids", []):
            trace.status = "done"
        elif kind == "record_failed" and any(
            f.get("id") == record_id and not f.get("unreadable") for f in event["failures"]
        ):
            trace.status = "failed"
    if failures is not None:
        trace.failure = failure_of(failures, record_id)
        if trace.failure is not None and trace.status != "done":
            trace.status = "failed"
    return trace


def failure_of(failures: Path, record_id: str) -> dict[str, Any] | None:
    """The last entry for ``record_id`` in a failures file, or ``None``."""
    found: dict[str, Any] | None = None
    for entry in _events(failures, _needle(record_id)):
        if entry.get("id") == record_id and not entry.get("unreadable"):
            found = entry
    return found


def _needle(record_id: str) -> bytes:
    """The id as the journal writes it (JSON, ASCII escapes)."""
    return json.dumps(record_id).encode()


def _events(path: Path, needle: bytes, keep: set[bytes] | None = None) -> Iterator[dict[str, Any]]:
    """The JSON objects of the lines of ``path`` that contain ``needle`` (or a ``keep``
    marker); a torn or unreadable line is skipped."""
    if not path.is_file():
        return
    with path.open("rb") as handle:
        for raw in handle:
            if needle not in raw and not (keep and any(k in raw for k in keep)):
                continue
            try:
                event = json.loads(raw)
            except ValueError:
                continue
            if isinstance(event, dict):
                yield event
