"""``TaskRun``: one run of a task in this process — prepare or resume its journal and sinks,
run the engine over its records, finalize the sinks and write the summary."""

from __future__ import annotations

import functools
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import anyio.to_thread

from grasp_core.config.task_file import Task
from grasp_core.engine import FAILURES_SINK, Engine, EngineCounts, raise_grasp_error
from grasp_core.engine.journal import Journal, JournalState
from grasp_core.engine.row_formats import format_flag, format_label
from grasp_core.errors import ResumeError
from grasp_core.graph.compiled import CompiledGraph
from grasp_core.logs import get_logger
from grasp_core.models.catalog import ModelCatalog
from grasp_core.observe.metrics import RunMetrics
from grasp_core.protocols import BuildEnv, Sink, SourceItem
from grasp_core.runs.catalog import graph_models
from grasp_core.runs.hooks import RunHooks
from grasp_core.runs.layout import RunLayout
from grasp_core.runs.lock import RunLock
from grasp_core.runs.monitor import RunMonitor
from grasp_core.runs.options import RunOptions
from grasp_core.runs.parts import TaskParts
from grasp_core.runs.result import RunResult
from grasp_core.runs.summary import write_summary

__all__ = ["TaskRun", "monitor_for"]

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

    async def execute(self) -> RunResult:
        started = time.perf_counter()
        parts, layout, options = self.parts, self.layout, self.options
        journal = Journal(layout.journal_path)
        seed = parts.seed(journal)
        env = self.hooks.env(parts.build_env(seed, self.metrics))
        graph, shaper, validator = parts.compile(env)
        row_mapper = parts.row_mapper()
        resumed = options.resume and not options.overwrite and journal.exists()
        await anyio.to_thread.run_sync(
            functools.partial(
                self.monitor.prepare, parts.catalog, graph_models(graph), resumed=resumed
            )
        )
        items = self._items(seed)
        sinks = parts.sinks()
        failures = parts.failures_sink()
        lock = RunLock(layout.lock_path)
        lock.acquire()
        engine_started = summary_written = False
        try:
            try:
                previous = await anyio.to_thread.run_sync(self._prepare, journal, sinks, failures)
            except BaseException:
                for opened in (*sinks.values(), failures):
                    opened.close()  # sinks restored before the one that failed hold files
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
                window=options.window or _default_window(graph, env),
                batch_size=options.batch_size,
                finished=previous.finished,
                memo=previous.memo,
                seed=seed,
                sync_every=options.sync_every,
                sync_seconds=options.sync_seconds,
            )
            self.monitor.attach(engine, env.backends, total=parts.total())
            outputs: dict[str, list[Path]] | None = None
            engine_started = True
            try:
                counts = await self._run_engine(engine, items)
                if not counts.interrupted:
                    outputs = await _finalize(sinks, failures)
            finally:
                if outputs is None:
                    for sink in sinks.values():
                        sink.close()
                    failures.close()
                journal.close()
                await _close_shared(env)
            seconds = time.perf_counter() - started
            result = self._result(counts, previous, outputs or {}, seconds, env)
            await anyio.to_thread.run_sync(write_summary, result, self.monitor)
            summary_written = True
            return result
        finally:
            if engine_started and not summary_written:
                self._record_spending_of_a_failed_run()
            lock.release()

    def _items(self, seed: int) -> Iterator[SourceItem]:
        has_source = self.task.config.data_config.source is not None
        source = self.hooks.source(self.parts.source(seed)) if has_source else None
        return self.hooks.items(self.parts.items(source), data_less=not has_source)

    def _record_spending_of_a_failed_run(self) -> None:
        """A run that stopped on an error still spent tokens: ``metrics.json`` keeps them, so
        a ``--resume`` counts them against its budget."""
        metrics = self.metrics.summary()
        metrics["budget"] = self.monitor.budget_summary()
        self.monitor.write_metrics({"interrupted": True, "stopped_by_error": True}, metrics)

    async def _run_engine(self, engine: Engine, items: Iterator[SourceItem]) -> EngineCounts:
        beside = self.monitor.side_tasks()
        if self.options.handle_signals:
            beside.append(functools.partial(_stop_on_signal, engine))
        try:
            async with self.hooks.around_engine(engine, self.metrics):
                if not beside:
                    return await engine.run(items)
                async with anyio.create_task_group() as tg:
                    for task in beside:
                        tg.start_soon(task)
                    counts = await engine.run(items)
                    tg.cancel_scope.cancel()
        except BaseExceptionGroup as group:
            raise_grasp_error(group)
            raise
        return counts

    def _prepare(self, journal: Journal, sinks: dict[str, Sink], failures: Sink) -> JournalState:
        """Restore the sinks to what the journal committed (resume), or check that starting
        afresh overwrites nothing that is not ours."""
        options, journal_path = self.options, self.layout.journal_path
        if options.overwrite and journal.exists():
            journal_path.unlink()
        if not options.resume or not journal.exists():
            if journal.exists():
                raise ResumeError(
                    f"{journal_path} exists: an earlier run of this task wrote here. "
                    "Pass --resume to continue it, or --overwrite to start over"
                )
            ours = journal_path.is_file()  # even empty: a run of ours died at its start
            for target in self.layout.sink_paths():
                if not options.overwrite and not ours and _holds_data(target):
                    raise ResumeError(
                        f"{target} exists and no journal says how it was made, so starting "
                        "would overwrite it. Move it away, or pass --overwrite"
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
                f"the task changed since {journal_path} was started; resuming could "
                "mix outputs of two tasks. Pass --force to resume anyway, or --overwrite"
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
            raise ResumeError(
                f"{self.layout.journal_path} was started writing {format_label(before)}; "
                f"resuming with {format_label(now)} would mix two row layouts in one output, "
                f"even with --force. Resume with {format_flag(before)}, or start over with "
                "--overwrite"
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
        metrics["budget"] = self.monitor.budget_summary()
        return RunResult.build(
            self.layout,
            done=counts.done,
            failed=counts.failed,
            filtered=counts.filtered,
            previously_done=counts.skipped,
            previously_failed=len(previous.failed) + len(previous.unreadable),
            interrupted=counts.interrupted,
            seconds=seconds,
            sink_paths=outputs,
            metrics=metrics,
            failure_reasons=counts.failure_reasons,
            allowed_failures=budget,
            stopped_by_budget=self.monitor.stopped_by_budget and counts.interrupted,
        )


def _default_window(graph: CompiledGraph, env: BuildEnv) -> int:
    known = [m for m in graph_models(graph) if m in env.models.specs]
    return max(16, 2 * env.backends.total_concurrency(known)) if known else 64


async def _finalize(sinks: dict[str, Sink], failures: Sink) -> dict[str, list[Path]]:
    outputs: dict[str, list[Path]] = {}
    for name, sink in sinks.items():
        outputs[name] = await anyio.to_thread.run_sync(sink.finalize)
    await anyio.to_thread.run_sync(failures.finalize)
    return outputs


async def _close_shared(env: BuildEnv) -> None:
    for obj in env.shared.values():
        close = getattr(obj, "aclose", None)
        if close is not None:
            with anyio.CancelScope(shield=True):
                await close()


def _holds_data(target: Path) -> bool:
    """A non-empty file, or a folder with something in it (an ``hf`` dataset)."""
    if target.is_file():
        return target.stat().st_size > 0
    return target.is_dir() and any(target.iterdir())


async def _stop_on_signal(engine: Engine) -> None:
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _ in signals:
            _log.warning("stopping: finishing what is committed; run again with --resume")
            engine.request_stop()
            return
