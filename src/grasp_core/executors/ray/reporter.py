"""A shard's side of the board: post the shard's counts and spending, and stop admitting
records once the board answers that the run's budget is reached."""

from __future__ import annotations

from typing import Any

import anyio
import anyio.to_thread
from anyio.abc import TaskStatus

from grasp_core.engine import Engine
from grasp_core.executors.ray._ray import import_ray
from grasp_core.executors.ray.board import ReportStep
from grasp_core.logs import get_logger
from grasp_core.observe.budget import Spending
from grasp_core.observe.metrics import RunMetrics

__all__ = ["PROGRESS_SECONDS", "ShardReporter"]

PROGRESS_SECONDS = 1.0
"""Longest time between a shard's posts."""
_log = get_logger(__name__)


class ShardReporter:
    """Posts every :data:`PROGRESS_SECONDS`, and as soon as the shard has spent another
    ``step`` (see :class:`ReportStep`); each post waits for the board's answer."""

    def __init__(
        self,
        board: Any,
        *,
        shard: int,
        attempt: int,
        step: ReportStep,
        engine: Engine,
        metrics: RunMetrics,
    ) -> None:
        self.board = board
        self.shard = shard
        self.attempt = attempt
        self.step = step
        self.engine = engine
        self.metrics = metrics
        self.stopped_by: str | None = None
        self._ray = import_ray()
        self._posted = Spending()
        self._due = anyio.Event()
        metrics.listeners.append(self._after_call)

    def _spent(self) -> Spending:
        return Spending(self.metrics.cost_usd, self.metrics.total_tokens)

    def _after_call(self, _metrics: RunMetrics) -> None:
        if self.step.due(self._spent(), self._posted):
            self._due.set()

    async def post(self) -> str | None:
        """Post the counts and spending; return why the run stops (its budget is reached),
        else ``None``."""
        counts = self.engine.counts
        spent = self._spent()
        ref = self.board.update.remote(
            self.shard,
            {
                "done": counts.done,
                "failed": counts.failed,
                "filtered": counts.filtered,
                "earlier": counts.skipped,
            },
            spent,
            self.attempt,
        )
        self._posted = spent
        self._due = anyio.Event()
        reason: str | None = await anyio.to_thread.run_sync(self._ray.get, ref)
        return reason

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Post once, then report started (so a run whose budget is already spent admits
        no record), then post until cancelled. On the board's word, stop admitting records
        and let those in flight finish."""
        reason = await self.post()
        task_status.started()
        while True:
            if reason is not None and self.stopped_by is None:
                self.stopped_by = reason
                _log.warning("budget reached; finishing records in flight", shard=self.shard)
                self.engine.request_stop(finish_in_flight=True)
            with anyio.move_on_after(PROGRESS_SECONDS):
                await self._due.wait()
            reason = await self.post()
