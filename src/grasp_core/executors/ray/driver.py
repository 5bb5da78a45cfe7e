"""The Ray driver: plan the shards, start one Ray task per shard, keep the backend limits
and the budget cap global, retry a crashed shard a bounded number of times, and merge the
parts at the end.

The driver holds no records: only the plan, the actors' handles and per-shard counts.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from grasp_core.config.task_file import Task
from grasp_core.errors import ConfigError, GraspError, ResumeError, ShardFailedError
from grasp_core.executors.ray._ray import import_ray
from grasp_core.executors.ray.board import ProgressBoard, ReportStep
from grasp_core.executors.ray.connect import connected
from grasp_core.executors.ray.finish import DriverRun, ShardOutcome, finish_run, interrupted_run
from grasp_core.executors.ray.layout import ShardLayout
from grasp_core.executors.ray.limits import BackendLimits
from grasp_core.executors.ray.shard import ShardResult, ShardSpec, lease_holder, run_shard
from grasp_core.logs import get_logger
from grasp_core.models.backends import BackendPool
from grasp_core.models.catalog import ModelCatalog
from grasp_core.observe.budget import BudgetCap, Spending
from grasp_core.observe.metrics import RunMetrics
from grasp_core.runs import (
    RunLock,
    RunOptions,
    RunResult,
    TaskParts,
    catalog_for,
    check_task,
    graph_models,
    load_task,
    mock_server_for,
    monitor_for,
)

__all__ = ["ShardFailedError", "run_on_ray"]

_log = get_logger(__name__)
MAX_ATTEMPTS = 3
"""Tries per shard: the first run and two resumes after a worker crash or an unexpected
error. A GraSP error (bad config, unreadable input) is not retried."""
_POLL_SECONDS = 2.0
_BOARD = "the run's progress and budget (its board)"

ProgressCallback = Callable[[dict[int, dict[str, int]]], None]


def run_on_ray(
    task: Task | str | Path,
    options: RunOptions,
    *,
    on_progress: ProgressCallback | None = None,
    lease_seconds: float = 1.0,
) -> RunResult:
    """Run ``task`` on Ray (see :doc:`how-to/ray`); the output equals a local run's."""
    ray = import_ray()
    started = time.perf_counter()
    loaded = load_task(task, options)
    with mock_server_for(options.mock) as mock_url:
        catalog = catalog_for(loaded, options, mock_url)
        models = _graph_models(loaded, catalog, options)
        backends = _backends_of(models, catalog)
        parts = TaskParts(loaded, options, catalog)
        if parts.ordered():
            raise ConfigError(
                "source order (--ordered, or a sink's `ordered: true`) needs the local "
                "executor: Ray shards finish on their own and are merged shard by shard. Drop "
                "it, or run without --executor ray"
            )
        metrics = RunMetrics()
        local = DriverRun(parts, metrics, monitor_for(loaded, options, parts.layout, metrics))
        _refuse_batched_budget(catalog, models, local)
        layout = ShardLayout.beside(parts.layout.journal_path)
        _refuse_foreign_output(local, layout, options)
        resumed = options.resume and not options.overwrite and layout.plan_path.is_file()
        local.monitor.prepare(catalog, models, resumed=resumed)  # prices; earlier spending
        earlier = local.monitor.watch.earlier if local.monitor.watch else Spending()
        lock = RunLock(parts.layout.lock_path)
        lock.acquire()
        try:
            with connected(ray, options.ray_address, options.handle_signals) as session:
                count = layout.prepare(
                    num_shards=options.num_shards,
                    default=max(1, int(session.cpus)),
                    resume=options.resume,
                    overwrite=options.overwrite,
                    plan={"task": loaded.name, "task_hash": loaded.fingerprint()},
                )
                jobs = _Jobs(ray, loaded, options, catalog, layout, count, on_progress)
                jobs.owns_session = session.owned
                try:
                    jobs.start(backends, lease_seconds, local.monitor.cap, earlier)
                    results = jobs.wait()
                except KeyboardInterrupt:
                    jobs.cancel()
                    if jobs.board is None:  # no shard started
                        raise
                    stopped = _stopped(jobs, local, layout, time.perf_counter() - started)
                    if not options.handle_signals:
                        raise
                    return stopped
                limits = jobs.limits_summary()
                budget = jobs.budget_summary()
            seconds = time.perf_counter() - started
            return finish_run(local, layout, results, limits, budget, seconds)
        finally:
            lock.release()


