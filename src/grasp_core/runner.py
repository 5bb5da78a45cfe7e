"""Run a task end to end: the Python API behind ``grasp run``."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import anyio
import anyio.to_thread

from grasp_core import registry
from grasp_core.backends import BackendPool
from grasp_core.config import validate_block
from grasp_core.engine import FAILURES_SINK, OUTPUT_SINK, Engine, EngineCounts, raise_grasp_error
from grasp_core.errors import ConfigError, ResumeError, SinkError
from grasp_core.graph.compile import compile_graph
from grasp_core.graph.compiled import CompiledGraph
from grasp_core.journal import Journal, JournalState
from grasp_core.logs import get_logger
from grasp_core.metrics import RunMetrics
from grasp_core.models_file import ModelCatalog, find_models_file
from grasp_core.output import OutputShaper
from grasp_core.protocols import BuildEnv, Sink, SourceItem
from grasp_core.task import Task
from grasp_core.validation import RecordValidator
from grasp_core.yaml_source import format_yaml_path

__all__ = ["RunOptions", "RunResult", "check_task", "run_task", "run_task_async"]

_log = get_logger(__name__)
_DISK_FORMATS = frozenset({"jsonl", "json", "csv", "parquet"})


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
    handle_signals: bool = False
    """Turn SIGINT/SIGTERM into a clean stop (the CLI sets it; libraries usually don't)."""

    def __post_init__(self) -> None:
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
    """The sink's format (`jsonl`, `json`, `csv`, `parquet`); None to infer from the name."""

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
        """The output records, read lazily through the disk source (any sink format)."""
        disk = registry.sources.get("disk")
        for path in self.output_paths:
            block = {"type": "disk", "file_path": str(path), "file_format": self.output_format}
            source = disk.from_config(disk.config_model.model_validate(block), path.parent)
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

    async def main() -> RunResult:
        return await run_task_async(task, options)

    return anyio.run(main, backend=backend)


async def run_task_async(task: Task | str | Path, options: RunOptions | None = None) -> RunResult:
    """Run a task inside the caller's event loop (asyncio or trio)."""
    options = options or RunOptions()
    loaded = task if isinstance(task, Task) else Task.load(task)
    with _mock_server(options.mock) as mock_url:
        catalog = _catalog(loaded, options, mock_url)
        return await _Run(loaded, options, catalog).execute()


@contextlib.contextmanager
def _mock_server(mock: bool | str) -> Iterator[str | None]:
    if isinstance(mock, str):
        yield mock.rstrip("/")
    elif mock:
        from grasp_core.mock_server import MockServer

        with MockServer().running() as url:
            yield url
    else:
        yield None


def _catalog(task: Task, options: RunOptions, mock_url: str | None) -> ModelCatalog:
    if isinstance(options.models, ModelCatalog):
        catalog = options.models
    else:
        explicit = Path(options.models) if options.models is not None else None
        path = find_models_file(explicit, task.task_dir)
        catalog = ModelCatalog.load(path) if path is not None else ModelCatalog()
    return catalog.with_mock(mock_url) if mock_url is not None else catalog


class _Run:
    def __init__(self, task: Task, options: RunOptions, catalog: ModelCatalog) -> None:
        self.task = task
        self.options = options
        self.catalog = catalog
        self.metrics = RunMetrics()
        self.output_dir = Path(options.output_dir or task.task_dir).resolve()
        data = task.config.data_config
        sink_block = data.sink or {"type": "jsonl", "file_path": f"output/{task.name}.jsonl"}
        if isinstance(sink_block, list):
            raise ConfigError("data_config.sink: a list of sinks is not supported yet; use one")
        self.sink_block = sink_block
        target = Path(str(sink_block.get("file_path", f"output/{task.name}")))
        base = target if target.is_absolute() else self.output_dir / target
        self.sink_path = base
        stem = base.with_suffix("") if base.suffix else base
        self.journal_path = stem.with_name(stem.name + ".journal.jsonl")
        self.failures_path = stem.with_name(stem.name + ".failures.jsonl")
        self.summary_path = stem.with_name(stem.name + ".summary.json")

    async def execute(self) -> RunResult:
        started = time.perf_counter()
        journal = Journal(self.journal_path)
        seed = self._seed(journal)
        env = self.build_env(seed)
        graph, shaper, validator = self.compile(env)
        items = self._items()
        sink = self._sink()
        failures = self._failures_sink()
        lock = _RunLock(self.journal_path.with_suffix(".lock"))
        lock.acquire()
        try:
            previous = await anyio.to_thread.run_sync(self._prepare, journal, sink, failures)
            journal.open()
            journal.run_started(self.task.fingerprint(), resumed=self.options.resume, seed=seed)
            engine = Engine(
                graph,
                sinks={OUTPUT_SINK: sink},
                failures=failures,
                journal=journal,
                shaper=shaper,
                metrics=self.metrics,
                validator=validator,
                window=self.options.window or self._default_window(graph, env),
                batch_size=self.options.batch_size,
                finished=previous.finished,
                memo=previous.memo,
                seed=seed,
                sync_every=self.options.sync_every,
                sync_seconds=self.options.sync_seconds,
            )
            paths: list[Path] = []
            try:
                counts = await self._run_engine(engine, items)
                if not counts.interrupted:
                    paths = await self._finalize(sink, failures)
            finally:
                if not paths:
                    sink.close()
                    failures.close()
                journal.close()
                await self._close_shared(env)
            result = self._result(counts, previous, paths, time.perf_counter() - started)
            result.metrics["backends"] = env.backends.summary()
            await anyio.to_thread.run_sync(self._write_summary, result)
            return result
        finally:
            lock.release()

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
        graph = compile_graph(self.task.config.graph_config, env, document=self.task.document)
        with self._located(("output_config",)):
            shaper = OutputShaper(
                self.task.config.output_config,
                task_data=self.task.data,
                task_dir=self.task.task_dir,
                id_column=self.task.config.data_config.id_column,
            )
        schema = self.task.config.schema_config
        with self._located(("schema_config",)):
            validator = RecordValidator(schema, self.task.task_dir) if schema else None
        return graph, shaper, validator

    @contextlib.contextmanager
    def _located(self, path: tuple[str, ...]) -> Iterator[None]:
        """Prefix a config error with the task file, the line of ``path`` and, unless the
        message already starts with it, the YAML path."""
        try:
            yield
        except ConfigError as exc:
            document = self.task.document
            message = str(exc)
            if document is None or document.source in message:
                raise
            if message.startswith(format_yaml_path(path)):
                line = document.line_of(path)
                where = f"{document.source}:{line}" if line else document.source
            else:
                where = document.where(path)
            raise type(exc)(f"{where}: {message}") from None

    def _seed(self, journal: Journal) -> int:
        """The explicit seed, else (on resume) the journal's, else 0."""
        if self.options.resume and journal.exists():
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
        if not self.options.handle_signals:
            return await engine.run(items)
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(_stop_on_signal, engine)
                counts = await engine.run(items)
                tg.cancel_scope.cancel()
        except BaseExceptionGroup as group:
            raise_grasp_error(group)
            raise
        return counts

    def _prepare(self, journal: Journal, sink: Sink, failures: Sink) -> JournalState:
        if self.options.overwrite and journal.exists():
            self.journal_path.unlink()
        if not self.options.resume or not journal.exists():
            if journal.exists():
                raise ResumeError(
                    f"{self.journal_path} exists: an earlier run of this task wrote here. "
                    "Pass --resume to continue it, or --overwrite to start over"
                )
            target = self.sink_path
            ours = self.journal_path.is_file()  # even empty: a run of ours died at its start
            if (
                not self.options.overwrite
                and not ours
                and target.is_file()
                and target.stat().st_size > 0
            ):
                raise ResumeError(
                    f"{target} exists and no journal says how it was made, so starting "
                    "would overwrite it. Move it away, or pass --overwrite"
                )
            sink.restore([])
            failures.restore([])
            return JournalState()
        state = journal.read()
        changed = (
            state.header is not None and state.header.get("task_hash") != self.task.fingerprint()
        )
        if changed and not self.options.force:
            raise ResumeError(
                f"the task changed since {self.journal_path} was started; resuming could "
                "mix outputs of two tasks. Pass --force to resume anyway, or --overwrite"
            )
        sink.restore(state.tokens.get(OUTPUT_SINK, []))
        failures.restore(state.tokens.get(FAILURES_SINK, []))
        return state

    def _items(self) -> Iterator[SourceItem]:
        data = self.task.config.data_config
        start = (
            self.options.start_index if self.options.start_index is not None else data.start_index
        )
        limit = (
            self.options.num_records if self.options.num_records is not None else data.num_records
        )
        if data.source is None:
            if limit is None:
                raise ConfigError(
                    "a data-less task needs a record count: set data_config.num_records or "
                    "pass --num-records N"
                )
            return (SourceItem(str(i), {}) for i in range(start, start + limit))
        return iter(self.source().iter_records(start=start, limit=limit))

    def source(self) -> Any:
        """The configured source (validated; nothing is read until it is iterated)."""
        data = self.task.config.data_config
        assert data.source is not None
        if isinstance(data.source, list):
            raise ConfigError("data_config.source: a list of sources is not supported yet")
        with self._located(("data_config", "source", "type")):
            source_type = registry.sources.get(str(data.source["type"]))
        block = dict(data.source)
        if "id_column" in source_type.config_model.model_fields:
            block.setdefault("id_column", data.id_column)
        config = validate_block(
            source_type.config_model,
            block,
            path=("data_config", "source"),
            document=self.task.document,
        )
        return source_type.from_config(config, self.task.task_dir)

    def _sink(self) -> Sink:
        with self._located(("data_config", "sink", "type")):
            sink_type = registry.sinks.get(str(self.sink_block["type"]))
        config = validate_block(
            sink_type.config_model,
            self.sink_block,
            path=("data_config", "sink"),
            document=self.task.document,
        )
        sink: Sink = sink_type.from_config(config, self.output_dir)
        return sink

    def _failures_sink(self) -> Sink:
        jsonl = registry.sinks.get("jsonl")
        config = jsonl.config_model.model_validate(
            {"type": "jsonl", "file_path": str(self.failures_path)}
        )
        failures: Sink = jsonl.from_config(config, self.output_dir)
        return failures

    def _default_window(self, graph: CompiledGraph, env: BuildEnv) -> int:
        models = sorted({m for n in graph.nodes.values() for m in _models_of(n.node)})
        known = [m for m in models if m in env.models.specs]
        return max(16, 2 * env.backends.total_concurrency(known)) if known else 64

    async def _finalize(self, sink: Sink, failures: Sink) -> list[Path]:
        paths: list[Path] = await anyio.to_thread.run_sync(sink.finalize)
        await anyio.to_thread.run_sync(failures.finalize)
        return paths

    async def _close_shared(self, env: BuildEnv) -> None:
        for obj in env.shared.values():
            close = getattr(obj, "aclose", None)
            if close is not None:
                with anyio.CancelScope(shield=True):
                    await close()

    def _result(
        self, counts: EngineCounts, previous: JournalState, paths: list[Path], seconds: float
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
            output_paths=paths,
            failures_path=self.failures_path,
            journal_path=self.journal_path,
            summary_path=self.summary_path,
            metrics=self.metrics.summary(),
            failure_reasons=counts.failure_reasons,
            allowed_failures=budget,
            previously_failed=len(previous.failed) + len(previous.unreadable),
            output_format=sink_type
            if (sink_type := str(self.sink_block["type"])) in _DISK_FORMATS
            else None,
        )

    def _write_summary(self, result: RunResult) -> None:
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


class _RunLock:
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
    run = _Run(task, RunOptions(), catalog)
    graph, _shaper, _validator = run.compile(run.build_env())
    if task.config.data_config.source is not None:
        run.source()
    run._sink()
    return graph


def _models_of(node: Any) -> list[str]:
    names = getattr(node, "model_names", ())
    return list(names)


async def _stop_on_signal(engine: Engine) -> None:
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _ in signals:
            _log.warning("stopping: finishing what is committed; run again with --resume")
            engine.request_stop()
            return
