"""``preview``: run a task's graph on a few records and show what each node did, with an
estimate of the full run (``grasp preview``, and the Studio).

It runs the normal engine over the sampled records with nothing written where the run
writes: the output records stay in memory, and the journal (which reports each node run's
state change) lives in a temporary folder with any media the nodes make. Model calls are
watched through :func:`grasp_core.observe.calls.watching_model_calls`. The response cache
is used as by a run: calls it answers are marked ``cached``, and fresh replies are stored,
so the full run that follows gets the sampled records' replies back from it. Batched
models (batch mode) are called live, at their batch prices, unless ``batch=True`` asks for
their batch API (whose ledger then lives in the temporary folder too).
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
from pydantic_core import to_jsonable_python

from grasp_core.config.task_file import Task
from grasp_core.engine import Engine
from grasp_core.engine.journal import Journal
from grasp_core.errors import ConfigError
from grasp_core.graph.compiled import CompiledGraph
from grasp_core.logs import default_logging
from grasp_core.models.pricing import Price, prices_for
from grasp_core.observe.calls import ModelCall, watching_model_calls
from grasp_core.observe.metrics import RunMetrics
from grasp_core.protocols import CommitToken, Source, SourceItem
from grasp_core.runs.catalog import catalog_for, graph_models, mock_server_for
from grasp_core.runs.estimate import Estimate, estimate_run
from grasp_core.runs.local import close_shared, default_window
from grasp_core.runs.options import RunOptions
from grasp_core.runs.parts import TaskParts, load_task
from grasp_core.runs.preflight import check_before_calls
from grasp_core.runs.preview_data import CallView, NodeRun, RecordPreview
from grasp_core.sourcing import record_items

__all__ = ["Preview", "preview", "preview_async", "preview_task"]

_SINK = "preview"


@dataclass(slots=True)
class Preview:
    """``grasp preview``'s result: the sampled records and the estimate for the full run."""

    task: str
    mock: bool
    """The calls went to a mock server: costs are at the named models' prices, nothing
    was billed."""
    records: list[RecordPreview]
    estimate: Estimate
    node: str | None = None
    """With ``node``, ``records`` keep only that node's runs (the estimate covers every
    node: the whole graph ran)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: what ``grasp preview --json`` prints."""
        records = [
            {
                **dataclasses.asdict(record),
                "nodes": [_node_dict(run) for run in record.nodes],
            }
            for record in self.records
        ]
        return {
            "task": self.task,
            "mock": self.mock,
            "node": self.node,
            "records": records,
            "estimate": self.estimate.to_dict(),
        }


def _node_dict(run: NodeRun) -> dict[str, Any]:
    return {
        **dataclasses.asdict(run),
        "prompt_tokens": run.prompt_tokens,
        "completion_tokens": run.completion_tokens,
        "seconds": run.seconds,
        "cost_usd": run.cost_usd,
    }


def preview(
    task: Task | str | Path,
    /,
    *,
    sample: int = 5,
    records: Sequence[str] = (),
    node: str | None = None,
    batch: bool = False,
    **options: Any,
) -> Preview:
    """Run ``task`` on its first ``sample`` records (or the records whose ids are in
    ``records``) and return what each node did, with an estimate of the full run::

        shown = grasp_core.preview("task.yaml", sample=3, mock=True)
        print(shown.estimate.total["calls"].value)

    ``node`` keeps only that node's runs in ``records`` (the graph still runs whole);
    ``batch`` sends batched models' requests through their batch API, as a run does (else
    they are called live); ``options`` are :class:`RunOptions` fields (``mock``,
    ``models``, ``num_records``...). Nothing is written where the task's output, journal,
    lock or batch ledger go."""
    return preview_task(
        task, RunOptions(**options), sample=sample, records=records, node=node, batch=batch
    )


def preview_task(
    task: Task | str | Path,
    options: RunOptions | None = None,
    *,
    sample: int = 5,
    records: Sequence[str] = (),
    node: str | None = None,
    batch: bool = False,
) -> Preview:
    """:func:`preview` with its options as :class:`RunOptions` (the CLI's way in)."""

    async def main() -> Preview:
        return await preview_async(
            task, options, sample=sample, records=records, node=node, batch=batch
        )

    return anyio.run(main)


