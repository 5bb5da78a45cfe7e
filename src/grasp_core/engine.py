"""The streaming engine: records in, one task per record, committed results out.

Records are admitted into a bounded window as others finish (no batch barrier). Each
record walks the graph in its own task; results go through a bounded stream to one writer,
which writes batches to the sinks in a worker thread and then journals them, so a record is
"done" only once its output is durably in the sink.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.to_thread
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from pydantic_core import to_jsonable_python

from grasp_core.errors import GraspError, RecordError
from grasp_core.graph.compiled import CompiledGraph
from grasp_core.graph.walker import walk_record
from grasp_core.journal import Journal
from grasp_core.logs import get_logger
from grasp_core.metrics import RunMetrics
from grasp_core.output import OutputShaper
from grasp_core.protocols import CommitToken, Sink, SourceItem
from grasp_core.validation import RecordValidator

__all__ = ["FAILURES_SINK", "OUTPUT_SINK", "Engine", "EngineCounts"]

OUTPUT_SINK = "output"
FAILURES_SINK = "failures"
_READ_BATCH = 256
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


@dataclass(frozen=True, slots=True)
class _Result:
    record_id: str
    output: dict[str, Any] | None = None
    failure: dict[str, Any] | None = None
    rows: list[dict[str, Any]] | None = None
    """The output as the run's row format maps it (None: the output is the one row)."""

    def written(self) -> list[dict[str, Any]]:
        if self.rows is not None:
            return self.rows
        return [self.output] if self.output is not None else []


