"""``TaskRun``: one run of a task in this process — prepare or resume its journal and sinks,
run the engine over its records, finalize the sinks and write the summary."""

from __future__ import annotations

import contextlib
import functools
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import anyio
import anyio.to_thread

from grasp_core import _collector
from grasp_core.config.task_file import Task
from grasp_core.engine import FAILURES_SINK, Engine, EngineCounts, raise_grasp_error
from grasp_core.engine.journal import Journal, JournalState
from grasp_core.engine.row_formats import format_flag, format_label
from grasp_core.engine.storage import as_output_error
from grasp_core.errors import ResumeError
from grasp_core.graph.compiled import CompiledGraph
from grasp_core.graph.node_call import stop_on_interrupt
from grasp_core.logs import get_logger
from grasp_core.models.catalog import ModelCatalog
from grasp_core.observe.metrics import RunMetrics
from grasp_core.protocols import BuildEnv, Sink, Source, SourceItem
from grasp_core.runs.catalog import graph_models
from grasp_core.runs.curation import post_process_run
from grasp_core.runs.hooks import RunHooks
from grasp_core.runs.layout import RunLayout
from grasp_core.runs.lock import RunLock
from grasp_core.runs.monitor import RunMonitor, batch_summary
from grasp_core.runs.options import RunOptions
from grasp_core.runs.parts import TaskParts
from grasp_core.runs.preflight import check_before_calls
from grasp_core.runs.provenance import RunProvenance
from grasp_core.runs.result import RunResult
from grasp_core.runs.reuse import Memo, merge_memos, reuse_memo
from grasp_core.runs.signals import StopSignals
from grasp_core.runs.summary import write_summary

__all__ = ["TaskRun", "close_shared", "default_window", "monitor_for"]

_log = get_logger(__name__)


def monitor_for(
    task: Task, options: RunOptions, layout: RunLayout, metrics: RunMetrics
) -> RunMonitor:
    """The run's monitor: progress display, metrics file and budget caps."""
    return RunMonitor(
        metrics=metrics,
        metrics_path=layout.metrics_path,
        progress=options.progress,
        progress_every=options.progress_every,
        max_cost=options.max_cost,
        max_tokens=options.max_tokens,
        task_budget=task.config.budget,
        progress_path=layout.progress_path,
    )