def _stopped(jobs: _Jobs, local: DriverRun, layout: ShardLayout, seconds: float) -> RunResult:
    """The run whose shards were cancelled (Ctrl-C, or SIGTERM with ``handle_signals``):
    what the shards posted and spent is recorded, as a local run stopped by a signal does."""
    _log.warning("stopping: shards cancelled (journals keep their work); run again with --resume")
    posted, _reason = jobs.ask(jobs.board.poll.remote(), _BOARD)
    limits, budget = jobs.limits_summary(), jobs.budget_summary()
    return interrupted_run(local, layout, posted, limits, budget, seconds)


def _graph_models(task: Task, catalog: ModelCatalog, options: RunOptions) -> list[str]:
    """Every model the graph calls (compiling also checks the task, with the run's flags)."""
    return graph_models(anyio.run(check_task, task, catalog, options))


def _refuse_batched_budget(catalog: ModelCatalog, models: list[str], local: DriverRun) -> None:
    """Batch mode runs in each shard (its own batches and ledger), but a budget cap under
    Ray counts the shards' spending as answers come back, not when a batch is submitted
    (which a local run reserves): so the two together need the local executor."""
    batched = [m for m in catalog.named(models) if catalog.get(m).batch is not None]
    if batched and local.monitor.cap.active:
        raise ConfigError(
            f"a budget cap with batch mode (`batch:` on {', '.join(map(repr, batched))}) "
            "needs the local executor: Ray shards count a batch's cost only when its "
            "answers come back. Run without --executor ray, or without the cap"
        )


def _backends_of(models: list[str], catalog: ModelCatalog) -> dict[str, dict[str, Any]]:
    """Each backend the ``models`` call, with its limits."""
    pool = BackendPool(catalog)
    found: dict[str, dict[str, Any]] = {}
    for model in models:
        backend = pool.backend(model)
        found[backend.name] = {
            "max_concurrency": backend.max_concurrency,
            "rpm": backend.rpm,
            "tpm": backend.tpm,
            "adaptive": backend.adaptive,
        }
    return found


def _refuse_foreign_output(local: DriverRun, layout: ShardLayout, options: RunOptions) -> None:
    if options.overwrite or layout.plan_path.is_file():
        return
    for target in local.parts.layout.sink_paths():
        if target.is_file() and target.stat().st_size > 0:
            raise ResumeError(
                f"{target} exists and no shards folder says how it was made, so this run "
                f"would overwrite it. Move it away, or pass {options.hint('overwrite')}"
            )


