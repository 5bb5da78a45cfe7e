"""What every walk of one record shares, whatever drives it (a chain's loop, or the general
walk over joins, branches and loops): the node-run step in its parts, replay from the journal's
memo, conditions, subgraphs, and how an exception raised there fails the record.

The step's parts are plain methods, so a driver awaits only the node itself:
:meth:`RecordWalk.begin` (count the run, check ``recursion_limit``), :meth:`RecordWalk.replay`
(a journaled run applied without running the node again), :meth:`RecordWalk.call` (the node
run, :func:`~grasp_core.graph.node_call.call_node`) and :meth:`RecordWalk.finish` (apply the
update, journal it, flush after an expensive one).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from types import MappingProxyType
from typing import Any, Protocol

from grasp_core.errors import NodeError, RecordError, stop_in
from grasp_core.graph.appended import AppendedKeys, NodeRun
from grasp_core.graph.chat_messages import with_message_objects
from grasp_core.graph.compiled import CompiledGraph
from grasp_core.graph.node_call import call_node, stop_for_interrupt
from grasp_core.observe.metrics import RunMetrics
from grasp_core.protocols import new_node_context
from grasp_core.signal_exits import raised_by_signal_handler

__all__ = ["MemoEntry", "OnNodeDone", "RecordWalk", "WalkInner", "record_failure"]

MemoEntry = Mapping[str, Any]
"""A journaled node run: ``{"d": delta, "routes": {edge index: label}}``."""

OnNodeDone = Callable[[str, str, int, dict[str, Any], dict[str, str]], None]
"""``(record_id, node, iteration, delta, routes)``, once per finished node run."""

_EXPENSIVE_SECONDS = 0.005
"""Node runs longer than this (model calls) are flushed to the journal at once; cheaper
ones ride along with the next flush, since redoing them after a crash costs little."""


class WalkInner(Protocol):
    """``walk_record``, as a walk calls it for a subgraph (passed in: no import cycle)."""

    def __call__(
        self,
        graph: CompiledGraph,
        record_id: str,
        state: dict[str, Any],
        *,
        metrics: RunMetrics,
        on_node_done: OnNodeDone,
        memo: Mapping[tuple[str, int], MemoEntry] | None = None,
        seed: int = 0,
        flush: Callable[[], None] | None = None,
        prefix: str = "",
    ) -> Awaitable[dict[str, Any]]: ...


class RecordWalk:
    """One record's walk: its state, node-run counts and journal callbacks."""

    __slots__ = (
        "appended",
        "flush",
        "graph",
        "inner",
        "iterations",
        "limit",
        "memo",
        "metrics",
        "multiturn",
        "nodes",
        "on_node_done",
        "prefix",
        "record_id",
        "seed",
        "sequential",
        "state",
        "steps",
        "window",
    )

    def __init__(
        self,
        graph: CompiledGraph,
        record_id: str,
        state: dict[str, Any],
        *,
        metrics: RunMetrics,
        on_node_done: OnNodeDone,
        memo: dict[tuple[str, int], MemoEntry],
        seed: int,
        flush: Callable[[], None] | None,
        prefix: str,
        inner: WalkInner,
    ) -> None:
        self.graph = graph
        self.nodes = graph.nodes
        self.record_id = record_id
        self.state = state
        self.appended = AppendedKeys(state, graph.nodes, record_id)
        self.metrics = metrics
        self.on_node_done = on_node_done
        self.memo = memo
        self.seed = seed
        self.flush = flush
        self.prefix = prefix
        """Qualified path of this walk inside subgraphs (``outer@1.``), for node contexts."""
        self.inner = inner
        self.sequential = graph.sequential
        self.iterations: dict[str, int] = {}
        self.steps = 0
        self.multiturn, self.window, self.limit = graph.walk_settings

    def begin(self, name: str) -> int:
        """Count a run of ``name`` and return its iteration; past ``recursion_limit`` runs,
        raise ``RecordError``."""
        iteration = self.iterations.get(name, 0)
        self.iterations[name] = iteration + 1
        self.steps += 1
        if self.steps > self.limit:
            raise self.past_limit(name)
        return iteration

    def past_limit(self, name: str) -> RecordError:
        """The error of a record about to run ``name`` past ``recursion_limit`` node runs."""
        return RecordError(
            f"record {self.record_id!r} exceeded recursion_limit={self.limit} node runs "
            f"at node {name!r}; check the loop's condition or raise "
            "graph_config.recursion_limit",
            node=name,
        )

    def replay(self, run: NodeRun) -> dict[str, str] | None:
        """Apply the journaled run ``(step, node, iteration)`` and return its routes, or
        None when the memo does not hold it (the node must run)."""
        entry = self.memo.pop((run[1], run[2]), None) if self.memo else None
        if entry is None:
            return None
        self.appended.apply(entry["d"], run)
        self.metrics.node(run[1]).replayed += 1
        return dict(entry.get("routes") or {})

    def call(self, name: str, iteration: int) -> Awaitable[dict[str, Any]]:
        """Run node ``name`` on the state; the awaitable gives its JSON-safe update (the
        node run's own coroutine: no layer of the walk's around it)."""
        compiled = self.nodes[name]
        if compiled.idle:
            return _nothing()
        # the bound method is made per node run: one kept on the walk would be a reference
        # cycle, and every record's walk would wait for the cyclic collector to free it
        ctx = new_node_context(
            self.record_id,
            self.prefix + name,
            iteration,
            self.multiturn,
            self.window,
            self.seed,
            self._run_inner,
        )
        # parallel branches need a snapshot; one node at a time can read the state itself
        snapshot = not self.sequential or compiled.pre_process is not None
        return call_node(compiled, self.state, ctx, metrics=self.metrics, snapshot=snapshot)

    def finish(
        self, run: NodeRun, delta: dict[str, Any], routes: dict[str, str], started: float
    ) -> None:
        """Journal a node run whose update is applied, and flush the journal when the run
        took long enough to be worth never redoing (a model call)."""
        self.on_node_done(self.record_id, run[1], run[2], delta, routes)
        if self.flush is not None and time.perf_counter() - started > _EXPENSIVE_SECONDS:
            self.flush()

    async def step(self, name: str, step: int) -> dict[str, str]:
        """One run of ``name`` started at ``step``, replayed or called, and the labels its
        conditional edges chose."""
        run = (step, name, self.begin(name))
        routes = self.replay(run)
        if routes is not None:
            return routes
        started = time.perf_counter()
        delta = await self.call(name, run[2])
        self.appended.apply(delta, run)
        routes = await self.routes(name) if name in self.graph.conditional else {}
        self.finish(run, delta, routes, started)
        return routes

    async def routes(self, name: str) -> dict[str, str]:
        """The label each conditional edge out of ``name`` chooses, by its edge index."""
        routes: dict[str, str] = {}
        for edge in self.graph.out_edges.get(name, ()):
            if edge.condition is None:
                continue
            assert edge.path_map is not None
            # messages read as message objects too, as SyGra's conditions read them
            view = with_message_objects(dict(self.state))
            label = await edge.condition(MappingProxyType(view))
            label = str(label)
            if label not in edge.path_map:
                raise RecordError(
                    f"record {self.record_id!r}: the condition on edge "
                    f"graph_config.edges[{edge.index}] (from {name!r}) returned {label!r}, "
                    f"which is not a path_map label ({', '.join(map(repr, edge.path_map))})",
                    node=name,
                )
            routes[str(edge.index)] = label
        return routes

    async def _run_inner(
        self, graph: CompiledGraph, state: dict[str, Any], prefix: str
    ) -> dict[str, Any]:
        """Walk an inner graph (a subgraph) for this record under qualified node names."""
        cut = len(prefix) + 1
        inner_memo = {
            (key[0][cut:], key[1]): self.memo.pop(key)
            for key in [k for k in self.memo if k[0].startswith(prefix + ".")]
        }

        def on_done(
            record_id: str, node: str, it: int, delta: dict[str, Any], routes: dict[str, str]
        ) -> None:
            self.on_node_done(record_id, f"{prefix}.{node}", it, delta, routes)

        try:
            return await self.inner(
                graph,
                self.record_id,
                state,
                metrics=self.metrics,
                on_node_done=on_done,
                memo=inner_memo,
                seed=self.seed,
                flush=self.flush,
                prefix=f"{self.prefix}{prefix}.",
            )
        except RecordError as exc:
            exc.node = f"{prefix}.{exc.node}" if exc.node else prefix
            raise


async def _nothing() -> dict[str, Any]:
    return {}


async def record_failure(exc: BaseException, record_id: str, name: str) -> RecordError:
    """The ``RecordError`` that ``exc``, raised while running node (or START's conditions)
    ``name``, fails its record with; a stop (``StopRunError``, ``KeyboardInterrupt``, or a
    ``SystemExit`` a signal handler raised) stops the run instead, leaving the record for
    ``--resume``. ``sys.exit`` in a condition fails its record."""
    if isinstance(exc, RecordError):
        if exc.node is None:
            exc.node = name
        return exc
    if isinstance(exc, KeyboardInterrupt):  # raised by a condition: a stop, as on Ctrl-C
        await stop_for_interrupt(exc, record_id=record_id, node=name)
    if (stop := stop_in(exc)) is not None:  # the record stays unfinished, for --resume
        raise stop from stop.__cause__
    if isinstance(exc, SystemExit) and raised_by_signal_handler(exc):
        # a stop (Ray's SIGTERM), not the condition's doing
        await stop_for_interrupt(exc, record_id=record_id, node=name)
    return NodeError(f"record {record_id!r}, node {name!r}: {type(exc).__name__}: {exc}", node=name)