class TaskRun:
    """One run of a task on this machine. The local executor calls :meth:`execute`; the Ray
    executor runs one per shard, adapted through ``hooks``."""

    def __init__(
        self,
        task: Task,
        options: RunOptions,
        catalog: ModelCatalog,
        *,
        hooks: RunHooks | None = None,
    ) -> None:
        self.task = task
        self.options = options
        self.parts = TaskParts(task, options, catalog)
        self.layout = self.parts.layout
        self.hooks = hooks or RunHooks()
        self.metrics = RunMetrics()
        self.monitor = monitor_for(task, options, self.layout, self.metrics)
        self.signals = StopSignals()
        self._signal_exit: SystemExit | None = None
        """A ``SystemExit`` a signal handler raised in a record's walk: the run stops, closes
        its files, then raises it (:mod:`grasp_core.signal_exits`)."""

    async def execute(self) -> RunResult:
        """Run the task and return its result.

        A full or read-only disk raises :class:`OutputWriteError`, chained to the operating
        system's error, once the lock is released and every file and model client is closed:
        what was committed stays, and ``--resume`` finishes the rest."""
        with self.signals.installed(self.options.handle_signals):
            try:
                result = await self._execute()
            except Exception as exc:
                translated = as_output_error(exc, self.layout.journal_path.parent)
                if translated is None:
                    raise
                raise translated[0] from translated[1]
        if self._signal_exit is not None:  # the run stopped and closed its files: now exit
            raise self._signal_exit
        return result

    async def _execute(self) -> RunResult:
        started = time.perf_counter()
        parts, layout, options = self.parts, self.layout, self.options
        journal = Journal(layout.journal_path)
        seed = parts.seed(journal)
        self.provenance = RunProvenance(parts, seed=seed)
        env = self.hooks.env(parts.build_env(seed, self.metrics, with_cache=True))
        async with contextlib.AsyncExitStack() as cleanup:
            cleanup.push_async_callback(close_shared, env)  # clients exist once compiled
            graph, shaper, validator = parts.compile(env)
            row_mapper = parts.row_mapper()
            await check_before_calls(parts, graph)
            resumed = options.resume and not options.overwrite and journal.exists()
            reused = await anyio.to_thread.run_sync(self._before_start, graph, resumed)
            source, items = self._items(seed)
            sinks = parts.sinks()
            failures = parts.failures_sink()
            lock = RunLock(layout.lock_path)
            lock.acquire()
            cleanup.callback(lock.release)
            try:
                previous = await anyio.to_thread.run_sync(self._prepare, journal, sinks, failures)
            except BaseException:
                # sinks restored before the one that failed hold files
                _close_quietly([s.close for s in (*sinks.values(), failures)])
                raise
            journal.open()
            journal.run_started(
                parts.fingerprint(),
                resumed=previous.header is not None,
                seed=seed,
                format=parts.format_name(),
            )
            engine = Engine(
                graph,
                sinks=sinks,
                failures=failures,
                journal=journal,
                shaper=shaper,
                metrics=self.metrics,
                validator=validator,
                row_mapper=row_mapper,
                window=options.window or default_window(graph, env),
                batch_size=options.batch_size,
                finished=previous.finished,
                memo=merge_memos(previous.memo, reused) if reused else previous.memo,
                seed=seed,
                sync_every=options.sync_every,
                sync_seconds=options.sync_seconds,
                sync_min_seconds=options.sync_min_seconds,
                ordered=parts.ordered(),
            )
            self.monitor.attach(
                engine,
                env.backends,
                total=parts.total(),
                count=parts.counter(source),
                batches=batch_summary(env),
            )
            try:
                counts, outputs = await self._run_and_close(engine, items, journal)
                seconds = time.perf_counter() - started
                result = self._result(counts, previous, outputs, seconds, env)
                await anyio.to_thread.run_sync(write_summary, result, self.monitor)
            except BaseException:
                self._record_spending_of_a_failed_run()
                raise
            stop = lambda: self.signals.received is not None  # noqa: E731 - a Ctrl-C stops it
            facts = self.provenance.facts(result.metrics)
            await post_process_run(
                parts, result, self.monitor, seed=seed, stop=stop, provenance=facts
            )
            if not result.interrupted:
                await anyio.to_thread.run_sync(self.provenance.write, result)
            return result
        raise AssertionError("unreachable")  # mypy: AsyncExitStack may swallow exceptions

    async def _run_and_close(
        self, engine: Engine, items: Iterator[SourceItem], journal: Journal
    ) -> tuple[EngineCounts, dict[str, list[Path]]]:
        """Run the engine, finalize the sinks when it got through every record, close the
        files. After a failure they are closed quietly: their own errors (the same full
        disk, met again while flushing) would hide the one that matters."""
        sinks, failures = engine.writer.sinks, engine.writer.failures
        outputs: dict[str, list[Path]] = {}
        try:
            counts = await self._run_engine(engine, items)
            if counts.interrupted:
                for sink in (*sinks.values(), failures):
                    sink.close()
            else:
                self.provenance.describe(sinks.values(), self.metrics.summary())
                outputs = await _finalize(sinks, failures)
            journal.close()
        except BaseException:
            _close_quietly([*(s.close for s in (*sinks.values(), failures)), journal.close])
            raise
        return counts, outputs

    def _before_start(self, graph: CompiledGraph, resumed: bool) -> Memo:
        """The monitor's files prepared, then the reused node runs read: one thread hop."""
        self.monitor.prepare(self.parts.catalog, graph_models(graph), resumed=resumed)
        return self._reused(graph)

    def _reused(self, graph: CompiledGraph) -> Memo:
        """The node runs ``--reuse-from``/``--reuse-nodes`` keep from an earlier run (read
        before ``--overwrite`` could delete that journal)."""
        options = self.options
        if options.reuse_from is None:
            return {}
        nodes = options.reuse_nodes
        names = tuple(nodes.split(",")) if isinstance(nodes, str) else nodes
        return reuse_memo(Path(options.reuse_from), names, graph.nodes)

    def _items(self, seed: int) -> tuple[Source | None, Iterator[SourceItem]]:
        """The source this run reads (None: data-less) and its records."""
        has_source = self.task.config.data_config.source is not None
        source = self.hooks.source(self.parts.source(seed)) if has_source else None
        return source, self.hooks.items(self.parts.items(source), data_less=not has_source)

    def _record_spending_of_a_failed_run(self) -> None:
        """A run that stopped on an error still spent tokens: ``metrics.json`` keeps them, so
        a ``--resume`` counts them against its budget. Best effort: the error that stopped
        the run (a full disk, which this write would meet too) is the one to report."""
        metrics = self.metrics.summary()
        metrics["budget"] = self.monitor.budget_summary()
        try:
            self.monitor.write_metrics({"interrupted": True, "stopped_by_error": True}, metrics)
        except Exception as exc:
            _log.info("the spending of the failed run was not recorded", error=str(exc))

    async def _run_engine(self, engine: Engine, items: Iterator[SourceItem]) -> EngineCounts:
        _collector.resume()  # start-up is over (see grasp_core._collector)
        beside = self.monitor.side_tasks()
        if self.options.handle_signals:
            beside.append(functools.partial(self.signals.stop_engine, engine))
        try:
            with stop_on_interrupt(engine.request_stop) as interrupts:
                try:
                    async with self.hooks.around_engine(engine, self.metrics):
                        if not beside:
                            return await engine.run(items)
                        async with anyio.create_task_group() as tg:
                            for task in beside:
                                tg.start_soon(task)
                            counts = await engine.run(items)
                            tg.cancel_scope.cancel()
                finally:
                    self._signal_exit = interrupts.exit
        except BaseExceptionGroup as group:
            raise_grasp_error(group)
            raise
        return counts

    def _prepare(self, journal: Journal, sinks: dict[str, Sink], failures: Sink) -> JournalState:
        """Restore the sinks to what the journal committed (resume), or check that starting
        afresh overwrites nothing that is not ours."""
        options, journal_path = self.options, self.layout.journal_path
        if options.overwrite:  # an earlier run's batch ledger goes with its journal
            shutil.rmtree(self.layout.batch_dir, ignore_errors=True)
        if options.overwrite and journal.exists():
            journal_path.unlink()
        if not options.resume or not journal.exists():
            if journal.exists():
                raise ResumeError(
                    f"{journal_path} exists: an earlier run of this task wrote here. Pass "
                    f"{options.hint('resume')} to continue it, or {options.hint('overwrite')} "
                    "to start over"
                )
            ours = journal_path.is_file()  # even empty: a run of ours died at its start
            for target in self.layout.sink_paths():
                if not options.overwrite and not ours and _holds_data(target):
                    raise ResumeError(
                        f"{target} exists and no journal says how it was made, so starting "
                        f"would overwrite it. Move it away, or pass {options.hint('overwrite')}"
                    )
            for sink in sinks.values():
                sink.restore([])
            failures.restore([])
            return JournalState()
        state = journal.read()
        self._refuse_format_change(state)
        changed = state.task_hash is not None and state.task_hash != self.parts.fingerprint()
        if changed and not options.force:
            raise ResumeError(
                f"the task changed since {journal_path} was started; resuming could mix "
                f"outputs of two tasks. Pass {options.hint('force')} to resume anyway, or "
                f"{options.hint('overwrite')}"
            )
        for name, sink in sinks.items():
            sink.restore(state.tokens.get(name, []))
        failures.restore(state.tokens.get(FAILURES_SINK, []))
        return state

    def _refuse_format_change(self, state: JournalState) -> None:
        """Refuse to resume with another row format, even with ``--force``: the sink would
        hold rows of two layouts (journals from before the format was recorded pass)."""
        if state.header is None or "format" not in state.header:
            return
        before, now = state.header["format"], self.parts.format_name()
        if before != now:
            options = self.options
            again = options.hint("format", before) if before else format_flag(before)
            raise ResumeError(
                f"{self.layout.journal_path} was started writing {format_label(before)}; "
                f"resuming with {format_label(now)} would mix two row layouts in one output, "
                f"even with {options.hint('force')}. Resume with {again}, or start over with "
                f"{options.hint('overwrite')}"
            )

    def _result(
        self,
        counts: EngineCounts,
        previous: JournalState,
        outputs: dict[str, list[Path]],
        seconds: float,
        env: BuildEnv,
    ) -> RunResult:
        budget = self.options.allowed_failures
        if budget is None and self.task.config.output_config is not None:
            budget = self.task.config.output_config.allowed_failures
        metrics = self.metrics.summary()
        metrics["backends"] = env.backends.summary()
        batches = batch_summary(env)
        if batches is not None:
            metrics["batches"] = batches()
        metrics["budget"] = self.monitor.budget_summary()
        metrics["pricing"] = self.monitor.pricing_summary()
        return RunResult.build(
            self.layout,
            done=counts.done,
            failed=counts.failed,
            filtered=counts.filtered,
            previously_done=len(previous.done) + len(previous.failed) + len(previous.unreadable),
            previously_failed=len(previous.failed) + len(previous.unreadable),
            interrupted=counts.interrupted,
            seconds=seconds,
            sink_paths=outputs,
            metrics=metrics,
            failure_reasons=counts.failure_reasons,
            allowed_failures=budget,
            stopped_by_budget=self.monitor.stopped_by_budget and counts.interrupted,
        )


