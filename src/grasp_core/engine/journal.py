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
import json.encoder
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grasp_core._json_text import compact_encoder
from grasp_core.engine.storage import cannot_write
from grasp_core.errors import OutputWriteError, ResumeError
from grasp_core.protocols import CommitToken

__all__ = ["JOURNAL_VERSION", "Journal", "JournalState"]

JOURNAL_VERSION = 1
_quote: Callable[[str], str] = json.encoder.encode_basestring_ascii
"""A string as ``_encode`` writes it (ASCII escapes), without the encoder's call overhead."""


_encode = compact_encoder()
"""Compact ASCII JSON, as ``json.JSONEncoder(separators=(",", ":")).encode`` writes it,
its C encoder built once: one for every line."""


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
        """Parse the journal, cutting off a torn last line. Lines are read one at a time: a
        long run's journal (hundreds of MB) is never held in memory whole."""
        state = JournalState()
        if not self.path.is_file():
            return state
        self._cut_torn_tail()
        # Two passes: the ends of records first, then node runs of the unfinished records
        # only. Most node runs belong to finished records, whose lines are never parsed.
        with self.path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                if not raw.startswith(_NODE_DONE_HEAD) and raw.strip():
                    _apply(state, self._parsed(raw, number))
        ended = state.done | state.failed
        with self.path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                if raw.startswith(_NODE_DONE_HEAD):
                    quote = raw.find(b'"', len(_NODE_DONE_HEAD))
                    head = raw[len(_NODE_DONE_HEAD) : quote]
                    if b"\\" not in head and head.decode("utf-8", "replace") in ended:
                        continue
                    event = self._parsed(raw, number)
                    if event.get("r") not in ended:
                        _apply(state, event)
        return state

    def _parsed(self, raw: bytes, number: int) -> Any:
        try:
            return _parse(raw[:-1])  # every line ends with its newline now
        except json.JSONDecodeError as exc:
            raise ResumeError(
                f"{self.path}:{number}: the journal line is not JSON ({exc.msg}); the "
                "journal was edited or corrupted; start over without --resume"
            ) from None

    def _cut_torn_tail(self) -> None:
        """Cut what follows the last newline (a line a crash tore): read from the end."""
        with self.path.open("rb") as handle:
            end = position = handle.seek(0, os.SEEK_END)
            good_end = 0
            while position > 0:
                step = min(_TAIL_CHUNK, position)
                handle.seek(position - step)
                newline = handle.read(step).rfind(b"\n")
                if newline >= 0:
                    good_end = position - step + newline + 1
                    break
                position -= step
        if good_end < end:
            with self.path.open("r+b") as handle:
                handle.truncate(good_end)

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
        """Buffer a finished node run; the walker flushes after expensive ones.

        The line is assembled around the encoded delta (the same bytes as encoding the whole
        event): this is the journal's most frequent line, several per record."""
        if type(record_id) is not str or type(node) is not str or type(iteration) is not int:
            event: dict[str, Any] = {"e": "node_done", "r": record_id, "n": node}
            event.update({"i": iteration, "d": delta, **({"routes": routes} if routes else {})})
            self.write(event)
            return
        if self._fd is None and self._broken is None:
            self._create()
        routed = f',"routes":{_encode(routes)}' if routes else ""
        self._pending.append(
            f'{{"e":"node_done","r":{_quote(record_id)},"n":{_quote(node)},"i":{iteration},'
            f'"d":{_encode(delta)}{routed}}}\n'
        )

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


_TAIL_CHUNK = 1 << 16
_scan: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def _parse(raw: bytes) -> Any:
    """``json.loads(raw)``, without its per-call overhead for the journal's own lines (ASCII,
    one object filling the line): a resume reads several lines per finished record."""
    try:
        line = raw.decode("ascii")
        if line[:1] == "{":
            event, end = _scan(line, 0)
            if end == len(line):
                return event
    except (ValueError, StopIteration):  # not ASCII, or not JSON: json.loads says how
        pass
    return json.loads(raw)


_NODE_DONE_HEAD = b'{"e":"node_done","r":"'
"""How the journal starts a node run's line. Lines that start otherwise (an edited node
run's too) are parsed whole in the first pass, in order, as before the two passes."""


def _apply(state: JournalState, event: dict[str, Any]) -> None:
    kind = event.get("e")
    if kind == "node_done":  # most lines
        record_id = event["r"]
        if record_id not in state.done:
            state.memo.setdefault(record_id, {})[(event["n"], event["i"])] = {
                "d": event["d"],
                "routes": event.get("routes", {}),
            }
        return
    if kind == "run":
        if state.header is None:
            state.header = event
        state.task_hash = event.get("task_hash")
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
