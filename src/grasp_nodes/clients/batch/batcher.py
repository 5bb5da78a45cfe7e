"""``Batcher``: one batched model's requests, gathered across records into provider batches.

A record's call parks in :meth:`Batcher.submit` until its answer is back; the record's
walk waits there while other nodes keep running. There is no background task: whichever
parked call finds no one driving becomes the driver and does the model's batch work
(submitting a full or overdue batch, polling the batches in flight, resolving answers)
until its own answer arrives; then the next parked call takes over. So the work lives
exactly as long as someone waits for it, inside the run's own task tree, and a cancelled
driver hands over at once. Only the ledger's writes are shielded from cancellation (a stop
never leaves an event half written); HTTP calls and their retries are not, so a stop is
prompt. A driver cancelled while creating a batch leaves the file "unsettled": the next
driver looks its batch up before creating one, as a resume would.

A batch that fails, expires or is gone (404s in a row), and a request that fails inside
a completed batch with a transient status, go back into the queue until they were submitted
``1 + max_resubmits`` times; then the call fails with the last reason. A batch that cannot
be collected (polls refused, or failing again and again) stops the run: it is paid, so its
records stay unfinished for ``--resume`` (:class:`StopRunError`).

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

from grasp_core.errors import ModelCallError, RetryableModelError, StopRunError
from grasp_core.plugin import BatchOptions, RunMetrics, current_identity, get_logger
from grasp_nodes.clients.batch.answers import AnswerFiles, why_unanswered
from grasp_nodes.clients.batch.ledger import TERMINAL, BatchLedger
from grasp_nodes.clients.batch.requests import BatchAnswer
from grasp_nodes.clients.batch.settling import Settler
from grasp_nodes.clients.batch.stats import BatchStats
from grasp_nodes.clients.batch.submitter import BatchSubmitter
from grasp_nodes.clients.batch.waiters import FIRST_POLL, Poll, Reservation, Waiter, why_failed

__all__ = ["Batcher"]

_log = get_logger(__name__)

_NOTHING = Reservation()
_POLL_FAILURES = 5
"""Failed polls (or downloads, or lookups) in a row after which the run stops."""
_GONE_AFTER = 4
"""Polls in a row answered 404 after which a batch counts as gone (a provider may not know
a batch for a moment right after creating it); its requests are then submitted again."""


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
        self._unsettled: dict[str, list[Waiter]] = {}
        """Files uploaded and recorded whose batch is not recorded yet."""
        self.settler = Settler(name, options, submitter, ledger)
        self._answers = AnswerFiles(submitter)
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
        if batch is None and book.latest_file.get(custom_id) in self._unsettled:
            self._notify()  # its file's batch is being made: it joins that one
        elif batch is None:
            self._queue(waiter)
        else:  # polled, or (ended) its answers downloaded, by the driver
            self._members.setdefault(batch, set()).add(custom_id)
            self._track(batch)
            self._notify()
        return waiter

    def _withdraw(self, waiter: Waiter) -> None:
        """Forget ``waiter`` (answered, failed or cancelled); a cancelled request still in
        a batch is found there again by a resumed run."""
        if self._waiting.pop(waiter.custom_id, None) is not None:
            self.stats.parked -= 1
        if self._pending.get(waiter.custom_id) is waiter:
            self._unqueue(waiter)

    def _queue(self, waiter: Waiter) -> None:
        starts = not self._pending
        if starts:
            self._pending_since = time.monotonic()
        self._pending[waiter.custom_id] = waiter
        self._pending_bytes += len(waiter.line)
        self.stats.queued[waiter.record] += 1
        if starts or self._flush_due(time.monotonic()):
            self._notify()  # a new batch starts: the driver's sleep must end by max_wait

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
        for file_id in list(self._unsettled):
            await self._settle(file_id)
        if self._pending and self._flush_due(time.monotonic()) and not self._stopped:
            await self._flush()
        for batch, poll in list(self._polls.items()):
            if poll.next_at <= time.monotonic():
                await self._poll(batch, poll)

    def _idle_seconds(self) -> float:
        due = [poll.next_at for poll in self._polls.values()]
        if self._unsettled:
            due.append(time.monotonic() + FIRST_POLL)
        flushing = bool(self._pending) and not self._stopped
        if flushing:
            due.append(self._pending_since + self.options.max_wait)
        if flushing and self._flush_due(time.monotonic()):
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
        except ModelCallError as exc:
            for waiter in taken:
                self._finish(waiter, None, f"batch not submitted: {exc}")
            return
        except BaseException:  # cancelled: nothing recorded, nothing to pay
            for waiter in taken:
                self._queue(waiter)
            raise
        await self.ledger.write(self.name, {"event": "uploaded", "file": file_id, "ids": ids})
        self._unsettled[file_id] = taken  # until its batch is recorded
        await self._settle(file_id)

    async def _settle(self, file_id: str) -> None:
        """Make (or find) and record the batch of the uploaded ``file_id``; a refusal fails
        its requests, an outcome still unknown leaves it for the next step."""
        outcome = await self.settler.settle(file_id)
        if outcome is None:
            return
        taken = self._unsettled.pop(file_id)
        if isinstance(outcome, str):
            for waiter in taken:
                self._finish(waiter, None, f"batch not submitted: {outcome}")
            return
        batch_id = str(outcome["id"])
        cost = math.fsum(w.reservation.cost_usd for w in taken)
        reserved = [cost, sum(w.reservation.tokens for w in taken)]
        created = {"event": "created", "file": file_id, "batch": batch_id, "reserved": reserved}
        await self.ledger.write(self.name, created)
        self.stats.saw(batch_id, str(outcome.get("status") or "validating"))
        self._members[batch_id] = {w.custom_id for w in taken}
        self._track(batch_id)
        _log.info("batch submitted", model=self.name, batch=batch_id, requests=len(taken))

    async def _poll(self, batch: str, poll: Poll) -> None:
        """Poll ``batch``; once it has ended (now, or in the ledger), answer its members.
        It is tracked until they are answered: a failed download is tried again later."""
        if batch not in self.ledger.model(self.name).ended:
            try:
                info = await self.submitter.retrieve(batch)
            except ModelCallError as exc:
                if self._try_again(batch, poll, exc):
                    return
                reason = f"the provider no longer knows it ({exc})"
                info = {"status": "failed", "errors": {"data": [{"message": reason}]}}
            poll.failures = poll.missing = 0
            status = str(info.get("status"))
            self.stats.saw(batch, status)
            if status not in TERMINAL:
                poll.back_off(self.options.poll_interval)
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
            self.metrics.reserved.release(batch)  # its answers count as they are handed out
            poll.fresh = True
        members = self._members.get(batch, set())
        try:
            await self._resolve(batch, members)
        except ModelCallError as exc:
            if self._try_again(batch, poll, exc):
                return
            _log.warning("batch output gone", model=self.name, batch=batch, error=str(exc))
            self._answers.gone(batch)  # nothing left to collect: its requests go again
            await self._resolve(batch, members)
        del self._polls[batch]
        self._members.pop(batch, None)
        if poll.fresh:  # ended in this run: its requests are all answered now
            self._answers.drop(batch)
            done = [c for c in members if (w := self._waiting.get(c)) is not None and w.done]
            self.ledger.model(self.name).forget(done)

    def _try_again(self, batch: str, poll: Poll, exc: ModelCallError) -> bool:
        """After a failed poll or download: True when it is tried again later; False when
        the batch (or its output) counts as gone, after 404s in a row (nothing to collect:
        its requests are submitted again, within ``max_resubmits``)."""
        if exc.status != 404:
            self._poll_failed(batch, poll, exc)
            return True
        poll.missing += 1
        if poll.missing < _GONE_AFTER:
            poll.back_off(
                self.options.poll_interval
            )  # a provider may not know a new batch for a moment
            return True
        return False

    def _poll_failed(self, batch: str, poll: Poll, exc: ModelCallError) -> None:
        """A poll or download failed after its retries: try again later, unless the server
        refuses (a key or access error) or keeps failing; then the run stops, its records
        unfinished and the batch open in the ledger (paid: failing its records would lose
        it), so ``--resume`` collects it once the cause is fixed."""
        poll.failures += 1
        _log.warning("batch poll failed", model=self.name, batch=batch, error=str(exc))
        if isinstance(exc, RetryableModelError) and poll.failures < _POLL_FAILURES:
            poll.back_off(self.options.poll_interval)
            return
        raise StopRunError(
            f"model {self.name!r}: cannot collect batch {batch} ({exc}); fix the cause, then "
            "run again with --resume: it collects the batch"
        ) from exc

    def _track(self, batch: str) -> None:
        """Poll the open ``batch``, and hold its reservation (the ledger's) in the budget."""
        if batch in self._polls:
            return
        self._polls[batch] = Poll.first(self.options.poll_interval)
        book = self.ledger.model(self.name)
        reserved = book.reserved.get(batch)
        if reserved is not None and batch not in book.ended:
            self.metrics.reserved.reserve(batch, *reserved)
            self.metrics.notify()

    async def _resolve(self, batch: str, members: set[str]) -> None:
        """Answer the parked ``members`` of the ended ``batch``: its output, else
        resubmission; also those that joined while its output was downloaded."""
        ended = self.ledger.model(self.name).ended[batch]
        handled: set[str] = set()
        while any(c in self._waiting for c in members - handled):
            answers = await self._answers.of(batch, ended)  # no wait once downloaded
            for waiter in [self._waiting[c] for c in members - handled if c in self._waiting]:
                handled.add(waiter.custom_id)
                answer = answers.get(waiter.custom_id)
                if answer is not None and answer.body is not None:
                    self._finish(waiter, answer, None)
                else:
                    reason, final = why_unanswered(batch, ended, answer)
                    self._retry_or_fail(waiter, reason, final=final)

    async def _recover(self) -> None:
        """Once, on the first call: pick up what the ledger says an earlier run left in
        flight. A file uploaded with no batch recorded gets the batch the provider made of
        it (found by its input file), else one made now; open batches are polled again."""
        if self._recovered:
            return
        if self._recovery is None:
            self._recovery = anyio.Lock()
        async with self._recovery:
            if not self._recovered:
                await self.settler.recover()
                for batch in self.ledger.model(self.name).open_batches():
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
