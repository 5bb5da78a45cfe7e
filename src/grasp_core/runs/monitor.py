"""What a run watches while the engine works: prices, the budget cap, live progress, and
the ``metrics.json`` written at the end. Each run makes one (``runs.local.monitor_for``)."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Coroutine, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import anyio

from grasp_core.engine.storage import write_atomically
from grasp_core.models.pricing import prices_for
from grasp_core.observe.budget import BudgetCap, BudgetWatch, Spending
from grasp_core.observe.metrics import RunMetrics
from grasp_core.observe.progress import (
    ProgressReporter,
    ProgressSnapshot,
    RecordTotal,
    resolve_mode,
)
from grasp_core.runs.watch import ProgressFile

if TYPE_CHECKING:
    from grasp_core.config.budget import BudgetConfig
    from grasp_core.engine import Engine
    from grasp_core.models.backends import BackendPool
    from grasp_core.models.catalog import ModelCatalog
    from grasp_core.protocols import BuildEnv

__all__ = ["RunMonitor", "batch_summary", "merge_batch_summaries"]

_HELD_CHECK_SECONDS = 0.1
"""How often a run stopped by its budget looks for records held by batched models."""


class RunMonitor:
    """Prices the run's models, enforces its budget cap, reports progress, writes metrics."""

    def __init__(
        self,
        *,
        metrics: RunMetrics,
        metrics_path: Path,
        progress: bool | str = False,
        progress_every: float | None = None,
        max_cost: float | None = None,
        max_tokens: int | None = None,
        task_budget: BudgetConfig | None = None,
        progress_path: Path | None = None,
    ) -> None:
        self.metrics = metrics
        self.metrics_path = metrics_path
        self.progress_path = progress_path
        """Where the live progress file goes (``runs.watch``); None: no file."""
        self.progress_mode = resolve_mode(progress)
        self.progress_every = progress_every
        self.cap = BudgetCap(
            max_cost=max_cost if max_cost is not None else getattr(task_budget, "max_cost", None),
            max_tokens=max_tokens
            if max_tokens is not None
            else getattr(task_budget, "max_tokens", None),
        )
        self.watch: BudgetWatch | None = None
        self.total = RecordTotal()
        self._read: Callable[[float], ProgressSnapshot] | None = None
        self._batches: Callable[[], dict[str, Any]] | None = None
        self._engine: Engine | None = None
        """The engine, once the budget stopped it."""
        self._mock = False
        self._routes: dict[str, str] = {}

    def prepare(self, catalog: ModelCatalog, graph_models: list[str], *, resumed: bool) -> None:
        """Price every model (before any call, so costs add up as calls finish) and check
        that a dollar cap can be enforced. Blocking (reads files): run it in a thread."""
        self.metrics.prices = prices_for(catalog, sorted({*catalog.specs, *graph_models}))
        self._mock = catalog.mock_url is not None
        specs = {name: catalog.get(name) for name in self.metrics.prices}
        self._routes = {name: spec.price_as or spec.model for name, spec in specs.items()}
        unpriced = [m for m in graph_models if self.metrics.prices.get(m) is None]
        self.cap.check_prices(unpriced, catalog.source)
        earlier = Spending.recorded_in(self.metrics_path) if resumed else Spending()
        self.watch = BudgetWatch(self.cap, earlier, on_reached=lambda _reason: None)

    def attach(
        self,
        engine: Engine,
        backends: BackendPool,
        *,
        total: int | None,
        count: Callable[[], int | None] | None = None,
        batches: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        """Watch ``engine``: progress reads its counters, and it stops admitting records
        once the cap is reached (checked now too: earlier runs may have spent it). The
        record total is ``total``, or what ``count`` learns beside the run; ``batches``
        reports batched models' parked requests and batches by state."""
        self.total = RecordTotal(total, count)
        self._read = functools.partial(self._snapshot, engine, backends)
        self._batches = batches
        if self.watch is None or not self.cap.active:
            return
        self.watch.on_reached = functools.partial(self._budget_reached, engine)
        self.metrics.listeners.append(self.watch.check)
        self.watch.check(self.metrics)

    def _budget_reached(self, engine: Engine, reason: str) -> None:
        """Admit no more records, and let batched models submit no more batches."""
        engine.request_stop(finish_in_flight=True)
        self.metrics.reserved.stop(reason)
        self._engine = engine

    async def _stop_held_records(self) -> None:
        """Once the budget is reached, records whose requests wait for a batch that will
        not be submitted (``held``) never finish: when they are all that is left in
        flight, stop the run, leaving them for ``--resume``."""
        while True:
            await anyio.sleep(_HELD_CHECK_SECONDS)
            engine, read = self._engine, self._batches
            if engine is None or read is None:
                continue
            held = int(read().get("held", 0))
            if held and engine.in_flight <= held:
                engine.request_stop()
                return

    @property
    def stopped_by_budget(self) -> bool:
        return self.watch is not None and self.watch.reached

    def side_tasks(self) -> list[Callable[[], Coroutine[Any, Any, None]]]:
        """Tasks to run beside the attached engine until it returns (progress on stderr,
        and the progress file)."""
        if self._read is None:
            return []
        tasks: list[Callable[[], Coroutine[Any, Any, None]]] = []
        if self.progress_mode is not None:
            reporter = ProgressReporter(
                self.progress_mode, self._read, interval=self.progress_every
            )
            tasks.append(reporter.run)
        if self.progress_path is not None:
            tasks.append(ProgressFile(self.progress_path, self._read, self.metrics).run)
        if self._batches is not None and self.cap.active:
            tasks.append(self._stop_held_records)
        return [*tasks, self.total.learn] if tasks else []

    def _snapshot(self, engine: Engine, backends: BackendPool, elapsed: float) -> ProgressSnapshot:
        counts = engine.counts
        return ProgressSnapshot(
            done=counts.done,
            failed=counts.failed,
            filtered=counts.filtered,
            earlier=counts.skipped,
            in_flight=engine.in_flight,
            total=self.total.value,
            counting=self.total.counting,
            elapsed=elapsed,
            prompt_tokens=self.metrics.prompt_tokens,
            completion_tokens=self.metrics.completion_tokens,
            cost_usd=self.metrics.cost_usd,
            cache_hits=self.metrics.cache_hits,
            cache_misses=self.metrics.cache_misses,
            saved_usd=self.metrics.saved_cost_usd,
            backends={
                name: {"in_flight": b["in_flight"], "limit": b["current_limit"]}
                for name, b in backends.summary().items()
            },
            batches=self._batches() if self._batches is not None else {},
        )

    def pricing_summary(self) -> dict[str, Any]:
        """The ``pricing`` block of the run's metrics: whether the calls went to a mock
        server (then the cost is an estimate, and nothing was billed), and the route whose
        price each priced model that was called is counted at."""
        called = [name for name, stats in self.metrics.models.items() if stats.calls]
        priced = [m for m in sorted(called) if self.metrics.prices.get(m) and m in self._routes]
        return {"mock": self._mock, "priced_as": {m: self._routes[m] for m in priced}}

    def budget_summary(self) -> dict[str, Any]:
        """The ``budget`` block of the run's metrics."""
        watch = self.watch or BudgetWatch(self.cap, Spending(), lambda _reason: None)
        return watch.summary(self.metrics)

    def write_metrics(self, records: dict[str, Any], metrics: dict[str, Any]) -> None:
        """Write ``metrics.json`` atomically: record counts, then the run's metrics."""
        body = {"records": records, **metrics}
        write_atomically(self.metrics_path, json.dumps(body, indent=2))


def batch_summary(env: BuildEnv) -> Callable[[], dict[str, Any]] | None:
    """What batched models report (requests parked, batches by state), when the run has
    any: their counters sit among the run's shared objects, put there by the batch
    clients (``grasp_nodes.clients.batch``), which ``runs`` cannot import."""
    stats = env.shared.get("grasp_nodes.batch_stats")
    return None if stats is None else cast("Callable[[], dict[str, Any]]", stats.summary)


def merge_batch_summaries(summaries: Iterable[dict[str, Any] | None]) -> dict[str, Any] | None:
    """Several processes' ``batches`` blocks added up (Ray shards'); None when none has one."""
    merged: dict[str, Any] | None = None
    for summary in summaries:
        if not summary:
            continue
        merged = merged or {"parked": 0, "held": 0, "batches": {}}
        merged["parked"] += summary.get("parked", 0)
        merged["held"] += summary.get("held", 0)
        for state, count in summary.get("batches", {}).items():
            merged["batches"][state] = merged["batches"].get(state, 0) + count
    if merged is not None:
        merged["batches"] = dict(sorted(merged["batches"].items()))
    return merged
