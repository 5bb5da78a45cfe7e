"""One shard on a Ray worker: the ordinary run (engine, journal, resume) over part of the
input, writing JSON Lines into its own folder, with backend limits leased from actors."""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from grasp_core.config.task_file import Task
from grasp_core.engine import Engine
from grasp_core.executors.ray.board import ReportStep
from grasp_core.executors.ray.layout import SHARD_OUTPUT
from grasp_core.executors.ray.leases import LeasedBackend, SlotLease
from grasp_core.executors.ray.reporter import ShardReporter
from grasp_core.executors.ray.sharding import shard_items, shard_source
from grasp_core.logs import get_logger
from grasp_core.models.backends import Backend, BackendPool
from grasp_core.models.catalog import ModelCatalog
from grasp_core.observe.metrics import RunMetrics
from grasp_core.protocols import BuildEnv, Source, SourceItem
from grasp_core.runs import RunHooks, RunOptions, RunResult, TaskRun

__all__ = ["ShardResult", "ShardSpec", "lease_holder", "run_shard"]

_log = get_logger(__name__)


@dataclass(frozen=True)
class ShardSpec:
    """What a worker needs to run one shard."""

    index: int
    count: int
    folder: Path
    limits: dict[str, Any]
    """Backend name → its limits actor."""
    board: Any = None
    """The board actor (or None): progress, spending and the run's budget."""
    lease_seconds: float = 1.0
    attempt: int = 1
    """Which try of this shard (the board counts a crashed try's spending too)."""
    report_step: ReportStep = field(default_factory=ReportStep)
    """Spending after which the shard posts before its timer (with a budget cap)."""

    @property
    def holder(self) -> str:
        """Who holds this attempt's backend slots: a retry leases afresh, as someone else."""
        return lease_holder(self.index, self.attempt)


@dataclass(frozen=True)
class ShardResult:
    """What a shard's task returns to the driver."""

    result: RunResult
    metrics: RunMetrics
    """The shard's raw counts and latencies, which the driver merges into the run's."""


def lease_holder(index: int, attempt: int) -> str:
    """The name under which attempt ``attempt`` of shard ``index`` leases backend slots."""
    return f"shard-{index:05d}/attempt-{attempt}"


def run_shard(
    task: Task, options: RunOptions, catalog: ModelCatalog, spec: ShardSpec
) -> ShardResult:
    """Run one shard to the end in this process (a Ray task body; plain, not async: the
    engine runs its own event loop). Resumes from the shard's journal when it has one.

    The run's budget cap is the board's to keep (over every shard), so the shard has none.
    A shard whose batch ledger exists has started too (batches submitted, and paid for,
    before its first record was journaled): resuming keeps the ledger."""
    ledger = spec.folder / "output.batches" / "ledger.jsonl"
    started = (spec.folder / "output.journal.jsonl").is_file() or ledger.is_file()
    shard_options = dataclasses.replace(
        options,
        max_cost=None,
        max_tokens=None,
        executor="local",
        num_shards=None,
        ray_address=None,
        output_dir=spec.folder,
        mock=False,
        models=catalog,
        resume=started,
        overwrite=not started,
        handle_signals=False,
        progress=False,
    )
    run = TaskRun(_shard_task(task), shard_options, catalog, hooks=_ShardHooks(spec))
    _wait_for_unlock(run.layout.lock_path)
    result = anyio.run(run.execute)
    return ShardResult(result, run.metrics.detached())


def _wait_for_unlock(path: Path, seconds: float = 60.0) -> None:
    """Give a previous attempt's worker (its driver just died) time to exit and unlock."""
    if not path.is_file():
        return
    deadline = time.monotonic() + seconds
    with path.open("rb") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() > deadline:
                    return  # the run itself reports who holds it
                time.sleep(0.2)
                continue
            fcntl.flock(handle, fcntl.LOCK_UN)
            return


def _shard_task(task: Task) -> Task:
    """The task writing JSON Lines to ``output.jsonl``, without a ``budget`` block nor
    post-process steps (the driver runs them over the merged output; the journal's task hash
    still comes from the task file, so a shard resumes only the task it started)."""
    data = task.config.data_config.model_copy(
        update={"sink": {"type": "jsonl", "file_path": SHARD_OUTPUT}}
    )
    no_steps = {"post_process": None, "graph_post_process": None}
    config = task.config.model_copy(update={"data_config": data, "budget": None, **no_steps})
    return dataclasses.replace(task, config=config)


class _ShardHooks(RunHooks):
    """A shard's run: backend slots leased from the limits actors, one shard of the source
    (or of a data-less run's records), and progress posted to the board."""

    def __init__(self, spec: ShardSpec) -> None:
        self.spec = spec

    def env(self, env: BuildEnv) -> BuildEnv:
        leases = _Leases(self.spec)
        env.backends = BackendPool(env.models, make_backend=leases.backend)
        env.shared["grasp_core.executors.ray.leases"] = leases
        return env

    def source(self, source: Source) -> Source:
        return shard_source(source, self.spec.index, self.spec.count)

    def items(self, items: Iterator[SourceItem], *, data_less: bool) -> Iterator[SourceItem]:
        if data_less:
            return shard_items(items, self.spec.index, self.spec.count)
        return items

    @contextlib.asynccontextmanager
    async def around_engine(self, engine: Engine, metrics: RunMetrics) -> AsyncIterator[None]:
        if self.spec.board is None:
            yield
            return
        reporter = ShardReporter(
            self.spec.board,
            shard=self.spec.index,
            attempt=self.spec.attempt,
            step=self.spec.report_step,
            engine=engine,
            metrics=metrics,
        )
        async with anyio.create_task_group() as tg:
            await tg.start(reporter.run)
            yield
            tg.cancel_scope.cancel()
        await reporter.post()  # the final counts and spending, before the driver reads them


class _Leases:
    """The shard's leases, one per backend; closed (slots returned) when the run ends."""

    def __init__(self, spec: ShardSpec) -> None:
        self.spec = spec
        self.leases: list[SlotLease] = []

    def backend(self, **params: Any) -> Backend:
        limits = self.spec.limits.get(params["name"])
        if limits is None:  # a model the graph did not name up front: its limits stay local
            _log.warning("backend limits are per shard", backend=params["name"])
            return Backend(**params)
        lease = SlotLease(
            limits,
            self.spec.holder,
            max_concurrency=params["max_concurrency"],
            lease_seconds=self.spec.lease_seconds,
        )
        self.leases.append(lease)
        return LeasedBackend(**params, lease=lease)

    async def aclose(self) -> None:
        for lease in self.leases:
            await lease.aclose()