class Engine:
    """Runs records through a compiled graph into sinks, journaling every step."""

    def __init__(
        self,
        graph: CompiledGraph,
        *,
        sinks: Mapping[str, Sink],
        failures: Sink,
        journal: Journal,
        shaper: OutputShaper,
        metrics: RunMetrics,
        validator: RecordValidator | None = None,
        row_mapper: Callable[[str, dict[str, Any]], list[dict[str, Any]]] | None = None,
        window: int = 64,
        batch_size: int = 64,
        finished: Callable[[str, bool], bool] = lambda _id, _unreadable: False,
        memo: dict[str, dict[tuple[str, int], dict[str, Any]]] | None = None,
        seed: int = 0,
        sync_every: int = 1000,
        sync_seconds: float = 5.0,
    ) -> None:
        self.graph = graph
        self.sinks = dict(sinks)
        self.failures = failures
        self.journal = journal
        self.shaper = shaper
        self.metrics = metrics
        self.validator = validator
        self.row_mapper = row_mapper
        self.window = max(1, window)
        self.batch_size = max(1, batch_size)
        self.finished = finished
        self.memo = memo or {}
        self.seed = seed
        self.sync_every = sync_every
        self.sync_seconds = sync_seconds
        self._unsynced = 0
        self._last_sync = time.monotonic()
        self.counts = EngineCounts()
        self.in_flight = 0
        self._stop_requested = False
        self._abandon = False
        self._records_scope: anyio.CancelScope | None = None

    def request_stop(self, *, finish_in_flight: bool = False) -> None:
        """Stop admitting records and abandon in-flight ones (or, with ``finish_in_flight``,
        let them finish and commit them); committed work stays.

        With ``finish_in_flight`` the run counts as interrupted only if a record was left
        unadmitted: a stop asked for by the last record's calls leaves a finished run."""
        self._stop_requested = True
        if finish_in_flight:
            return
        self._abandon = True
        self.counts.interrupted = True
        if self._records_scope is not None:
            self._records_scope.cancel()

    async def run(self, items: Iterator[SourceItem]) -> EngineCounts:
        """Process every item; returns when all are committed (or a stop was requested).

        A sink or source failure stops the run and is raised as itself (not wrapped in an
        exception group), so callers can catch ``SinkError``.
        """
        try:
            return await self._run(items)
        except BaseExceptionGroup as group:
            raise_grasp_error(group)
            raise

    async def _run(self, items: Iterator[SourceItem]) -> EngineCounts:
        send, receive = anyio.create_memory_object_stream[_Result](self.window)
        async with anyio.create_task_group() as outer:
            outer.start_soon(self._writer, receive)
            # the writer syncs once more when its stream closes (see _writer)
            async with send:
                slots = anyio.Semaphore(self.window)
                async with anyio.create_task_group() as records:
                    self._records_scope = records.cancel_scope
                    if self._abandon:
                        records.cancel_scope.cancel()
                    async for item in self._pending(items):
                        try:
                            slots.acquire_nowait()
                        except anyio.WouldBlock:
                            await slots.acquire()
                        if self._stop_requested:
                            slots.release()
                            self.counts.interrupted = True  # this item was not admitted
                            break
                        self.in_flight += 1
                        records.start_soon(self._record, item, send, slots)
        return self.counts

    async def _pending(self, items: Iterator[SourceItem]) -> Any:
        """Items from the source (read in a worker thread), minus those already finished.

        After a stop request, reading goes on only to learn whether an unfinished item is
        left (then the run is interrupted) or the source is done (then it is not)."""
        while True:
            batch = await anyio.to_thread.run_sync(
                lambda: list(itertools.islice(items, _READ_BATCH))
            )
            if not batch:
                return
            for item in batch:
                if self.finished(item.record_id, item.error is not None):
                    self.counts.skipped += 1
                elif self._stop_requested:
                    self.counts.interrupted = True
                    return
                else:
                    yield item

    async def _record(
        self, item: SourceItem, send: MemoryObjectSendStream[_Result], slots: anyio.Semaphore
    ) -> None:
        try:
            result = await self._process(item)
            try:
                send.send_nowait(result)
            except anyio.WouldBlock:
                await send.send(result)
        finally:
            self.in_flight -= 1
            slots.release()

    async def _process(self, item: SourceItem) -> _Result:
        record_id = item.record_id
        try:
            if item.error is not None:
                return _Result(
                    record_id,
                    failure=_failure(item, None, "SourceError", item.error, unreadable=True),
                )
            state = await walk_record(
                self.graph,
                record_id,
                dict(item.data),
                metrics=self.metrics,
                on_node_done=self.journal.node_done,
                memo=self.memo.pop(record_id, None),
                seed=self.seed,
                flush=self.journal.flush,
            )
            output = self.shaper.shape(record_id, state)
            if output is not None and self.validator is not None:
                violations = self.validator.violations(output)
                if violations:
                    return _Result(
                        record_id,
                        failure=_failure(
                            item,
                            None,
                            "schema",
                            f"record {record_id!r} breaks schema_config: "
                            + "; ".join(f"{v['field']}: {v['message']}" for v in violations),
                            violations=violations,
                        ),
                    )
            if output is not None and self.row_mapper is not None:
                return _Result(record_id, output=output, rows=self.row_mapper(record_id, output))
            return _Result(record_id, output=output)
        except RecordError as exc:
            kind = type(exc).__name__
            extra = {"attempts": exc.attempts} if hasattr(exc, "attempts") else {}
            return _Result(record_id, failure=_failure(item, exc.node, kind, str(exc), **extra))
        except Exception as exc:
            _log.exception("internal error while processing a record", record_id=record_id)
            return _Result(
                record_id,
                failure=_failure(
                    item, None, "InternalError", f"internal error: {type(exc).__name__}: {exc}"
                ),
            )

    async def _writer(self, receive: MemoryObjectReceiveStream[_Result]) -> None:
        async with receive:
            async for first in receive:
                batch = [first]
                while len(batch) < self.batch_size:
                    try:
                        batch.append(receive.receive_nowait())
                    except (anyio.WouldBlock, anyio.EndOfStream):
                        break
                with anyio.CancelScope(shield=True):
                    await self._commit(batch)
                    self._unsynced += len(batch)
                    elapsed = time.monotonic() - self._last_sync
                    if self._unsynced >= self.sync_every or elapsed >= self.sync_seconds:
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
        power cut could take from a sink. Runs every ``sync_every`` records or
        ``sync_seconds``, and when the run ends. The caller flushes the journal first."""
        for sink in (*self.sinks.values(), self.failures):
            sync = getattr(sink, "sync", None)
            if sync is not None:
                sync()
        self.journal.force_to_disk()
        self._unsynced = 0
        self._last_sync = time.monotonic()

    async def _commit(self, batch: list[_Result]) -> None:
        outputs = [r for r in batch if r.failure is None]
        failures = [r.failure for r in batch if r.failure is not None]
        written = [row for r in outputs for row in r.written()]
        kept = sum(1 for r in outputs if r.output is not None)
        if outputs:
            tokens: dict[str, CommitToken] = {}
            if written:
                for name, sink in self.sinks.items():
                    tokens[name] = await anyio.to_thread.run_sync(sink.write, written)
            self.journal.records_done([r.record_id for r in outputs], tokens)
            self.counts.done += kept
            self.counts.filtered += len(outputs) - kept
        if failures:
            token = await anyio.to_thread.run_sync(self.failures.write, failures)
            summary = [_journal_failure(f) for f in failures]
            self.journal.records_failed(summary, {FAILURES_SINK: token})
            self.counts.failed += len(failures)
            for f in failures:
                _log.warning("record failed", record_id=f["id"], node=f["node"], reason=f["reason"])
                key = f"{f['node'] or '-'}: {f['error']}"
                self.counts.failure_reasons[key] = self.counts.failure_reasons.get(key, 0) + 1


def raise_grasp_error(group: BaseExceptionGroup[BaseException]) -> None:
    """Raise the first GraSP error inside an exception group, so callers can catch it."""
    grasp_errors = [e for e in _leaves(group) if isinstance(e, GraspError)]
    if grasp_errors:
        raise grasp_errors[0] from group


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    found: list[BaseException] = []
    for exc in group.exceptions:
        found.extend(_leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc])
    return found


def _failure(
    item: SourceItem, node: str | None, error: str, reason: str, **extra: Any
) -> dict[str, Any]:
    return {
        "id": item.record_id,
        "node": node,
        "error": error,
        "reason": reason,
        **extra,
        "input": _safe_input(item.data),
    }


def _journal_failure(failure: dict[str, Any]) -> dict[str, Any]:
    entry = {"id": failure["id"], "node": failure["node"], "reason": failure["reason"]}
    if failure.get("unreadable"):
        entry["unreadable"] = True
    return entry


def _safe_input(data: dict[str, Any]) -> Any:
    """The record's input for the failures file; unrepresentable input becomes its repr."""
    try:
        return to_jsonable_python(data, fallback=repr)
    except Exception:
        return {"unrepresentable_input": repr(data)[:2000]}
