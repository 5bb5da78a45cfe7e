"""The writer: the one task that commits finished records to the sinks and the journal.

Results reach it through a bounded stream. It writes a batch to every sink (from a worker
thread, or on the loop when the sink's writes are quick: :mod:`.sink_writes`), then journals
the batch with the sinks' commit tokens, so a record is "done" only once its output is
durably in every sink. After a commit, once ``sync_seconds`` have passed since the last sync,
or ``sync_every`` records and at least ``sync_min_seconds``, and when the stream closes, it
forces sinks, then the journal, to disk. The interval is checked at commits, not by a timer:
a commit followed by a quiet spell is in the OS (a killed process loses nothing) but is
forced to disk only at the next commit or the end.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import anyio
import anyio.to_thread

from grasp_core.engine.journal import Journal
from grasp_core.engine.sink_writes import SinkWrites
from grasp_core.logs import get_logger
from grasp_core.protocols import CommitToken, Sink

__all__ = [
    "FAILURES_SINK",
    "OUTPUT_SINK",
    "EngineCounts",
    "RecordResult",
    "RecordWriter",
    "ResultHandoff",
    "ResultReceiver",
    "ResultSender",
]

OUTPUT_SINK = "output"
"""The journal's name for a task's only sink (several sinks go by their ``alias``)."""
FAILURES_SINK = "failures"
"""The journal's name for the failures file."""
_log = get_logger(__name__)


@dataclass
class EngineCounts:
    """What happened to the records this engine saw."""

    done: int = 0
    failed: int = 0
    filtered: int = 0
    skipped: int = 0
    interrupted: bool = False
    failure_reasons: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class RecordResult:
    """One record's outcome: its output (None when filtered), or why it failed.

    Not changed once made; not frozen either, since a frozen dataclass costs about a
    microsecond more to make, and every record makes one."""

    record_id: str
    output: dict[str, Any] | None = None
    failure: dict[str, Any] | None = None
    rows: list[dict[str, Any]] | None = None
    """The output as the run's row format maps it (None: the output is the one row)."""

    def written(self) -> list[dict[str, Any]]:
        if self.rows is not None:
            return self.rows
        return [self.output] if self.output is not None else []


class ResultSender(Protocol):
    """Where finished records go (a :class:`ResultHandoff`, or an anyio memory stream)."""

    def send_nowait(self, item: RecordResult, /) -> None: ...
    async def send(self, item: RecordResult, /) -> None: ...


class ResultReceiver(Protocol):
    """Where the writer takes them from (a :class:`ResultHandoff`, or an anyio memory
    stream; ``EndOfStream`` once the sending side is closed and everything is taken)."""

    def receive_nowait(self) -> RecordResult: ...
    async def receive(self) -> RecordResult: ...


