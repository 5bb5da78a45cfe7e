"""Admission and scheduling: records in, record workers walk them, results to the writer.

Records are admitted into a bounded window as others finish (no batch barrier): up to
``window`` record workers each take the next item from the feed (:mod:`grasp_core.engine.feed`),
walk the graph for it, shape, validate and map it to rows, pass the result on and take the
next one; a task per worker, not per record. Results go through a bounded hand-off to the one
writer (:mod:`grasp_core.engine.writer`), so a record is "done" only once its output is
durably in the sink. Results reach the writer as records finish, or, with ``ordered``, in
source order through a reorder buffer bounded by the same window
(:mod:`grasp_core.engine.reorder`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import anyio
from anyio.abc import TaskGroup
from pydantic_core import to_jsonable_python

from grasp_core.engine.feed import RecordFeed
from grasp_core.engine.journal import Journal
from grasp_core.engine.output import OutputShaper
from grasp_core.engine.reorder import ReorderBuffer
from grasp_core.engine.slots import AdmissionSlots
from grasp_core.engine.validation import RecordValidator
from grasp_core.engine.writable import checked_writable, forget_checked
from grasp_core.engine.writer import EngineCounts, RecordResult, RecordWriter, ResultHandoff
from grasp_core.errors import GraspError, RecordError, StopRunError
from grasp_core.graph.compiled import CompiledGraph
from grasp_core.graph.node_call import stop_for_interrupt
from grasp_core.graph.walker import walk_record
from grasp_core.logs import get_logger, redact
from grasp_core.observe.metrics import RunMetrics
from grasp_core.protocols import Sink, SourceItem

__all__ = ["Engine", "raise_grasp_error"]

_log = get_logger(__name__)


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
        sync_min_seconds: float = 0.0,
        ordered: bool = False,
    ) -> None:
        self.graph = graph
        self.journal = journal
        self.shaper = shaper
        self.metrics = metrics
        self.validator = validator
        self.row_mapper = row_mapper
        self.window = max(1, window)
        self.finished = finished
        self.memo = memo or {}
        self.seed = seed
        self.ordered = ordered
        """Write results in source order (held until the records before them are written)."""
        self.counts = EngineCounts()
        self.writer = RecordWriter(
            sinks=sinks,
            failures=failures,
            journal=journal,
            counts=self.counts,
            batch_size=batch_size,
            sync_every=sync_every,
            sync_seconds=sync_seconds,
            sync_min_seconds=sync_min_seconds,
        )
        self._cannot_write: list[Callable[[dict[str, Any]], str | None]] = [
            check for sink in sinks.values() if (check := getattr(sink, "cannot_write", None))
        ]
        """Sinks' optional ``cannot_write(row)``: a row one refuses fails its record alone,
        where writing it would fail the whole batch (and the run)."""
        self.in_flight = 0
        self._workers = 0
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
        send = ResultHandoff(self.window)
        async with anyio.create_task_group() as outer:
            outer.start_soon(self.writer.run, send)
            # the writer syncs once more when the handoff closes
            try:
                feed = RecordFeed(items, self.finished, self._skipped)
                # in source order a slot is held until the reorder buffer sends the result on
                slots = AdmissionSlots(self.window) if self.ordered else None
                reorder = ReorderBuffer(send, slots.release) if slots is not None else None
                async with anyio.create_task_group() as records:
                    self._records_scope = records.cancel_scope
                    if self._abandon:
                        records.cancel_scope.cancel()
                    self._workers = 1
                    records.start_soon(self._worker, feed, send, slots, reorder, records)
            finally:
                send.close()
        return self.counts

    def _skipped(self) -> None:
        self.counts.skipped += 1

    async def _worker(
        self,
        feed: RecordFeed,
        send: ResultHandoff,
        slots: AdmissionSlots | None,
        reorder: ReorderBuffer | None,
        records: TaskGroup,
    ) -> None:
        """Process records one after another until the feed is done or a stop is asked.

        Each worker, on taking a record, starts one more worker until there are ``window``,
        so a short source never starts more workers than it has records (plus one)."""
        while True:
            if slots is not None:
                try:
                    slots.acquire_nowait()
                except anyio.WouldBlock:
                    await slots.acquire()
            taken = feed.take_nowait() or await feed.take()
            if taken is None or self._stop_requested:
                if slots is not None:
                    slots.release()
                if taken is not None:
                    self.counts.interrupted = True  # this item was not admitted
                    feed.close()
                return
            if self._workers < self.window:
                self._workers += 1
                records.start_soon(self._worker, feed, send, slots, reorder, records)
            item, position = taken
            self.in_flight += 1
            try:
                result = await self._process(item)
            finally:
                self.in_flight -= 1
            if reorder is not None:
                await reorder.put(position, result)
                continue
            try:
                send.send_nowait(result)
            except anyio.WouldBlock:
                await send.send(result)

    async def _process(self, item: SourceItem) -> RecordResult:
        record_id = item.record_id
        try:
            if item.error is not None:
                return RecordResult(
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
            output, plain = self.shaper.shape_checked(record_id, state)
            if output is not None and self.validator is not None:
                violations = self.validator.violations(output)
                if violations:
                    return RecordResult(
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
            rows = None
            if output is not None and self.row_mapper is not None:
                rows = self.row_mapper(record_id, output)
            result = RecordResult(record_id, output=output, rows=rows)
            # checked unchanged: no user code (a validator, a row format) ran since the walk
            unchanged = self.validator is None and self.row_mapper is None
            refused = self._refused(result.written(), output if plain and unchanged else None)
            if refused is not None:
                reason = f"record {record_id!r}: {refused}"
                return RecordResult(record_id, failure=_failure(item, None, "SinkError", reason))
            return result
        except SystemExit as exc:  # user code's own sys.exit failed its record already
            await stop_for_interrupt(exc, record_id=record_id, node=None)
        except StopRunError:
            raise  # not this record's failure: the run stops, the record is left for --resume
        except RecordError as exc:
            kind = type(exc).__name__
            extra = {"attempts": exc.attempts} if hasattr(exc, "attempts") else {}
            return RecordResult(
                record_id, failure=_failure(item, exc.node, kind, str(exc), **extra)
            )
        except Exception as exc:
            _log.exception("internal error while processing a record", record_id=record_id)
            return RecordResult(
                record_id,
                failure=_failure(
                    item, None, "InternalError", f"internal error: {type(exc).__name__}: {exc}"
                ),
            )

    def _refused(self, rows: list[dict[str, Any]], checked: dict[str, Any] | None) -> str | None:
        """Why a sink cannot write one of ``rows`` (the first reason), or None. ``checked``
        passed ``writable_everywhere``: checks built on ``find_unwritable`` pass it unwalked."""
        if not self._cannot_write:
            return None
        token = checked_writable(checked) if checked is not None else None
        try:
            for row in rows:
                for cannot_write in self._cannot_write:
                    reason = cannot_write(row)
                    if reason is not None:
                        return reason
        finally:
            if token is not None:
                forget_checked(token)
        return None


def raise_grasp_error(group: BaseExceptionGroup[BaseException]) -> None:
    """Raise the first GraSP error inside an exception group, so callers can catch it; an
    exit that a signal handler raised (``SystemExit``) goes first, bare, so the program
    ends as its handler asked."""
    leaves = _leaves(group)
    exits = [e for e in leaves if isinstance(e, SystemExit)]
    if exits:
        raise exits[0]
    grasp_errors = [e for e in leaves if isinstance(e, GraspError)]
    if grasp_errors:
        first = grasp_errors[0]
        # keep what it was raised from (a full disk's OSError): callers look there
        raise first from first.__cause__ or group


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
        "reason": redact(reason),  # the failures file and the journal: no secret reaches them
        **extra,
        "input": _safe_input(item.data),
    }


def _safe_input(data: dict[str, Any]) -> Any:
    """The record's input for the failures file; unrepresentable input becomes its repr."""
    try:
        return to_jsonable_python(data, fallback=repr)
    except Exception:
        return {"unrepresentable_input": repr(data)[:2000]}
