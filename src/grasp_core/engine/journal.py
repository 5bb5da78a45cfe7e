"""The run journal: an append-only JSONL log that makes a killed run resumable.

Events (one JSON object a line, key ``e``):

- ``run``: header with the task hash, written when a run (or a resume) starts;
- ``node_done``: record id, node, iteration, state delta and condition labels;
- ``record_done``: ids whose output is flushed to every sink, with the sinks' commit tokens;
- ``record_failed``: ids written to the failures file, with the reason and its token.

A record is done only when its output is in the sink and ``record_done`` is in the journal.
On resume, each sink is restored to its last committed token, so a crash between the two
writes neither loses nor duplicates a record. A torn last line (a crash mid-write) is cut off.

Events are buffered in memory and reach the file at :meth:`Journal.flush` (the writer's
commits, the walker after an expensive node). When a write fails (a full disk), the journal
writes nothing more: it ends at that torn line, which a resume cuts off, and every later flush
raises the same :class:`OutputWriteError`, so no commit is ever journaled after the failure.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grasp_core.engine.storage import cannot_write
from grasp_core.errors import OutputWriteError, ResumeError
from grasp_core.protocols import CommitToken

__all__ = ["JOURNAL_VERSION", "Journal", "JournalState"]

JOURNAL_VERSION = 1
_encode = json.JSONEncoder(separators=(",", ":")).encode
"""One encoder for every line: ``json.dumps`` with options builds a new one per call."""


@dataclass
class JournalState:
    """What an existing journal says: finished records, partial ones, sink positions."""

    header: dict[str, Any] | None = None
    done: set[str] = field(default_factory=set)
    failed: set[str] = field(default_factory=set)
    task_hash: str | None = None
    """The task hash of the latest run (a `--force` resume adopts the task it ran)."""
    unreadable: set[str] = field(default_factory=set)
    """Ids of source items that could not be read (``<line 7>``), kept apart from real
    record ids: a record may carry a lookalike id, and neither may hide the other."""
    memo: dict[str, dict[tuple[str, int], dict[str, Any]]] = field(default_factory=dict)
    tokens: dict[str, list[CommitToken]] = field(default_factory=dict)

    def finished(self, record_id: str, unreadable: bool = False) -> bool:
        if unreadable:
            return record_id in self.unreadable
        return record_id in self.done or record_id in self.failed


class Journal:
    """Appends events to ``path``; reads it back for a resume."""

    def __init__(self, path: Path, *, fsync: bool = False) -> None:
        self.path = path
        self.fsync = fsync
        self._fd: int | None = None
        self._pending: list[str] = []
        self._broken: OutputWriteError | None = None
        self._ready = False
        self._header: dict[str, Any] | None = None

    def exists(self) -> bool:
        return self.path.is_file() and self.path.stat().st_size > 0

    def header(self) -> dict[str, Any] | None:
        """The first run's header (its seed, format, task hash), without reading the rest;
        None when there is no journal or its first line is not a header."""
        if not self.exists():
            return None
        with self.path.open("rb") as handle:
            first = handle.readline()
        try:
            event = json.loads(first)
        except ValueError:
            return None
        return event if isinstance(event, dict) and event.get("e") == "run" else None

    def read(self) -> JournalState:
        """Parse the journal, cutting off a torn last line."""
        state = JournalState()
        if not self.path.is_file():
            return state
        with self.path.open("rb") as handle:
            data = handle.read()
        good_end = data.rfind(b"\n") + 1
        if good_end < len(data):
            with self.path.open("r+b") as handle:
                handle.truncate(good_end)
        for number, raw in enumerate(data[:good_end].splitlines(), start=1):
            if not raw.strip():
                continue
            try:
                event = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise ResumeError(
                    f"{self.path}:{number}: the journal line is not JSON ({exc.msg}); the "
                    "journal was edited or corrupted; start over without --resume"
                ) from None
            _apply(state, event)
        return state

    def open(self) -> None:
        """Get ready to append. The file is created by the first event, so a run that fails
        before doing anything (an unreadable source) leaves no journal behind."""
        self._ready = True

    def _create(self) -> None:
        """Create (or reopen) the file for the first event, with the run's header first."""
        assert self._ready, "journal is not open"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            self._break(exc)
        header, self._header = self._header, None
        if header is not None:
            self._pending.append(_encode(header) + "\n")

    def close(self) -> None:
        """Flush and close. A journal that could not be written closes without writing
        again (its failure was raised when it happened)."""
        self._ready = False
        try:
            if self._broken is None:
                self.flush()
        finally:
            self._pending.clear()
            fd, self._fd = self._fd, None
            if fd is not None:
                os.close(fd)

    def write(self, event: dict[str, Any]) -> None:
        """Buffer one event; it reaches the OS at the next :meth:`flush` or :meth:`append`.

        Never raises for the disk's sake (a record's walk calls it): a file that cannot be
        created fails the next flush instead."""
        if self._fd is None and self._broken is None:
            self._create()
        self._pending.append(_encode(event) + "\n")

    def flush(self) -> None:
        """Hand buffered events to the OS (a process kill cannot lose them after this).

        Raises :class:`OutputWriteError` when the journal cannot be written, now or since
        an earlier failure."""
        if self._broken is not None:
            raise self._broken
        if not self._pending or self._fd is None:
            return
        data = "".join(self._pending).encode()
        self._pending.clear()
        try:
            _write_all(self._fd, data)
            if self.fsync:
                os.fsync(self._fd)
        except OSError as exc:
            raise self._break(exc) from exc

    def _break(self, exc: OSError) -> OutputWriteError:
        """Remember that the journal cannot be written: nothing is written after this."""
        if self._broken is None:
            self._broken = cannot_write(self.path, exc)
            self._broken.__cause__ = exc
        return self._broken

    def sync(self) -> None:
        """Flush and force the journal to disk."""
        self.flush()
        self.force_to_disk()

    def force_to_disk(self) -> None:
        """Force what was flushed to disk. Touches no Python buffer, so it may run in a
        worker thread while the event loop goes on writing events."""
        fd = self._fd
        if fd is None or self._broken is not None:
            return
        try:
            os.fsync(fd)
        except OSError as exc:
            raise self._break(exc) from exc

    def append(self, event: dict[str, Any]) -> None:
        """Write one event and flush it to the OS (a process kill cannot lose it).

        ASCII escapes keep any string (even a lone surrogate from a broken source) encodable.
        """
        self.write(event)
        self.flush()

    def run_started(self, task_hash: str, **extra: Any) -> None:
        """The run's header, written just before the run's first event."""
        self._header = {"e": "run", "v": JOURNAL_VERSION, "task_hash": task_hash, **extra}

    def node_done(
        self,
        record_id: str,
        node: str,
        iteration: int,
        delta: dict[str, Any],
        routes: dict[str, str],
    ) -> None:
        """Buffer a finished node run; the walker flushes after expensive ones."""
        event: dict[str, Any] = {
            "e": "node_done",
            "r": record_id,
            "n": node,
            "i": iteration,
            "d": delta,
        }
        if routes:
            event["routes"] = routes
        self.write(event)

    def records_done(self, ids: list[str], tokens: dict[str, CommitToken]) -> None:
        self.append({"e": "record_done", "ids": ids, "tokens": tokens})

    def records_failed(
        self, failures: list[dict[str, Any]], tokens: dict[str, CommitToken]
    ) -> None:
        self.append({"e": "record_failed", "failures": failures, "tokens": tokens})


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _apply(state: JournalState, event: dict[str, Any]) -> None:
    kind = event.get("e")
    if kind == "run":
        if state.header is None:
            state.header = event
        state.task_hash = event.get("task_hash")
    elif kind == "node_done":
        record_id = event["r"]
        if record_id not in state.done:
            state.memo.setdefault(record_id, {})[(event["n"], event["i"])] = {
                "d": event["d"],
                "routes": event.get("routes", {}),
            }
    elif kind == "record_done":
        for record_id in event["ids"]:
            state.done.add(record_id)
            state.memo.pop(record_id, None)
    elif kind == "record_failed":
        for failure in event["failures"]:
            if failure.get("unreadable"):
                state.unreadable.add(failure["id"])
            else:
                state.failed.add(failure["id"])
                state.memo.pop(failure["id"], None)
    if kind in {"record_done", "record_failed"}:
        for name, token in event.get("tokens", {}).items():
            state.tokens.setdefault(name, []).append(token)