async def preview_async(
    task: Task | str | Path,
    options: RunOptions | None = None,
    *,
    sample: int = 5,
    records: Sequence[str] = (),
    node: str | None = None,
    batch: bool = False,
) -> Preview:
    """:func:`preview` inside the caller's event loop."""
    options = replace(options or RunOptions(), post_process=False, resume=False, overwrite=False)
    default_logging()
    if sample < 1:
        raise ConfigError(f"the preview needs at least one record, got {sample!r}")
    loaded = load_task(task, options)
    with mock_server_for(options.mock) as mock_url:
        catalog = replace(catalog_for(loaded, options, mock_url), call_live=not batch)
        parts = TaskParts(loaded, options, catalog)
        with tempfile.TemporaryDirectory(prefix="grasp-preview-") as scratch:
            return await _Sampler(parts, Path(scratch), sample, tuple(records), node).run()


class _Sampler:
    """One preview: the engine over the sampled records, watched."""

    def __init__(
        self,
        parts: TaskParts,
        scratch: Path,
        sample: int,
        wanted: tuple[str, ...],
        node: str | None,
    ) -> None:
        self.parts = parts
        self.scratch = scratch
        self.sample = sample
        self.wanted = wanted
        self.node = node
        self.calls: list[ModelCall] = []

    async def run(self) -> Preview:
        parts, options = self.parts, self.parts.options
        seed = options.seed if options.seed is not None else 0
        metrics = RunMetrics()
        env = parts.build_env(seed, metrics, with_cache=True)
        env.media_dir = self.scratch / "media"
        env.batch_dir = self.scratch / "batches"
        async with contextlib.AsyncExitStack() as cleanup:
            cleanup.push_async_callback(close_shared, env)
            graph, shaper, validator = parts.compile(env)
            self._check_node(graph)
            await check_before_calls(parts, graph)
            has_source = parts.task.config.data_config.source is not None
            source = parts.source(seed) if has_source else None
            items = await anyio.to_thread.run_sync(self._items, source)
            counter = parts.counter(source)
            count = await anyio.to_thread.run_sync(counter) if counter else parts.total()
            journal = _KeepingJournal(self.scratch / "preview.journal.jsonl")
            journal.open()
            cleanup.callback(journal.close)
            journal.run_started(parts.fingerprint(), seed=seed)
            sink, failures = _MemorySink(), _MemorySink()
            window = options.window or default_window(graph, env)
            engine = Engine(
                graph,
                sinks={_SINK: sink},
                failures=failures,
                journal=journal,
                shaper=shaper,
                metrics=metrics,
                validator=validator,
                window=max(1, len(items)),
                batch_size=1,  # one record a commit: each written row is known by its record
                seed=seed,
            )
            with watching_model_calls(self.calls.append):
                await engine.run(iter(items))
            models = sorted({*graph_models(graph), *(c.model for c in self.calls)})
            prices = await anyio.to_thread.run_sync(prices_for, parts.catalog, models)
            sampled = self._records(items, journal, sink, failures, prices)
            estimate = estimate_run(
                sampled,
                count=count,
                backends={m: env.backends.backend(m) for m in models},
                window=window,
                mock=parts.catalog.mock_url is not None,
                priced_as=self._routes(prices),
            )
            return Preview(
                task=str(parts.task.path or "<task>"),
                mock=parts.catalog.mock_url is not None,
                records=[self._shown(record) for record in sampled],
                estimate=estimate,
                node=self.node,
            )
        raise AssertionError("unreachable")  # mypy: AsyncExitStack may swallow exceptions

    def _check_node(self, graph: CompiledGraph) -> None:
        if self.node is None or self.node.split(".", 1)[0] in graph.nodes:
            return
        raise ConfigError(
            f"--node {self.node!r} is not a node of this graph; its nodes are "
            f"{', '.join(sorted(graph.nodes))}"
        )

    def _items(self, source: Source | None) -> list[SourceItem]:
        """The sampled records: the run's first ``sample``, or those named by id (the whole
        source is searched; every id must be found before any call is made)."""
        if not self.wanted:
            return list(itertools.islice(self.parts.items(source), self.sample))
        if source is None:  # a data-less record is its id alone
            return [SourceItem(record_id, {}) for record_id in dict.fromkeys(self.wanted)]
        left = dict.fromkeys(self.wanted)
        found: dict[str, SourceItem] = {}
        for item in record_items(source, start=0, limit=None):
            if item.record_id in left and item.record_id not in found:
                found[item.record_id] = item
                if len(found) == len(left):
                    break
        missing = [record_id for record_id in left if record_id not in found]
        if missing:
            raise ConfigError(
                f"--records: no record with id {', '.join(map(repr, missing))} in the task's "
                "data; ids come from data_config.id_column (default `id`), else a record's "
                "position (0, 1, ...)"
            )
        return [found[record_id] for record_id in left]

    def _records(
        self,
        items: list[SourceItem],
        journal: _KeepingJournal,
        sink: _MemorySink,
        failed: _MemorySink,
        prices: dict[str, Price | None],
    ) -> list[RecordPreview]:
        """Each sampled record with every node run (in the order they finished) and the
        model calls each made."""
        calls: dict[tuple[str | None, str | None, int], list[CallView]] = {}
        for call in self.calls:
            key = (call.record_id, call.node, call.iteration)
            calls.setdefault(key, []).append(CallView.of(call, prices.get(call.model)))
        failures = {f["id"]: f for f in failed.rows}
        sampled = []
        for item in items:
            runs = [
                NodeRun(node, iteration, update, calls.pop((item.record_id, node, iteration), []))
                for node, iteration, update in journal.node_runs.get(item.record_id, [])
            ]
            failure = failures.get(item.record_id)
            written = journal.written.get(item.record_id)
            sampled.append(
                RecordPreview(
                    record_id=item.record_id,
                    input=to_jsonable_python(item.data, fallback=repr),
                    nodes=runs,
                    output=sink.rows[written] if written is not None else None,
                    failure=_failure(failure) if failure is not None else None,
                )
            )
        return sampled

    def _shown(self, record: RecordPreview) -> RecordPreview:
        """``record`` with only ``--node``'s runs (all of them without it)."""
        if self.node is None:
            return record
        prefix = self.node + "."
        kept = [run for run in record.nodes if run.node == self.node or run.node.startswith(prefix)]
        return replace(record, nodes=kept)

    def _routes(self, prices: dict[str, Price | None]) -> dict[str, str]:
        called = {call.model for call in self.calls}
        catalog = self.parts.catalog
        return {
            m: catalog.get(m).price_as or catalog.get(m).model
            for m in sorted(called)
            if prices.get(m) is not None
        }


