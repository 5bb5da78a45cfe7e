"""Run a task end to end: the Python API behind ``grasp run``."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import anyio
import anyio.to_thread

from grasp_core import registry, result_data
from grasp_core.backends import BackendPool
from grasp_core.config import validate_block
from grasp_core.config.locate import located
from grasp_core.engine import FAILURES_SINK, OUTPUT_SINK, Engine, EngineCounts, raise_grasp_error
from grasp_core.errors import ConfigError, ResumeError, SinkError
from grasp_core.graph.compile import compile_graph
from grasp_core.graph.compiled import CompiledGraph
from grasp_core.journal import Journal, JournalState
from grasp_core.logs import default_logging, get_logger
from grasp_core.metrics import RunMetrics
from grasp_core.models_file import ModelCatalog, find_models_file
from grasp_core.monitor import RunMonitor
from grasp_core.output import OutputShaper
from grasp_core.protocols import BuildEnv, Sink, Source, SourceItem
from grasp_core.quality_run import graph_with_quality, output_with_quality, with_quality_tasks
from grasp_core.record_formats import (
    RowMapper,
    build_row_mapper,
    format_flag,
    format_label,
    select_format,
)
from grasp_core.sourcing import build_source, record_items
from grasp_core.task import Task
from grasp_core.validation import RecordValidator

__all__ = [
    "READABLE_FORMATS",
    "RunLock",
    "RunOptions",
    "RunResult",
    "TaskRun",
    "catalog_for",
    "check_task",
    "mock_server_for",
    "models_of",
    "run_task",
    "run_task_async",
]

_log = get_logger(__name__)
_MIN_PROGRESS_SECONDS = 0.05
"""Faster progress reports would only flood the terminal or the log."""
READABLE_FORMATS = frozenset({"jsonl", "json", "csv", "parquet", "hf"})
"""Sink types whose output :meth:`RunResult.records` reads back (``hf`` with the hf source)."""
_RECORD_COUNTS = frozenset(
    {"done", "failed", "filtered", "previously_finished", "failed_total", "interrupted", "seconds"}
)


@dataclass(frozen=True)
class RunOptions:
    """How to run a task; every field mirrors a ``grasp run`` flag."""

    num_records: int | None = None
    """Most records to process (data-less runs: how many to generate)."""
    start_index: int | None = None
    """Skip this many source records first."""
    output_dir: Path | str | None = None
    """Where relative sink paths resolve (default: the task's folder)."""
    models: Path | str | ModelCatalog | None = None
    """Models file or catalog (default: $GRASP_MODELS, then models.yaml beside the task)."""
    mock: bool | str = False
    """True: start the bundled mock server and route every model to it; a URL: use that one."""
    resume: bool = False
    """Continue the run recorded in the journal."""
    force: bool = False
    """Resume even though the task file changed since the journal was started."""
    overwrite: bool = False
    """Delete an earlier run's output and journal and start over."""
    window: int | None = None
    """Most records in flight (default: twice the backends' total concurrency, at least 16)."""
    batch_size: int = 64
    """Most records written to the sink in one commit."""
    allowed_failures: float | int | None = None
    """Failure budget (a count, or a fraction below 1); within it the run counts as a success."""
    sync_every: int = 1000
    """fsync sinks and journal after this many records..."""
    sync_seconds: float = 5.0
    """...or this many seconds, whichever comes first (and when the run ends)."""
    seed: int | None = None
    """Seed for random choices (samplers); a resume reuses the journal's seed (default 0)."""
    oasst: bool | Literal["sft", "dpo"] = False
    """Write OpenAssistant message rows (`oasst_sft`/`oasst_dpo`); True takes the type from
    `output_config.oasst_mapper`, else `sft`."""
    format: str | None = None
    """Write each record as rows of this registered format (`sft`, `dpo`, `oasst_sft`...)."""
    quality: str | tuple[str, ...] | None = None
    """Tag every output record under `quality` with these tasks (`heuristics`, `judge`;
    comma-separated or a tuple), over the task's `output_config.data_quality`."""
    handle_signals: bool = False
    """Turn SIGINT/SIGTERM into a clean stop (the CLI sets it; libraries usually don't)."""
    progress: bool | Literal["auto", "rich", "json", "off"] = False
    """Live progress on stderr: `"rich"` (a live display), `"json"` (structlog lines), `True`
    or `"auto"` (rich on a terminal, JSON lines otherwise). Off by default in Python."""
    progress_every: float | None = None
    """Seconds between progress reports (default: 0.25 with rich, 10 for JSON lines)."""
    max_cost: float | None = None
    """Stop admitting records once the dataset's model calls cost this many dollars
    (overrides the task's `budget.max_cost`)."""
    max_tokens: int | None = None
    """Stop admitting records once the dataset's model calls used this many tokens
    (overrides the task's `budget.max_tokens`)."""

    executor: Literal["local", "ray"] = "local"
    """`local`: one engine in this process; `ray`: shards on a Ray cluster (`grasp-sdg[ray]`)."""
    num_shards: int | None = None
    """With the ray executor: how many shards (default: the cluster's CPUs; a resume keeps
    the count it started with)."""
    ray_address: str | None = None
    """With the ray executor: the cluster to join (default: $RAY_ADDRESS, else a local one)."""

    def __post_init__(self) -> None:
        if self.executor not in ("local", "ray"):
            raise ConfigError(f"executor must be 'local' or 'ray', got {self.executor!r}")
        if self.num_shards is not None and self.num_shards < 1:
            raise ConfigError(f"num_shards must be at least 1, got {self.num_shards!r}")
        if self.executor == "local" and (self.num_shards or self.ray_address):
            raise ConfigError("--num-shards and --ray-address need --executor ray")
        every = self.progress_every
        if every is not None and not _MIN_PROGRESS_SECONDS <= every < float("inf"):
            raise ConfigError(
                f"--progress-every must be at least {_MIN_PROGRESS_SECONDS} seconds, got {every!r}"
            )
        if isinstance(self.output_dir, str):
            object.__setattr__(self, "output_dir", Path(self.output_dir))
        if isinstance(self.models, str):
            object.__setattr__(self, "models", Path(self.models))


@dataclass
class RunResult:
    """What a run did: counts, files written, metrics."""

    task: str
    done: int
    failed: int
    filtered: int
    previously_done: int
    """Records skipped because an earlier run finished them (written or failed)."""
    interrupted: bool
    seconds: float
    output_paths: list[Path]
    failures_path: Path
    journal_path: Path
    summary_path: Path
    metrics: dict[str, Any] = field(default_factory=dict)
    failure_reasons: dict[str, int] = field(default_factory=dict)
    allowed_failures: float | int | None = None
    previously_failed: int = 0
    """Records that failed in earlier runs of this journal (resume does not retry them)."""
    output_format: str | None = None
    """The (first) sink's format (`jsonl`, `json`, `csv`, `parquet`, `hf`); None to infer
    from the name."""
    sink_paths: dict[str, list[Path]] = field(default_factory=dict)
    """Each sink's files by its name (`output` for a single sink, else its `alias`);
    ``output_paths`` lists them all, and :meth:`records` reads the first sink's."""
    stopped_by_budget: bool = False
    """The run stopped early because it reached `max_cost` or `max_tokens` (also
    ``interrupted``); resume with a higher cap to continue."""
    metrics_path: Path | None = None
    """``NAME.metrics.json``: per model and per node calls, tokens, latency, cost."""

    @property
    def paths(self) -> dict[str, Path | list[Path] | None]:
        """Every file the run wrote, by role."""
        return {
            "outputs": list(self.output_paths),
            "failures": self.failures_path,
            "journal": self.journal_path,
            "summary": self.summary_path,
            "metrics": self.metrics_path,
        }

    def aiter_records(self) -> AsyncIterator[dict[str, Any]]:
        """The output records as an async iterator (files are read in a worker thread)."""
        return result_data.aiter_records(self.records())

    def to_dataset(self) -> Any:
        """The output as a `datasets.Dataset` (read by `datasets` from the output files)."""
        return result_data.to_dataset(self._first_sink_paths(), self.output_format)

    def _first_sink_paths(self) -> list[Path]:
        return next(iter(self.sink_paths.values())) if self.sink_paths else self.output_paths

    @property
    def failed_total(self) -> int:
        """Failed records of the whole dataset: this run's and earlier runs'."""
        return self.failed + self.previously_failed

    @property
    def ok(self) -> bool:
        """True when the run finished and the dataset's failures are within the budget."""
        if self.interrupted:
            return False
        budget = self.allowed_failures or 0
        total = self.done + self.failed + self.filtered + self.previously_done
        limit = budget * total if isinstance(budget, float) and budget < 1 else budget
        return self.failed_total <= limit

    def records(self) -> Iterator[dict[str, Any]]:
        """The (first sink's) output records, read lazily through the disk source, or the
        hf source for an ``hf`` sink's dataset folder."""
        for path in self._first_sink_paths():
            block: dict[str, str | None]
            if self.output_format == "hf":
                kind, block = "hf", {"type": "hf", "repo_id": str(path)}
            else:
                fmt = self.output_format
                kind, block = "disk", {"type": "disk", "file_path": str(path), "file_format": fmt}
            source_type = registry.sources.get(kind)
            config = source_type.config_model.model_validate(block)
            source = source_type.from_config(config, path.parent)
            for item in source.iter_records():
                if item.error is not None:
                    raise SinkError(f"cannot read back the output: {item.error}")
                yield item.data


def run_task(
    task: Task | str | Path,
    options: RunOptions | None = None,
    *,
    backend: Literal["asyncio", "trio"] = "asyncio",
) -> RunResult:
    """Run a task from synchronous code (starts its own event loop)."""
    if options is not None and options.executor == "ray":
        from grasp_core.distributed import run_on_ray

        return run_on_ray(task, options)  # in this thread, so Ctrl-C reaches the driver

    async def main() -> RunResult:
        return await run_task_async(task, options)

    return anyio.run(main, backend=backend)


async def run_task_async(task: Task | str | Path, options: RunOptions | None = None) -> RunResult:
    """Run a task inside the caller's event loop (asyncio or trio)."""
    options = options or RunOptions()
    default_logging()
    if options.executor == "ray":
        from grasp_core.distributed import run_on_ray

        return await anyio.to_thread.run_sync(run_on_ray, task, options)
    loaded = task if isinstance(task, Task) else Task.load(task)
    loaded = with_quality_tasks(loaded, options.quality)
    with mock_server_for(options.mock) as mock_url:
        catalog = catalog_for(loaded, options, mock_url)
        return await TaskRun(loaded, options, catalog).execute()


@contextlib.contextmanager
def mock_server_for(mock: bool | str) -> Iterator[str | None]:
    if isinstance(mock, str):
        yield mock.rstrip("/")
    elif mock:
        from grasp_core.mock_server import MockServer

        with MockServer().running() as url:
            yield url
    else:
        yield None


def catalog_for(task: Task, options: RunOptions, mock_url: str | None) -> ModelCatalog:
    if isinstance(options.models, ModelCatalog):
        catalog = options.models
    else:
        explicit = Path(options.models) if options.models is not None else None
        path = find_models_file(explicit, task.task_dir)
        catalog = ModelCatalog.load(path) if path is not None else ModelCatalog()
    return catalog.with_mock(mock_url) if mock_url is not None else catalog


class TaskRun:
    """One run of a task on this machine: where its files go, how its source, sinks and graph
    are built, and the engine loop. Executors build on it: the local one calls ``execute``;
    the Ray executor runs one per shard and uses the layout and sinks to merge."""

    def __init__(self, task: Task, options: RunOptions, catalog: ModelCatalog) -> None:
        self.task = task
        self.options = options
        self.catalog = catalog
        self.metrics = RunMetrics()
        self.output_dir = Path(options.output_dir or task.task_dir).resolve()
        data = task.config.data_config
        default = {"type": "jsonl", "file_path": f"output/{task.name}.jsonl"}
        self.sink_blocks = _sink_blocks(data.sink or default)
        """Each sink's block and YAML path, by its name in the journal (the first one names
        the journal, failures and summary files)."""
        sink_block, _ = next(iter(self.sink_blocks.values()))
        self.sink_block = sink_block
        target = Path(str(sink_block.get("file_path", f"output/{task.name}")))
        base = target if target.is_absolute() else self.output_dir / target
        self.sink_path = base
        stem = base.with_suffix("") if base.suffix else base
        self.journal_path = stem.with_name(stem.name + ".journal.jsonl")
        self.failures_path = stem.with_name(stem.name + ".failures.jsonl")
        self.summary_path = stem.with_name(stem.name + ".summary.json")
        self.monitor = RunMonitor(
            metrics=self.metrics,
            metrics_path=stem.with_name(stem.name + ".metrics.json"),
            progress=options.progress,
            progress_every=options.progress_every,
            max_cost=options.max_cost,
            max_tokens=options.max_tokens,
            task_budget=task.config.budget,
        )

    async def execute(self) -> RunResult:
        started = time.perf_counter()
        journal = Journal(self.journal_path)
        seed = self._seed(journal)
        env = self.build_env(seed)
        graph, shaper, validator = self.compile(env)
        row_mapper = self.row_mapper()
        resumed = self.options.resume and not self.options.overwrite and journal.exists()
        used = sorted({m for n in graph.nodes.values() for m in models_of(n.node)})
        await anyio.to_thread.run_sync(
            functools.partial(self.monitor.prepare, self.catalog, used, resumed=resumed)
        )
        items = self._items(seed)
        sinks = self.sinks()
        failures = self._failures_sink()
        lock = RunLock(self.journal_path.with_suffix(".lock"))
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
            resumed = previous.header is not None
            journal.run_started(
                self._fingerprint(), resumed=resumed, seed=seed, format=self._format_name()
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
                window=self.options.window or self._default_window(graph, env),
                batch_size=self.options.batch_size,
                finished=previous.finished,
                memo=previous.memo,
                seed=seed,
                sync_every=self.options.sync_every,
                sync_seconds=self.options.sync_seconds,
            )
            self.monitor.attach(engine, env.backends, total=self._total())
            outputs: dict[str, list[Path]] | None = None
            engine_started = True
            try:
                counts = await self._run_engine(engine, items)
                if not counts.interrupted:
                    outputs = await self._finalize(sinks, failures)
            finally:
                if outputs is None:
                    for sink in sinks.values():
                        sink.close()
                    failures.close()
                journal.close()
                await self._close_shared(env)
            result = self._result(counts, previous, outputs or {}, time.perf_counter() - started)
            result.metrics["backends"] = env.backends.summary()
            result.metrics["budget"] = self.monitor.budget_summary()
            result.stopped_by_budget = self.monitor.stopped_by_budget and counts.interrupted
            result.metrics_path = self.monitor.metrics_path
            await anyio.to_thread.run_sync(self.write_summary, result)
            summary_written = True
            return result
        finally:
            if engine_started and not summary_written:
                self._record_spending_of_a_failed_run()
            lock.release()

    def _record_spending_of_a_failed_run(self) -> None:
        """A run that stopped on an error still spent tokens: ``metrics.json`` keeps them, so
        a ``--resume`` counts them against its budget."""
        metrics = self.metrics.summary()
        metrics["budget"] = self.monitor.budget_summary()
        self.monitor.write_metrics({"interrupted": True, "stopped_by_error": True}, metrics)

    def build_env(self, seed: int = 0) -> BuildEnv:
        return BuildEnv(
            task_dir=self.task.task_dir,
            models=self.catalog,
            backends=BackendPool(self.catalog),
            metrics=self.metrics,
            task_data=self.task.data,
            seed=seed,
            document=self.task.document,
            subgraph_chain=(str(self.task.path),) if self.task.path is not None else (),
        )

    def compile(self, env: BuildEnv) -> tuple[CompiledGraph, OutputShaper, RecordValidator | None]:
        """The graph, the output shaper and the validator; every config check but I/O."""
        config = self.task.config
        graph_config = graph_with_quality(config, self.task.document)
        graph = compile_graph(graph_config, env, document=self.task.document)
        with self._located(("output_config",)):
            shaper = OutputShaper(
                output_with_quality(config.output_config),
                task_data=self.task.data,
                task_dir=self.task.task_dir,
                id_column=self.task.config.data_config.id_column,
            )
        schema = self.task.config.schema_config
        with self._located(("schema_config",)):
            validator = RecordValidator(schema, self.task.task_dir) if schema else None
        return graph, shaper, validator

    def row_mapper(self) -> RowMapper | None:
        """The run's row format (``--format``, ``--oasst``, ``output_config``), if any."""
        name = self._format_name()
        if name is None:
            return None
        from_flags = self.options.format is not None or bool(self.options.oasst)
        with contextlib.nullcontext() if from_flags else self._located(("output_config",)):
            return build_row_mapper(name)

    def _format_name(self) -> str | None:
        with self._located(("output_config",)):
            return select_format(
                self.task.config.output_config,
                oasst=self.options.oasst,
                format_name=self.options.format,
            )

    def _fingerprint(self) -> str:
        """The task's fingerprint and its row format: resuming with other rows is refused."""
        name = self._format_name()
        return self.task.fingerprint() + (f"+{name}" if name else "")

    @contextlib.contextmanager
    def _located(self, path: tuple[str, ...]) -> Iterator[None]:
        """Prefix a config error with the task file and the line and YAML path of ``path``."""
        with located(self.task.document, path):
            yield

    def _seed(self, journal: Journal) -> int:
        """The explicit seed, else (on resume) the journal's, else 0."""
        if self.options.resume and not self.options.overwrite and journal.exists():
            with self.journal_path.open("rb") as handle:
                first = handle.readline()
            try:
                recorded = json.loads(first).get("seed")
            except ValueError:
                recorded = None
            if recorded is not None:
                if self.options.seed is not None and self.options.seed != recorded:
                    raise ResumeError(
                        f"this run was started with --seed {recorded}; resuming with "
                        f"--seed {self.options.seed} would draw different values. Drop --seed"
                    )
                return int(recorded)
        return self.options.seed if self.options.seed is not None else 0

    async def _run_engine(self, engine: Engine, items: Iterator[SourceItem]) -> EngineCounts:
        beside = self.monitor.side_tasks()
        if self.options.handle_signals:
            beside.append(functools.partial(_stop_on_signal, engine))
        if not beside:
            return await engine.run(items)
        try:
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
        if self.options.overwrite and journal.exists():
            self.journal_path.unlink()
        if not self.options.resume or not journal.exists():
            if journal.exists():
                raise ResumeError(
                    f"{self.journal_path} exists: an earlier run of this task wrote here. "
                    "Pass --resume to continue it, or --overwrite to start over"
                )
            ours = self.journal_path.is_file()  # even empty: a run of ours died at its start
            for target in self.sink_paths():
                if not self.options.overwrite and not ours and _holds_data(target):
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
        changed = state.task_hash is not None and state.task_hash != self._fingerprint()
        if changed and not self.options.force:
            raise ResumeError(
                f"the task changed since {self.journal_path} was started; resuming could "
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
        before, now = state.header["format"], self._format_name()
        if before != now:
            raise ResumeError(
                f"{self.journal_path} was started writing {format_label(before)}; resuming "
                f"with {format_label(now)} would mix two row layouts in one output, even "
                f"with --force. Resume with {format_flag(before)}, or start over with "
                "--overwrite"
            )

    def _total(self) -> int | None:
        """How many records a data-less run makes (a source's size is not known ahead)."""
        data = self.task.config.data_config
        if data.source is not None:
            return None
        limit = self.options.num_records
        return limit if limit is not None else data.num_records

    def _items(self, seed: int = 0) -> Iterator[SourceItem]:
        data = self.task.config.data_config
        start = (
            self.options.start_index if self.options.start_index is not None else data.start_index
        )
        limit = (
            self.options.num_records if self.options.num_records is not None else data.num_records
        )
        source = self.source(seed) if data.source is not None else None
        return record_items(source, start=start, limit=limit)

    def source(self, seed: int = 0) -> Source:
        """The configured source(s) with transforms and joins (validated; nothing is read
        until it is iterated)."""
        return build_source(
            self.task.config.data_config,
            task_dir=self.task.task_dir,
            document=self.task.document,
            seed=seed,
        )

    def sinks(self) -> dict[str, Sink]:
        """Every configured sink by its journal name (validated; nothing is opened)."""
        sinks: dict[str, Sink] = {}
        for name, (block, path) in self.sink_blocks.items():
            with located(self.task.document, (*path, "type")):
                sink_type = registry.sinks.get(str(block["type"]))
            config = validate_block(
                sink_type.config_model, block, path=path, document=self.task.document
            )
            with located(self.task.document, path):
                sinks[name] = sink_type.from_config(config, self.output_dir)
        return sinks

    def sink_paths(self) -> list[Path]:
        """Where each sink writes (its ``file_path`` under the output folder)."""
        paths = []
        for block, _ in self.sink_blocks.values():
            target = Path(str(block.get("file_path", f"output/{self.task.name}")))
            paths.append(target if target.is_absolute() else self.output_dir / target)
        return paths

    def _failures_sink(self) -> Sink:
        jsonl = registry.sinks.get("jsonl")
        config = jsonl.config_model.model_validate(
            {"type": "jsonl", "file_path": str(self.failures_path)}
        )
        failures: Sink = jsonl.from_config(config, self.output_dir)
        return failures

    def _default_window(self, graph: CompiledGraph, env: BuildEnv) -> int:
        models = sorted({m for n in graph.nodes.values() for m in models_of(n.node)})
        known = [m for m in models if m in env.models.specs]
        return max(16, 2 * env.backends.total_concurrency(known)) if known else 64

    async def _finalize(self, sinks: dict[str, Sink], failures: Sink) -> dict[str, list[Path]]:
        outputs: dict[str, list[Path]] = {}
        for name, sink in sinks.items():
            outputs[name] = await anyio.to_thread.run_sync(sink.finalize)
        await anyio.to_thread.run_sync(failures.finalize)
        return outputs

    async def _close_shared(self, env: BuildEnv) -> None:
        for obj in env.shared.values():
            close = getattr(obj, "aclose", None)
            if close is not None:
                with anyio.CancelScope(shield=True):
                    await close()

    def _result(
        self,
        counts: EngineCounts,
        previous: JournalState,
        outputs: dict[str, list[Path]],
        seconds: float,
    ) -> RunResult:
        budget = self.options.allowed_failures
        if budget is None and self.task.config.output_config is not None:
            budget = self.task.config.output_config.allowed_failures
        return RunResult(
            task=self.task.name,
            done=counts.done,
            failed=counts.failed,
            filtered=counts.filtered,
            previously_done=counts.skipped,
            interrupted=counts.interrupted,
            seconds=seconds,
            output_paths=[path for paths in outputs.values() for path in paths],
            sink_paths=outputs,
            failures_path=self.failures_path,
            journal_path=self.journal_path,
            summary_path=self.summary_path,
            metrics=self.metrics.summary(),
            failure_reasons=counts.failure_reasons,
            allowed_failures=budget,
            previously_failed=len(previous.failed) + len(previous.unreadable),
            output_format=sink_type
            if (sink_type := str(self.sink_block["type"])) in READABLE_FORMATS
            else None,
        )

    def write_summary(self, result: RunResult) -> None:
        summary = {
            "task": result.task,
            "done": result.done,
            "failed": result.failed,
            "filtered": result.filtered,
            "previously_finished": result.previously_done,
            "failed_total": result.failed_total,
            "interrupted": result.interrupted,
            "seconds": round(result.seconds, 3),
            "outputs": [str(p) for p in result.output_paths],
            "failure_reasons": result.failure_reasons,
            **result.metrics,
        }
        tmp = self.summary_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(summary, indent=2), encoding="utf-8")
        tmp.replace(self.summary_path)
        records = {k: v for k, v in summary.items() if k in _RECORD_COUNTS}
        self.monitor.write_metrics(
            {**records, "stopped_by_budget": result.stopped_by_budget}, result.metrics
        )


class RunLock:
    """An exclusive lock on a run's output: two runs never write the same journal and sinks.

    ``flock`` is released by the operating system when the process dies, so a killed run
    leaves no stale lock. The lock file stays (unlinking it would race with a new run).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        import fcntl

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except (OSError, ValueError) as exc:
            raise SinkError(
                f"cannot create the output folder {str(self.path.parent)!r}: "
                f"{getattr(exc, 'strerror', None) or exc}; check the sink's file_path"
            ) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ResumeError(
                f"another grasp run is writing to {self.path.parent} (it holds {self.path}); "
                "wait for it to finish, or give this run another --output-dir"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


async def check_task(task: Task, catalog: ModelCatalog) -> CompiledGraph:
    """What ``grasp validate`` checks: the graph, the source and sink configs, the output
    map and the schema (type names, rules). Nothing is read or written."""
    run = TaskRun(task, RunOptions(), catalog)
    graph, _shaper, _validator = run.compile(run.build_env())
    run.row_mapper()
    if task.config.data_config.source is not None:
        run.source()
    run.sinks()
    return graph


def _sink_blocks(
    sink: dict[str, Any] | list[dict[str, Any]],
) -> dict[str, tuple[dict[str, Any], tuple[str | int, ...]]]:
    """Sink blocks by journal name: ``output`` for a single sink, each ``alias`` for a list
    (``DataConfig`` checked that aliases are there and unique)."""
    if isinstance(sink, dict):
        return {OUTPUT_SINK: (sink, ("data_config", "sink"))}
    return {
        str(block["alias"]): (block, ("data_config", "sink", index))
        for index, block in enumerate(sink)
    }


def _holds_data(target: Path) -> bool:
    """A non-empty file, or a folder with something in it (an ``hf`` dataset)."""
    if target.is_file():
        return target.stat().st_size > 0
    return target.is_dir() and any(target.iterdir())


def models_of(node: Any) -> list[str]:
    names = getattr(node, "model_names", ())
    return list(names)


async def _stop_on_signal(engine: Engine) -> None:
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _ in signals:
            _log.warning("stopping: finishing what is committed; run again with --resume")
            engine.request_stop()
            return