@dataclass
class _Jobs:
    ray: Any
    task: Task
    options: RunOptions
    catalog: ModelCatalog
    layout: ShardLayout
    count: int
    on_progress: ProgressCallback | None
    actors: dict[str, Any] = field(default_factory=dict)
    board: Any = None
    pending: dict[Any, int] = field(default_factory=dict)
    outcomes: dict[int, ShardOutcome] = field(default_factory=dict)
    reported: dict[int, dict[str, int]] = field(default_factory=dict)
    lease_seconds: float = 1.0
    report_step: ReportStep = field(default_factory=ReportStep)
    stop_reason: str | None = None
    owns_session: bool = False
    """This run opened the Ray session, so closing it ends the shards (see :meth:`cancel`)."""

    def start(
        self,
        backends: dict[str, dict[str, Any]],
        lease_seconds: float,
        cap: BudgetCap,
        earlier: Spending,
    ) -> None:
        """Start the actors and every shard; the board keeps ``cap`` over all shards, with
        what ``earlier`` runs of this output spent."""
        ray = self.ray
        limits_actor = ray.remote(num_cpus=0, max_concurrency=10_000)(BackendLimits)
        self.actors = {name: limits_actor.remote(name, **p) for name, p in backends.items()}
        self.board = ray.remote(num_cpus=0)(ProgressBoard).remote(cap, earlier)
        self.report_step = ReportStep.of(cap, earlier, self.count)
        self.lease_seconds = lease_seconds
        self._task = ray.remote(max_retries=0)(run_shard)
        for index in range(self.count):
            self.outcomes[index] = ShardOutcome(index)
            self._submit(index)

    def _submit(self, index: int) -> None:
        spec = ShardSpec(
            index=index,
            count=self.count,
            folder=self.layout.folder(index),
            limits=self.actors,
            board=self.board,
            lease_seconds=self.lease_seconds,
            attempt=self.outcomes[index].attempts + 1,
            report_step=self.report_step,
        )
        self.outcomes[index].attempts += 1
        ref = self._task.remote(self.task, self.options, self.catalog, spec)
        self.pending[ref] = index

    def wait(self) -> dict[int, ShardOutcome]:
        """Wait for every shard, retrying crashed ones; raise if any failed for good."""
        ray = self.ray
        try:
            while self.pending:
                ready, _ = ray.wait(list(self.pending), num_returns=1, timeout=_POLL_SECONDS)
                for ref in ready:
                    self._collect(ref)
                self._report()
        except BaseException:
            self.cancel()
            raise
        failed = [o for o in self.outcomes.values() if o.result is None]
        if failed:
            raise ShardFailedError(
                f"{len(failed)} of {self.count} shards failed: "
                + "; ".join(
                    f"shard {o.index} (journal {self.layout.journal(o.index)}) after "
                    f"{o.attempts} attempt(s): {o.error}"
                    for o in failed
                )
                + ". The other shards' work is kept: fix the cause and run again with --resume"
            )
        return self.outcomes

    def cancel(self) -> None:
        """Stop every shard still running (their journals keep what they committed).

        In a session this run opened, nothing is cancelled here: closing the session (next,
        on the way out) ends the shards, as Ray ends the tasks of a driver that leaves and a
        local cluster is stopped. Force-cancelling a shard that finishes at that instant can
        abort the driver inside Ray's core ("Tried to complete task that was not pending",
        a race between the cancel and the task's reply). In a session the caller opened,
        the shards still running are force-cancelled."""
        pending, self.pending = self.pending, {}
        if self.owns_session or not pending:
            return
        done, _ = self.ray.wait(list(pending), num_returns=len(pending), timeout=0)
        for ref, index in pending.items():
            if ref not in done:
                self.ray.cancel(ref, force=True)
            self._reclaim(index)

    def _reclaim(self, index: int) -> None:
        """Free the backend slots the shard's latest attempt may still hold."""
        holder = lease_holder(index, self.outcomes[index].attempts)
        for actor in self.actors.values():
            actor.reclaim.remote(holder)

    def ask(self, ref: Any, actor: str) -> Any:
        """``ref``'s answer from ``actor`` (what it keeps, for the error if it died)."""
        try:
            return self.ray.get(ref)
        except self.ray.exceptions.RayActorError as exc:
            raise ShardFailedError(
                f"the Ray actor keeping {actor} died ({str(exc).splitlines()[0]}), so the "
                "run cannot go on. The shards' journals keep what they committed: check the "
                "cluster (memory, nodes), then run again with --resume"
            ) from exc

    def _collect(self, ref: Any) -> None:
        ray = self.ray
        index = self.pending.pop(ref)
        outcome = self.outcomes[index]
        self._reclaim(index)
        try:
            done: ShardResult = ray.get(ref)
            outcome.result, outcome.metrics = done.result, done.metrics
            return
        except ray.exceptions.RayTaskError as exc:
            cause = exc.cause if isinstance(exc.cause, BaseException) else exc
            outcome.error = f"{type(cause).__name__}: {cause}"
            retry = not isinstance(cause, GraspError)
        except ray.exceptions.RayError as exc:  # the worker died (killed, out of memory)
            outcome.error = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
            retry = True
        _log.warning("shard failed", shard=index, attempt=outcome.attempts, error=outcome.error)
        if retry and outcome.attempts < MAX_ATTEMPTS:
            self._submit(index)

    def _report(self) -> None:
        snapshot, reason = self.ask(self.board.poll.remote(), _BOARD)
        if reason is not None and self.stop_reason is None:
            self.stop_reason = reason
            _log.warning("budget reached; shards finish their records in flight", reason=reason)
        for index, counts in sorted(snapshot.items()):
            if self.reported.get(index) != counts:
                _log.info("shard progress", shard=index, of=self.count, **counts)
                if self.options.progress and self.on_progress is None:
                    shown = ", ".join(f"{n} {key.replace('_', ' ')}" for key, n in counts.items())
                    print(f"shard {index + 1}/{self.count}: {shown}", file=sys.stderr, flush=True)
        self.reported = snapshot
        if self.on_progress is not None:
            self.on_progress(snapshot)

    def budget_summary(self) -> dict[str, Any]:
        """The run's ``budget`` block: every shard's spending against the cap."""
        summary: dict[str, Any] = self.ask(self.board.budget.remote(), _BOARD)
        return summary

    def limits_summary(self) -> dict[str, Any]:
        """Each backend's global limits, as its actor keeps them."""
        refs = {name: actor.summary.remote() for name, actor in self.actors.items()}
        return {
            name: self.ask(ref, f"the limits of backend {name!r}") for name, ref in refs.items()
        }