def _failure(failure: dict[str, Any]) -> dict[str, Any]:
    return {key: failure.get(key) for key in ("node", "error", "reason")}


class _KeepingJournal(Journal):
    """The run's journal, also keeping each node run's state change and which written row
    is each record's (the engine commits one record at a time here)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.node_runs: dict[str, list[tuple[str, int, dict[str, Any]]]] = {}
        self.written: dict[str, int] = {}

    def node_done(
        self,
        record_id: str,
        node: str,
        iteration: int,
        delta: dict[str, Any],
        routes: dict[str, str],
    ) -> None:
        self.node_runs.setdefault(record_id, []).append((node, iteration, delta))
        super().node_done(record_id, node, iteration, delta, routes)

    def records_done(self, ids: list[str], tokens: dict[str, CommitToken]) -> None:
        token = tokens.get(_SINK)
        if token is not None and len(ids) == 1:
            self.written[ids[0]] = int(token["row"])
        super().records_done(ids, tokens)


class _MemorySink:
    """A sink that keeps its rows in memory (the preview writes no output file)."""

    quick_writes = True
    """Its writes are list appends: the engine calls them on the event loop."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def restore(self, committed: list[CommitToken]) -> None:
        self.rows.clear()

    def write(self, records: list[dict[str, Any]]) -> CommitToken:
        self.rows.extend(records)
        return {"row": len(self.rows) - len(records)}

    def finalize(self) -> list[Path]:
        return []

    def close(self) -> None:
        """Nothing to release."""
