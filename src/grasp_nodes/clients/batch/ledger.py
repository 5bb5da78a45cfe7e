"""The run's batch ledger: an append-only, fsynced JSON Lines journal of what was submitted.

Three events, each written (and synced to disk) before the step it records counts as done:

- ``uploaded``: a batch file's id and the ``custom_id`` of every request in it;
- ``created``: the batch made from that file, and what it reserved of the budget;
- ``ended``: the batch's terminal state, its output and error files, and why it failed.

A resumed run reads it back, so a request whose ``custom_id`` is in a batch joins that
batch (polled again, or its output downloaded again) instead of being paid for twice. A
crash between an upload and its ``uploaded`` line leaves an orphan file, which costs
nothing; the gap between creating a batch and its ``created`` line is closed by looking
the batch up by its input file (:meth:`Batcher` does it on resume). A torn last line (a
crash mid-write) is skipped, and cut off before the next event is appended (written after
it, that event would share its line and be skipped too).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import anyio.to_thread

__all__ = ["BatchLedger", "EndedBatch", "ModelLedger"]

TERMINAL = frozenset({"completed", "failed", "expired", "cancelled"})


@dataclass(frozen=True, slots=True)
class EndedBatch:
    """A batch in a terminal state."""

    status: str
    output_file: str | None = None
    error_file: str | None = None
    reason: str | None = None


@dataclass
class ModelLedger:
    """What the ledger says of one model's batches."""

    files: dict[str, list[str]] = field(default_factory=dict)
    """Each uploaded batch file's ``custom_id`` list."""
    batch_of_file: dict[str, str] = field(default_factory=dict)
    latest_file: dict[str, str] = field(default_factory=dict)
    """The last file each ``custom_id`` was uploaded in."""
    submissions: dict[str, int] = field(default_factory=dict)
    """How many files each ``custom_id`` was uploaded in."""
    ended: dict[str, EndedBatch] = field(default_factory=dict)
    reserved: dict[str, tuple[float, int]] = field(default_factory=dict)
    """What each batch reserved of the budget when it was created: dollars, tokens."""

    def batch_of(self, custom_id: str) -> str | None:
        """The batch holding the latest submission of ``custom_id`` (None: never in one)."""
        file_id = self.latest_file.get(custom_id)
        return self.batch_of_file.get(file_id) if file_id is not None else None

    def unbatched_files(self) -> list[str]:
        """Files uploaded whose batch the ledger does not know (a crash in between)."""
        return [f for f in self.files if f not in self.batch_of_file]

    def open_batches(self) -> list[str]:
        """Batches created and not yet ended."""
        return [b for b in self.batch_of_file.values() if b not in self.ended]

    def forget(self, ids: list[str]) -> None:
        """Drop ``ids`` from memory: their requests were answered (or failed for good) by
        this run, which never asks them again. The file on disk keeps them for a resume;
        so memory holds the requests of open batches, not every request of the run."""
        for custom_id in ids:
            file_id = self.latest_file.pop(custom_id, None)
            self.submissions.pop(custom_id, None)
            if file_id is not None and file_id in self.batch_of_file:
                self.files[file_id] = []  # its ids stay on disk; the key says it is batched

    def apply(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "uploaded":
            file_id, ids = str(event["file"]), [str(i) for i in event["ids"]]
            self.files[file_id] = ids
            for custom_id in ids:
                self.latest_file[custom_id] = file_id
                self.submissions[custom_id] = self.submissions.get(custom_id, 0) + 1
        elif kind == "created":
            self.batch_of_file[str(event["file"])] = str(event["batch"])
            reserved = event.get("reserved")
            if isinstance(reserved, list) and len(reserved) == 2:
                self.reserved[str(event["batch"])] = (float(reserved[0]), int(reserved[1]))
        elif kind == "ended":
            self.ended[str(event["batch"])] = EndedBatch(
                str(event["status"]), event.get("output"), event.get("errors"), event.get("reason")
            )


class BatchLedger:
    """``ledger.jsonl`` in the run's batch folder, shared by every batched model."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._models: dict[str, ModelLedger] | None = None
        self._file: IO[str] | None = None

    def model(self, name: str) -> ModelLedger:
        """The ledger of model ``name`` (read from disk on first use)."""
        if self._models is None:
            self._models = {}
            for event in _read(self.path):
                self._models.setdefault(str(event.get("model")), ModelLedger()).apply(event)
        return self._models.setdefault(name, ModelLedger())

    async def write(self, model: str, event: dict[str, Any]) -> None:
        """Append ``event`` for ``model`` and sync it to disk, then apply it."""
        book = self.model(model)  # read the file first, so this event is applied once
        line = json.dumps({**event, "model": model}, separators=(",", ":")) + "\n"
        with anyio.CancelScope(shield=True):  # a stop never leaves an event half recorded
            await anyio.to_thread.run_sync(self._append, line)
            book.apply(event)

    def _append(self, line: str) -> None:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _cut_torn_tail(self.path)
            self._file = self.path.open("a", encoding="utf-8")
        self._file.write(line)
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _cut_torn_tail(path: Path) -> None:
    """Truncate ``path`` after its last newline: drop a line a crash tore mid-write."""
    try:
        with path.open("r+b") as file:
            size = file.seek(0, os.SEEK_END)
            keep = size
            while keep > 0:
                start = max(0, keep - 65536)
                file.seek(start)
                chunk = file.read(keep - start)
                cut = chunk.rfind(b"\n")
                if cut >= 0:
                    keep = start + cut + 1
                    break
                keep = start
            if keep < size:
                file.truncate(keep)
                os.fsync(file.fileno())
    except FileNotFoundError:
        return


def _read(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    events = []
    for line in text.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue  # a line torn by a crash mid-write
        if isinstance(event, dict):
            events.append(event)
    return events