def default_window(graph: CompiledGraph, env: BuildEnv) -> int:
    """Records in flight when no --window is given: twice the task's models' concurrency
    (at least 16), or 64 when no model is known."""
    known = [m for m in graph_models(graph) if m in env.models.specs]
    return max(16, 2 * env.backends.total_concurrency(known)) if known else 64


async def _finalize(sinks: dict[str, Sink], failures: Sink) -> dict[str, list[Path]]:
    """Finalize every sink, then the failures sink, in one thread hop."""

    def finalize_all() -> dict[str, list[Path]]:
        outputs = {name: sink.finalize() for name, sink in sinks.items()}
        failures.finalize()
        return outputs

    return await anyio.to_thread.run_sync(finalize_all)


async def close_shared(env: BuildEnv) -> None:
    """Close what nodes share (model clients and their HTTP sessions), whatever happened."""
    for obj in list(env.shared.values()):  # a copy: sources add theirs on first use
        close = getattr(obj, "aclose", None)
        if close is not None:
            with anyio.CancelScope(shield=True):
                try:
                    await close()
                except Exception as exc:
                    _log.warning("closing a shared client failed", error=str(exc))


def _close_quietly(closers: list[Callable[[], None]]) -> None:
    """Call each of ``closers`` while an error is on its way out; theirs are only logged."""
    for close in closers:
        try:
            close()
        except Exception as exc:
            _log.debug("closing after a failure failed too", error=str(exc))


def _holds_data(target: Path) -> bool:
    """A non-empty file, or a folder with something in it (an ``hf`` dataset)."""
    if target.is_file():
        return target.stat().st_size > 0
    return target.is_dir() and any(target.iterdir())
