"""``Batcher``: one batched model's requests, gathered across records into provider batches.

A record's call parks in :meth:`Batcher.submit` until its answer is back; the record's
walk waits there while other nodes keep running. There is no background task: whichever
parked call finds no one driving becomes the driver and does the model's batch work
(submitting a full or overdue batch, polling the batches in flight, resolving answers)
until its own answer arrives; then the next parked call takes over. So the work lives
exactly as long as someone waits for it, inside the run's own task tree, and a cancelled
driver hands over at once. Ledger-critical steps (upload, create, end) are shielded from
cancellation, so a stop never leaves a submission half recorded.

Polling starts at about a second and backs off (x1.5) toward a minute, unless
``poll_interval`` is set. A batch that fails or expires, and a request that fails inside a
completed batch with a transient status, go back into the queue until they were submitted
``1 + max_resubmits`` times; then the call fails with the last reason.

Each batch reserves its requests' estimated cost in the run's metrics when it is
submitted (and in the ledger, for a resume), released when it ends; once the budget is
reached, no new batch is submitted and the requests waiting for one are held (the run
then stops them, leaving their records for ``--resume``).
"""

from __future__ import annotations

import itertools
import math
import time

import anyio

from grasp_core.errors import ModelCallError, RetryableModelError
from grasp_core.plugin import BatchOptions, RunMetrics, current_identity, get_logger
from grasp_nodes.clients.batch.ledger import TERMINAL, BatchLedger, EndedBatch
from grasp_nodes.clients.batch.requests import BatchAnswer, read_answers
from grasp_nodes.clients.batch.stats import BatchStats
from grasp_nodes.clients.batch.submitter import BatchSubmitter
from grasp_nodes.clients.batch.waiters import Poll, Reservation, Waiter, why_failed

__all__ = ["Batcher"]

_log = get_logger(__name__)

_NOTHING = Reservation()
_FIRST_POLL, _MAX_POLL, _GROWTH = 1.0, 60.0, 1.5
_POLL_FAILURES = 5
"""Failed polls in a row after which the batch's records fail (the batch stays open in the
ledger: a resume polls it again)."""
_FINAL_4XX = frozenset(range(400, 500)) - {408, 409, 425, 429}
"""Statuses a request answered inside a batch fails with for good (resubmitting it would
be refused the same way)."""


