"""``TaskParts``: how a run's pieces are built from its task and options — the build
environment, the compiled graph with its output shaper and validator, the row format, the
source and its records, the sinks and the failures file. Every config check but I/O happens
here, so ``grasp validate`` and every executor check a task the same way."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

from grasp_core import registry
from grasp_core.config import validate_block
from grasp_core.config.locate import located
from grasp_core.config.task_file import Task
from grasp_core.engine.journal import Journal
from grasp_core.engine.output import OutputShaper
from grasp_core.engine.row_formats import RowMapper, build_row_mapper, select_format
from grasp_core.engine.validation import RecordValidator
from grasp_core.errors import ResumeError
from grasp_core.graph.compile import compile_graph
from grasp_core.graph.compiled import CompiledGraph
from grasp_core.models.backends import BackendPool
from grasp_core.models.cache import DEFAULT_MAX_BYTES, ResponseCache, default_cache_dir
from grasp_core.models.catalog import ModelCatalog
from grasp_core.observe.metrics import RunMetrics
from grasp_core.protocols import BuildEnv, Sink, Source, SourceItem
from grasp_core.runs.layout import RunLayout
from grasp_core.runs.options import RunOptions
from grasp_core.runs.quality import graph_with_quality, output_with_quality, with_quality_tasks
from grasp_core.sourcing import build_source, count_of, record_items, windowed_count

__all__ = ["TaskParts", "load_task"]

_CACHE_KEY = "grasp_core.response_cache"
"""Where the run's response cache sits in ``BuildEnv.shared`` (closed with it)."""


def load_task(task: Task | str | Path, options: RunOptions) -> Task:
    """The task a run executes: loaded from its file when given a path, with the quality
    tasks that ``options.quality`` asks for."""
    loaded = task if isinstance(task, Task) else Task.load(task)
    return with_quality_tasks(loaded, options.quality)


