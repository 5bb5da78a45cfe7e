"""The Ray driver: plan the shards, start one Ray task per shard, keep the backend limits
and the budget cap global, retry a crashed shard a bounded number of times, and merge the
parts at the end.

The driver holds no records: only the plan, the actors' handles and per-shard counts.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from grasp_core.backends import BackendPool
from grasp_core.budget import BudgetCap, Spending
from grasp_core.distributed._ray import import_ray
from grasp_core.distributed.board import ProgressBoard, ReportStep
from grasp_core.distributed.layout import ShardLayout
from grasp_core.distributed.limits import BackendLimits
from grasp_core.distributed.merge import concatenate, merge_into
from grasp_core.distributed.shard import ShardSpec, run_shard
from grasp_core.errors import GraspError, ResumeError, ShardFailedError
from grasp_core.logs import get_logger
from grasp_core.models_file import ModelCatalog
from grasp_core.quality_run import with_quality_tasks
from grasp_core.runner import (
    READABLE_FORMATS,
    RunLock,
    RunOptions,
    RunResult,
    TaskRun,
    catalog_for,
    check_task,
    mock_server_for,
    models_of,
)
from grasp_core.task import Task

__all__ = ["ShardFailedError", "run_on_ray"]

_log = get_logger(__name__)
MAX_ATTEMPTS = 3
"""Tries per shard: the first run and two resumes after a worker crash or an unexpected
error. A GraSP error (bad config, unreadable input) is not retried."""
_POLL_SECONDS = 2.0

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
    loaded = with_quality_tasks(
        task if isinstance(task, Task) else Task.load(task), options.quality
    )
    with mock_server_for(options.mock) as mock_url:
        catalog = catalog_for(loaded, options, mock_url)
        models = _graph_models(loaded, catalog)
        backends = _backends_of(models, catalog)
        local = TaskRun(loaded, options, catalog)
        layout = ShardLayout.beside(local.journal_path)
        _refuse_foreign_output(local, layout, options)
        resumed = options.resume and not options.overwrite and layout.plan_path.is_file()
        local.monitor.prepare(catalog, models, resumed=resumed)  # prices; earlier spending
        earlier = local.monitor.watch.earlier if local.monitor.watch else Spending()
        lock = RunLock(local.journal_path.with_suffix(".lock"))
        lock.acquire()
        try:
            with _connected(ray, options.ray_address) as cpus:
                count = layout.prepare(
                    num_shards=options.num_shards,
                    default=max(1, int(cpus)),
                    resume=options.resume,
                    overwrite=options.overwrite,
                    plan={"task": loaded.name, "task_hash": loaded.fingerprint()},
                )
                jobs = _Jobs(ray, loaded, options, catalog, layout, count, on_progress)
                jobs.start(backends, lease_seconds, local.monitor.cap, earlier)
                results = jobs.wait()
                limits = jobs.limits_summary()
                budget = jobs.budget_summary()
            seconds = time.perf_counter() - started
            return _finish(local, layout, results, limits, budget, seconds)
        finally:
            lock.release()


def _graph_models(task: Task, catalog: ModelCatalog) -> list[str]:
    """Every model the graph calls (compiling also checks the task)."""
    graph = anyio.run(check_task, task, catalog)
    return sorted({m for n in graph.nodes.values() for m in models_of(n.node)})


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


def _refuse_foreign_output(local: TaskRun, layout: ShardLayout, options: RunOptions) -> None:
    if options.overwrite or layout.plan_path.is_file():
        return
    for target in local.sink_paths():
        if target.is_file() and target.stat().st_size > 0:
            raise ResumeError(
                f"{target} exists and no shards folder says how it was made, so this run "
                "would overwrite it. Move it away, or pass --overwrite"
            )


@contextmanager
def _connected(ray: Any, address: str | None) -> Iterator[float]:
    """Connect to ``address`` (or $RAY_ADDRESS, else start a local cluster); yield its
    CPU count. A cluster this call started is shut down at the end."""
    ours = not ray.is_initialized()
    if ours:
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    try:
        yield float(ray.cluster_resources().get("CPU", 1.0))
    finally:
        if ours:
            ray.shutdown()


@dataclass
class _Outcome:
    index: int
    attempts: int = 0
    result: RunResult | None = None
    error: str | None = None


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
    outcomes: dict[int, _Outcome] = field(default_factory=dict)
    reported: dict[int, dict[str, int]] = field(default_factory=dict)
    lease_seconds: float = 1.0
    report_step: ReportStep = field(default_factory=ReportStep)
    stop_reason: str | None = None

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
            self.outcomes[index] = _Outcome(index)
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

    def wait(self) -> dict[int, _Outcome]:
        """Wait for every shard, retrying crashed ones; raise if any failed for good."""
        ray = self.ray
        try:
            while self.pending:
                ready, _ = ray.wait(list(self.pending), num_returns=1, timeout=_POLL_SECONDS)
                for ref in ready:
                    self._collect(ref)
                self._report()
        except KeyboardInterrupt:
            for ref in self.pending:
                ray.cancel(ref, force=True)
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

    def _collect(self, ref: Any) -> None:
        ray = self.ray
        index = self.pending.pop(ref)
        outcome = self.outcomes[index]
        for actor in self.actors.values():
            actor.reclaim.remote(f"shard-{index:05d}")
        try:
            outcome.result = ray.get(ref)
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
        snapshot, reason = self.ray.get(self.board.poll.remote())
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
        summary: dict[str, Any] = self.ray.get(self.board.budget.remote())
        return summary

    def limits_summary(self) -> dict[str, Any]:
        names = list(self.actors)
        summaries = self.ray.get([self.actors[n].summary.remote() for n in names])
        return dict(zip(names, summaries, strict=True))


def _finish(
    local: TaskRun,
    layout: ShardLayout,
    outcomes: dict[int, _Outcome],
    limits: dict[str, Any],
    budget: dict[str, Any],
    seconds: float,
) -> RunResult:
    results = [outcomes[i].result for i in sorted(outcomes)]
    shards = [r for r in results if r is not None]
    indexes = sorted(outcomes)
    sink_paths = merge_into(local.sinks(), [layout.output(i) for i in indexes])
    concatenate([layout.failures(i) for i in indexes], local.failures_path)
    reasons: dict[str, int] = {}
    for shard in shards:
        for reason, n in shard.failure_reasons.items():
            reasons[reason] = reasons.get(reason, 0) + n
    stopped_by_budget = bool(budget["stopped_by_budget"])
    result = RunResult(
        task=local.task.name,
        done=sum(s.done for s in shards),
        failed=sum(s.failed for s in shards),
        filtered=sum(s.filtered for s in shards),
        previously_done=sum(s.previously_done for s in shards),
        interrupted=stopped_by_budget or any(s.interrupted for s in shards),
        seconds=seconds,
        output_paths=[p for paths in sink_paths.values() for p in paths],
        sink_paths=sink_paths,
        failures_path=local.failures_path,
        journal_path=layout.root,
        summary_path=local.summary_path,
        metrics={
            "executor": "ray",
            "backends": limits,
            "shards": {
                str(i): {"done": s.done, "failed": s.failed, "seconds": round(s.seconds, 3)}
                for i, s in zip(indexes, shards, strict=True)
            },
            "budget": budget,
        },
        failure_reasons=reasons,
        allowed_failures=shards[0].allowed_failures if shards else None,
        previously_failed=sum(s.previously_failed for s in shards),
        output_format=kind if (kind := str(local.sink_block["type"])) in READABLE_FORMATS else None,
        stopped_by_budget=stopped_by_budget,
        metrics_path=local.monitor.metrics_path,
    )
    local.write_summary(result)
    return result