class ResultHandoff:
    """The bounded buffer between the record workers and the writer: ``send_nowait`` /
    ``send`` and ``receive_nowait`` / ``receive`` behave as an anyio memory object stream's
    (at most ``size`` results held, in the order they went in; a sender that finds it full
    waits, and its result moves into the buffer when the writer lets it in).

    Why not the stream itself: workers outrun the writer while it waits on a thread (a
    sink's write, a sync), so most sends find the buffer full, and the stream's ``send``
    then takes a checkpoint before waiting, two event-loop steps; here a full buffer costs
    one (the wait), and a send with room, none.

    Why not the stream's order of waiting senders either: a stream lets one waiting sender
    in per result taken, so once the workers outrun the writer every record costs its
    worker a wait and a wake (a fifth of a long rerun's CPU, with the thread hops). Here the
    writer's first take lets one waiting sender in (the *refiller*), and the room the rest
    of its batch frees is left to that worker, which fills it record after record while the
    writer waits: one wait per batch instead of one per record. A send that finds room goes
    in even while others wait (results carry no order between workers; a run in
    source order sends through one reorder buffer). So that no waiting sender is left
    behind, every take lets one in once no refiller is running (it has sent since, or waits
    again) or once the buffer is down to half: results keep flowing while the refiller is
    in a slow model call, and waiting senders never outlast a buffer that has drained."""

    def __init__(self, size: int) -> None:
        self._buffer: deque[RecordResult] = deque()
        self._size = max(1, size)
        self._low = max(1, self._size // 2)
        """Below this many results held, each take lets a waiting sender in."""
        self._senders: deque[tuple[anyio.Event, RecordResult]] = deque()
        """Waiting senders, oldest first, each with the event that says its result moved."""
        self._refilling = False
        """A waiting sender was let in and has neither sent nor waited since."""
        self._receiver: anyio.Event | None = None
        self._closed = False

    def close(self) -> None:
        """No more results: the receiver gets ``EndOfStream`` once it has taken them all."""
        self._closed = True
        self._wake_receiver()

    def send_nowait(self, item: RecordResult, /) -> None:
        """Add ``item``, or raise ``anyio.WouldBlock`` when the buffer is full."""
        if self._closed:
            raise anyio.ClosedResourceError
        if len(self._buffer) >= self._size:
            raise anyio.WouldBlock
        self._buffer.append(item)
        self._refilling = False
        self._wake_receiver()

    async def send(self, item: RecordResult, /) -> None:
        """Add ``item``, waiting (one event-loop step) while the buffer is full."""
        try:
            self.send_nowait(item)
            return
        except anyio.WouldBlock:
            pass
        self._refilling = False
        entry = (anyio.Event(), item)
        self._senders.append(entry)
        try:
            await entry[0].wait()
        except BaseException:
            if not entry[0].is_set():  # cancelled before the writer took it
                self._senders.remove(entry)
            raise

    def receive_nowait(self) -> RecordResult:
        """The oldest result; ``anyio.WouldBlock`` when there is none yet, ``EndOfStream``
        when there will be none."""
        if not self._buffer:
            raise anyio.EndOfStream if self._closed else anyio.WouldBlock
        item = self._buffer.popleft()
        if self._senders and (not self._refilling or len(self._buffer) < self._low):
            event, waiting = self._senders.popleft()
            self._buffer.append(waiting)
            self._refilling = True
            event.set()
        return item

    async def receive(self) -> RecordResult:
        """The oldest result, waiting for one."""
        while True:
            try:
                return self.receive_nowait()
            except anyio.WouldBlock:
                pass
            self._receiver = anyio.Event()
            await self._receiver.wait()

    def _wake_receiver(self) -> None:
        if self._receiver is not None:
            self._receiver.set()
            self._receiver = None


class RecordWriter:
    """Commits batches of results in the order they arrive; counts what it committed."""

    def __init__(
        self,
        *,
        sinks: Mapping[str, Sink],
        failures: Sink,
        journal: Journal,
        counts: EngineCounts,
        batch_size: int = 64,
        sync_every: int = 1000,
        sync_seconds: float = 5.0,
        sync_min_seconds: float = 0.0,
    ) -> None:
        self.sinks = dict(sinks)
        self.failures = failures
        self._writes = {name: SinkWrites(name, sink) for name, sink in self.sinks.items()}
        """Where each sink's writes run (measured across batches)."""
        self._write_failures = SinkWrites(FAILURES_SINK, failures)
        self.journal = journal
        self.counts = counts
        self.batch_size = max(1, batch_size)
        self.sync_every = sync_every
        self.sync_seconds = sync_seconds
        self.sync_min_seconds = sync_min_seconds
        self._unsynced = 0
        self._last_sync = time.monotonic()

    async def run(self, receive: ResultReceiver) -> None:
        """Commit everything sent on ``receive`` until it closes, then sync once more.

        Commits are shielded: a cancelled run never leaves a batch half-written."""
        while True:
            try:
                batch = [receive.receive_nowait()]
            except anyio.WouldBlock:
                try:
                    batch = [await receive.receive()]
                except anyio.EndOfStream:
                    break
            except anyio.EndOfStream:
                break
            while len(batch) < self.batch_size:
                try:
                    batch.append(receive.receive_nowait())
                except (anyio.WouldBlock, anyio.EndOfStream):
                    break
            with anyio.CancelScope(shield=True):
                await self.commit(batch)
                self._unsynced += len(batch)
                elapsed = time.monotonic() - self._last_sync
                if elapsed >= self.sync_seconds or (
                    self._unsynced >= self.sync_every and elapsed >= self.sync_min_seconds
                ):
                    await self._sync()
        with anyio.CancelScope(shield=True):
            if self._unsynced:
                await self._sync()

    async def _sync(self) -> None:
        # The journal's buffer is flushed here, on the loop that writes it; the thread
        # only asks the OS to put what it already has on disk.
        self.journal.flush()
        await anyio.to_thread.run_sync(self.sync)

    def sync(self) -> None:
        """Force sinks, then the journal, to disk: the journal never promises data that a
        power cut could take from a sink. The caller flushes the journal first."""
        for sink in (*self.sinks.values(), self.failures):
            sync = getattr(sink, "sync", None)
            if sync is not None:
                sync()
        self.journal.force_to_disk()
        self._unsynced = 0
        self._last_sync = time.monotonic()

    async def commit(self, batch: list[RecordResult]) -> None:
        """Write ``batch`` to the sinks (outputs) and the failures file, then journal it."""
        outputs = [r for r in batch if r.failure is None]
        failures = [r.failure for r in batch if r.failure is not None]
        written = [row for r in outputs for row in r.written()]
        kept = sum(1 for r in outputs if r.output is not None)
        if outputs:
            tokens: dict[str, CommitToken] = {}
            if written:
                for name, write in self._writes.items():
                    tokens[name] = await write(written)
            self.journal.records_done([r.record_id for r in outputs], tokens)
            self.counts.done += kept
            self.counts.filtered += len(outputs) - kept
        if failures:
            token = await self._write_failures(failures)
            summary = [_journal_failure(f) for f in failures]
            self.journal.records_failed(summary, {FAILURES_SINK: token})
            self.counts.failed += len(failures)
            for f in failures:
                _log.warning("record failed", record_id=f["id"], node=f["node"], reason=f["reason"])
                key = f"{f['node'] or '-'}: {f['error']}"
                self.counts.failure_reasons[key] = self.counts.failure_reasons.get(key, 0) + 1


def _journal_failure(failure: dict[str, Any]) -> dict[str, Any]:
    entry = {"id": failure["id"], "node": failure["node"], "reason": failure["reason"]}
    if failure.get("unreadable"):
        entry["unreadable"] = True
    return entry