class Batcher:
    """Gathers, submits and polls the batches of the model entry ``name``."""

    def __init__(
        self,
        name: str,
        options: BatchOptions,
        submitter: BatchSubmitter,
        ledger: BatchLedger,
        stats: BatchStats,
    ) -> None:
        self.name = name
        self.options = options
        self.submitter = submitter
        self.ledger = ledger
        self.stats = stats
        self.metrics: RunMetrics = stats.metrics
        self._waiting: dict[str, Waiter] = {}
        self._pending: dict[str, Waiter] = {}
        """Requests waiting for the next batch, oldest first (a dict: cancelling one of
        100,000 parked requests must not scan the rest)."""
        self._pending_bytes = 0
        self._pending_since = 0.0
        self._members: dict[str, set[str]] = {}
        self._polls: dict[str, Poll] = {}
        self._ready: list[tuple[str, Waiter]] = []
        self._answers: dict[str, dict[str, BatchAnswer]] = {}
        self._driving = False
        self._recovered = False
        self._changed: anyio.Event | None = None
        self._recovery: anyio.Lock | None = None

    async def submit(
        self, custom_id: str, line: bytes, reservation: Reservation = _NOTHING
    ) -> bytes:
        """Park until the batch answer to ``line`` is back; its response body. Raise
        :class:`ModelCallError` when it failed for good. ``reservation`` is what the
        request's batch reserves of the budget while it is in flight."""
        await self._recover()
        identity = current_identity()
        record = identity.record_id if identity is not None else custom_id
        waiter = self._enlist(Waiter(custom_id, line, record, reservation))
        try:
            while not waiter.done:
                if self._driving:
                    await self._event().wait()
                    continue
                self._driving = True
                try:
                    await self._drive(waiter)
                finally:
                    self._driving = False
                    self._notify()
        finally:
            self._withdraw(waiter)
        if waiter.answer is None or waiter.answer.body is None:
            raise ModelCallError(f"model {self.name!r}: {waiter.error}", kind="batch")
        return waiter.answer.body

    # --- parking ---------------------------------------------------------------------------

    def _enlist(self, waiter: Waiter) -> Waiter:
        custom_id = waiter.custom_id
        self._waiting[custom_id] = waiter
        self.stats.parked += 1
        book = self.ledger.model(self.name)
        batch = book.batch_of(custom_id)
        if batch is None:
            self._queue(waiter)
        elif batch in book.ended:
            self._ready.append((batch, waiter))
            self._notify()
        else:
            self._members.setdefault(batch, set()).add(custom_id)
            self._track(batch)
        return waiter

    def _withdraw(self, waiter: Waiter) -> None:
        """Forget ``waiter`` (answered, failed or cancelled); a cancelled request still in
        a batch is found there again by a resumed run."""
        if self._waiting.pop(waiter.custom_id, None) is not None:
            self.stats.parked -= 1
        if self._pending.get(waiter.custom_id) is waiter:
            self._unqueue(waiter)

    def _queue(self, waiter: Waiter) -> None:
        if not self._pending:
            self._pending_since = time.monotonic()
        self._pending[waiter.custom_id] = waiter
        self._pending_bytes += len(waiter.line)
        self.stats.queued[waiter.record] += 1
        if self._flush_due(time.monotonic()):
            self._notify()

    def _unqueue(self, waiter: Waiter) -> None:
        del self._pending[waiter.custom_id]
        self._pending_bytes -= len(waiter.line)
        queued = self.stats.queued
        queued[waiter.record] -= 1
        if queued[waiter.record] <= 0:
            del queued[waiter.record]

    def _finish(self, waiter: Waiter, answer: BatchAnswer | None, error: str | None) -> None:
        waiter.answer, waiter.error = answer, error
        waiter.done = True
        self._notify()

    def _retry_or_fail(self, waiter: Waiter, reason: str, *, final: bool = False) -> None:
        submitted = self.ledger.model(self.name).submissions.get(waiter.custom_id, 0)
        if final or submitted > self.options.max_resubmits:
            tries = f" (submitted {submitted} times)" if submitted > 1 else ""
            self._finish(waiter, None, reason + tries)
        else:
            self._queue(waiter)

    # --- driving ---------------------------------------------------------------------------

    async def _drive(self, waiter: Waiter) -> None:
        """Do the model's batch work until ``waiter`` is answered."""
        while not waiter.done:
            await self._step()
            if waiter.done:
                return
            with anyio.move_on_after(self._idle_seconds()):
                await self._event().wait()

    async def _step(self) -> None:
        while self._ready:
            batch, waiter = self._ready.pop()
            if not waiter.done:
                await self._resolve(batch, [waiter])
        if self._pending and self._flush_due(time.monotonic()) and not self._stopped:
            with anyio.CancelScope(shield=True):
                await self._flush()
        for batch, poll in list(self._polls.items()):
            if poll.next_at <= time.monotonic():
                with anyio.CancelScope(shield=True):
                    await self._poll(batch, poll)

    def _idle_seconds(self) -> float:
        due = [poll.next_at for poll in self._polls.values()]
        flushing = bool(self._pending) and not self._stopped
        if flushing:
            due.append(self._pending_since + self.options.max_wait)
        if self._ready or (flushing and self._flush_due(time.monotonic())):
            return 0.0
        return max(0.0, min(due) - time.monotonic()) if due else math.inf

    @property
    def _stopped(self) -> bool:
        """The budget is reached: requests not in a batch yet stay out (held)."""
        return self.metrics.reserved.stop_reason is not None

    def _flush_due(self, now: float) -> bool:
        options = self.options
        return (
            len(self._pending) >= options.max_requests
            or self._pending_bytes >= options.max_bytes
            or now - self._pending_since >= options.max_wait
        )

    async def _flush(self) -> None:
        """Submit the oldest pending requests as one batch (within its limits)."""
        taken: list[Waiter] = []
        size = 0
        options = self.options
        oldest = list(itertools.islice(self._pending.values(), options.max_requests))
        for waiter in oldest:  # one pass: finding each next one anew would be quadratic
            if size + len(waiter.line) > options.max_bytes and taken:
                break
            self._unqueue(waiter)
            if len(waiter.line) > options.max_bytes:
                reason = f"the request is {len(waiter.line)} bytes, over batch.max_bytes"
                self._finish(waiter, None, reason)
                continue
            taken.append(waiter)
            size += len(waiter.line)
        self._pending_since = time.monotonic()
        if not taken:
            return
        ids = [w.custom_id for w in taken]
        try:
            file_id = await self.submitter.upload(b"".join(w.line for w in taken))
            await self.ledger.write(self.name, {"event": "uploaded", "file": file_id, "ids": ids})
            try:
                batch = await self.submitter.create(file_id, options.completion_window)
            except ModelCallError as exc:
                await self._abandon(file_id, str(exc))
                raise
        except ModelCallError as exc:
            for waiter in taken:
                self._finish(waiter, None, f"batch not submitted: {exc}")
            return
        batch_id = str(batch["id"])
        cost = math.fsum(w.reservation.cost_usd for w in taken)
        reserved = [cost, sum(w.reservation.tokens for w in taken)]
        created = {"event": "created", "file": file_id, "batch": batch_id, "reserved": reserved}
        await self.ledger.write(self.name, created)
        self.stats.saw(batch_id, str(batch.get("status") or "validating"))
        self._members[batch_id] = set(ids)
        self._track(batch_id)
        _log.info("batch submitted", model=self.name, batch=batch_id, requests=len(ids))

    async def _abandon(self, file_id: str, reason: str) -> None:
        """Record that no batch was made of ``file_id`` (so a resume does not make one)."""
        pseudo = f"none:{file_id}"
        await self.ledger.write(self.name, {"event": "created", "file": file_id, "batch": pseudo})
        ended = {"event": "ended", "batch": pseudo, "status": "failed", "reason": reason}
        await self.ledger.write(self.name, ended)

    async def _poll(self, batch: str, poll: Poll) -> None:
        try:
            info = await self.submitter.retrieve(batch)
        except ModelCallError as exc:
            if exc.status != 404:
                self._poll_failed(batch, poll, exc)
                return
            info = {"status": "failed", "errors": {"data": [{"message": str(exc)}]}}
        poll.failures = 0
        status = str(info.get("status"))
        self.stats.saw(batch, status)
        if status not in TERMINAL:
            self._back_off(poll)
            return
        event = {
            "event": "ended",
            "batch": batch,
            "status": status,
            "output": info.get("output_file_id"),
            "errors": info.get("error_file_id"),
            "reason": why_failed(info),
        }
        await self.ledger.write(self.name, event)
        del self._polls[batch]
        self.metrics.reserved.release(batch)  # its answers are counted as they are handed out
        members = self._members.pop(batch, set())
        await self._resolve(batch, [self._waiting[c] for c in members if c in self._waiting])
        self._answers.pop(batch, None)  # a request asked later downloads it again

    def _poll_failed(self, batch: str, poll: Poll, exc: ModelCallError) -> None:
        """A poll failed after its retries: try again later, unless the server refuses (a
        key or access error) or keeps failing; then the batch's parked records fail,
        while the ledger keeps the batch open for a resume to pick up."""
        poll.failures += 1
        _log.warning("batch poll failed", model=self.name, batch=batch, error=str(exc))
        if isinstance(exc, RetryableModelError) and poll.failures < _POLL_FAILURES:
            self._back_off(poll)
            return
        del self._polls[batch]
        reason = f"cannot poll batch {batch} ({exc}); it stays in the ledger: --resume polls it"
        for custom_id in self._members.pop(batch, set()):
            waiter = self._waiting.get(custom_id)
            if waiter is not None:
                self._finish(waiter, None, reason)

    def _back_off(self, poll: Poll) -> None:
        poll.next_at = time.monotonic() + poll.interval
        if self.options.poll_interval is None:
            poll.interval = min(_MAX_POLL, poll.interval * _GROWTH)

    def _first_interval(self) -> float:
        return self.options.poll_interval or _FIRST_POLL

    def _track(self, batch: str) -> None:
        """Poll the open ``batch``, and hold its reservation (the ledger's) in the budget."""
        if batch in self._polls:
            return
        self._polls[batch] = Poll(time.monotonic(), self._first_interval())
        reserved = self.ledger.model(self.name).reserved.get(batch)
        if reserved is not None:
            self.metrics.reserved.reserve(batch, *reserved)
            self.metrics.notify()

    async def _resolve(self, batch: str, waiters: list[Waiter]) -> None:
        """Answer ``waiters`` from their ended ``batch``: its output, else resubmission."""
        if not waiters:
            return
        ended = self.ledger.model(self.name).ended[batch]
        answers = await self._answers_of(batch, ended)
        for waiter in waiters:
            answer = answers.get(waiter.custom_id)
            if answer is not None and answer.body is not None:
                self._finish(waiter, answer, None)
            elif answer is not None:
                reason = f"request failed in batch {batch}: HTTP {answer.status}: {answer.error}"
                self._retry_or_fail(waiter, reason, final=answer.status in _FINAL_4XX)
            else:
                why = f": {ended.reason}" if ended.reason else ""
                self._retry_or_fail(waiter, f"batch {batch} {ended.status}{why}")

    async def _answers_of(self, batch: str, ended: EndedBatch) -> dict[str, BatchAnswer]:
        """The answers in ``batch``'s output and error files (downloaded once)."""
        answers = self._answers.get(batch)
        if answers is None:
            answers = {}
            for file_id in (ended.error_file, ended.output_file):
                if file_id:
                    with anyio.CancelScope(shield=True):
                        answers.update(read_answers(await self.submitter.content(file_id)))
            self._answers[batch] = answers
        return answers

    async def _recover(self) -> None:
        """Once, on the first call: pick up what the ledger says an earlier run left in
        flight. A file uploaded with no batch recorded gets the batch the provider made of
        it (found by its input file), else one made now; open batches are polled again."""
        if self._recovered:
            return
        book = self.ledger.model(self.name)
        if not book.unbatched_files():  # nothing to ask the provider: no lock, no wait
            for batch in book.open_batches():
                self._track(batch)
            self._recovered = True
            return
        if self._recovery is None:
            self._recovery = anyio.Lock()
        async with self._recovery:
            if self._recovered:
                return
            book = self.ledger.model(self.name)
            with anyio.CancelScope(shield=True):
                for file_id in book.unbatched_files():
                    found = await self.submitter.find(file_id)
                    if found is None:
                        found = await self.submitter.create(file_id, self.options.completion_window)
                    event = {"event": "created", "file": file_id, "batch": str(found["id"])}
                    await self.ledger.write(self.name, event)
            for batch in book.open_batches():
                self._track(batch)
            self._recovered = True

    # --- wake-ups --------------------------------------------------------------------------

    def _event(self) -> anyio.Event:
        if self._changed is None:
            self._changed = anyio.Event()
        return self._changed

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None