class TaskParts:
    """Builds the parts of one run of ``task``; nothing is read or written until used."""

    def __init__(
        self,
        task: Task,
        options: RunOptions,
        catalog: ModelCatalog,
    ) -> None:
        self.task = task
        self.options = options
        self.catalog = catalog
        self.layout = RunLayout.of(task, options.output_dir)

    def build_env(
        self, seed: int = 0, metrics: RunMetrics | None = None, *, with_cache: bool = False
    ) -> BuildEnv:
        """What node types see while they are built (one backend pool for the run); with
        ``with_cache`` (a run, not a check) the response cache the options ask for, opened
        now and closed with the run's shared objects."""
        env = BuildEnv(
            task_dir=self.task.task_dir,
            models=self.catalog,
            backends=BackendPool(self.catalog),
            metrics=metrics if metrics is not None else RunMetrics(),
            task_data=self.task.data,
            seed=seed,
            document=self.task.document,
            subgraph_chain=(str(self.task.path),) if self.task.path is not None else (),
            media_dir=self.layout.media_dir,
            batch_dir=self.layout.batch_dir,
        )
        if with_cache and self.options.cache:
            directory, max_bytes = self.cache_location()
            env.cache = ResponseCache(
                directory, max_bytes=max_bytes, refresh=self.options.refresh_cache
            ).open()
            env.shared[_CACHE_KEY] = env.cache
        return env

    def cache_location(self) -> tuple[Path, int]:
        """The response cache's folder and size limit in bytes: the options' (the CLI's
        flags), else the models file's ``cache:`` block, else the defaults."""
        options, catalog = self.options, self.catalog
        directory = options.cache_dir or catalog.cache_dir or default_cache_dir()
        max_mb = options.cache_max_mb or catalog.cache_max_mb
        return Path(directory), max_mb * 1024 * 1024 if max_mb else DEFAULT_MAX_BYTES

    def compile(self, env: BuildEnv) -> tuple[CompiledGraph, OutputShaper, RecordValidator | None]:
        """The graph, the output shaper and the validator; every config check but I/O."""
        return self.graph(env), self.shaper(), self.validator()

    def graph(self, env: BuildEnv) -> CompiledGraph:
        """The compiled graph (with the quality tasks the options add)."""
        graph_config = graph_with_quality(self.task.config, self.task.document)
        return compile_graph(graph_config, env, document=self.task.document)

    def shaper(self) -> OutputShaper:
        """What turns a finished state into the output record (``output_config``)."""
        config = self.task.config
        with self.located(("output_config",)):
            return OutputShaper(
                output_with_quality(config.output_config),
                task_data=self.task.data,
                task_dir=self.task.task_dir,
                id_column=config.data_config.id_column,
            )

    def validator(self) -> RecordValidator | None:
        """The output records' validator (``schema_config``), if the task has one."""
        schema = self.task.config.schema_config
        with self.located(("schema_config",)):
            return RecordValidator(schema, self.task.task_dir) if schema else None

    def row_mapper(self) -> RowMapper | None:
        """The run's row format (``--format``, ``--oasst``, ``output_config``), if any."""
        name = self.format_name()
        if name is None:
            return None
        from_flags = self.options.format is not None or bool(self.options.oasst)
        with contextlib.nullcontext() if from_flags else self.located(("output_config",)):
            return build_row_mapper(name)

    def format_name(self) -> str | None:
        """The registered row format the run writes, or None for plain records."""
        with self.located(("output_config",)):
            return select_format(
                self.task.config.output_config,
                oasst=self.options.oasst,
                format_name=self.options.format,
            )

    def fingerprint(self) -> str:
        """The task's fingerprint and its row format: resuming with other rows is refused."""
        name = self.format_name()
        return self.task.fingerprint() + (f"+{name}" if name else "")

    @contextlib.contextmanager
    def located(self, path: tuple[str, ...]) -> Iterator[None]:
        """Prefix a config error with the task file and the line and YAML path of ``path``."""
        with located(self.task.document, path):
            yield

    def seed(self, journal: Journal) -> int:
        """The explicit seed, else (on resume) the journal's, else 0."""
        header = journal.header() if self.options.resume and not self.options.overwrite else None
        recorded = header.get("seed") if header is not None else None
        if recorded is not None:
            if self.options.seed is not None and self.options.seed != recorded:
                options = self.options
                raise ResumeError(
                    f"this run was started with {options.hint('seed', recorded)}; resuming "
                    f"with {options.hint('seed', options.seed)} would draw different values. "
                    f"Drop {'--seed' if options.hints == 'cli' else 'seed'}"
                )
            return int(recorded)
        return self.options.seed if self.options.seed is not None else 0

    def ordered(self) -> bool:
        """Whether the run writes in source order (``ordered`` option, or any sink's
        ``ordered: true``: every sink gets the same stream)."""
        return self.options.ordered or self.layout.ordered

    def total(self) -> int | None:
        """How many records a data-less run makes (a source's size is learned by
        :meth:`counter`)."""
        _, limit = self._window()
        return limit if self.task.config.data_config.source is None else None

    def counter(self, source: Source | None) -> Callable[[], int | None] | None:
        """What learns how many records the run sees from ``source`` (earlier runs'
        included): its cheap count (``Source.count``) within the start/limit window, None
        when it cannot tell. It may read the file's lines or metadata: call it off the event
        loop. None for a data-less run (see :meth:`total`)."""
        if source is None:
            return None
        start, limit = self._window()
        return lambda: windowed_count(count_of(source), start, limit)

    def source(self, seed: int = 0) -> Source:
        """The configured source(s) with transforms and joins (validated; nothing is read
        until it is iterated)."""
        return build_source(
            self.task.config.data_config,
            task_dir=self.task.task_dir,
            document=self.task.document,
            seed=seed,
        )

    def items(self, source: Source | None) -> Iterator[SourceItem]:
        """The records of ``source`` (None: a data-less run) within the start/limit window."""
        start, limit = self._window()
        return record_items(source, start=start, limit=limit)

    def _window(self) -> tuple[int, int | None]:
        """The run's start and limit: the options', else the task's."""
        data, options = self.task.config.data_config, self.options
        start = options.start_index if options.start_index is not None else data.start_index
        limit = options.num_records if options.num_records is not None else data.num_records
        return start, limit

    def sinks(self) -> dict[str, Sink]:
        """Every configured sink by its journal name (validated; nothing is opened)."""
        sinks: dict[str, Sink] = {}
        document = self.task.document
        for name, (block, path) in self.layout.sink_blocks.items():
            with located(document, (*path, "type")):
                sink_type = registry.sinks.get(str(block["type"]))
            config = validate_block(sink_type.config_model, block, path=path, document=document)
            with located(document, path):
                sinks[name] = sink_type.from_config(config, self.layout.output_dir)
        return sinks

    def failures_sink(self) -> Sink:
        """The JSON Lines file every failed record goes to."""
        jsonl = registry.sinks.get("jsonl")
        config = jsonl.config_model.model_validate(
            {"type": "jsonl", "file_path": str(self.layout.failures_path)}
        )
        failures: Sink = jsonl.from_config(config, self.layout.output_dir)
        return failures
