"""Walk one record through a compiled graph.

A node runs when every forward edge into it is resolved and at least one fired; when all
were skipped, the node is skipped and so are its outgoing edges (joins never deadlock).
A back edge re-runs its target and resets the loop body's edges, leaving edges from
outside the loop as they were. Finished node runs are reported to ``on_node_done``
(the journal); on resume, ``memo`` replays them without running the node again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import anyio
from anyio.abc import TaskGroup

from grasp_core.errors import NodeError, RecordError
from grasp_core.graph.compiled import END, START, CompiledGraph, EdgeKey
from grasp_core.metrics import RunMetrics
from grasp_core.protocols import NodeContext
from grasp_core.state import apply_delta, jsonable_delta

__all__ = ["MemoEntry", "OnNodeDone", "walk_record"]

MemoEntry = Mapping[str, Any]
"""A journaled node run: ``{"d": delta, "routes": {edge index: label}}``."""

OnNodeDone = Callable[[str, str, int, dict[str, Any], dict[str, str]], None]
"""``(record_id, node, iteration, delta, routes)``, called once per finished node run."""

_FIRED, _SKIPPED = 1, 2


async def walk_record(
    graph: CompiledGraph,
    record_id: str,
    state: dict[str, Any],
    *,
    metrics: RunMetrics,
    on_node_done: OnNodeDone,
    memo: Mapping[tuple[str, int], MemoEntry] | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Run the graph for one record and return its final state; raise ``RecordError``."""
    walk = _Walk(graph, record_id, state, metrics, on_node_done, dict(memo or {}))
    walk.seed = seed
    return await walk.run()


class _Walk:
    def __init__(
        self,
        graph: CompiledGraph,
        record_id: str,
        state: dict[str, Any],
        metrics: RunMetrics,
        on_node_done: OnNodeDone,
        memo: dict[tuple[str, int], MemoEntry],
    ) -> None:
        self.graph = graph
        self.record_id = record_id
        self.state = state
        self.metrics = metrics
        self.on_node_done = on_node_done
        self.memo = memo
        self.status: dict[EdgeKey, int] = {}
        self.iterations: dict[str, int] = {}
        self.steps = 0
        self.running: set[str] = set()
        self.again: dict[str, int] = {}
        self.failure: RecordError | None = None
        self._tg: TaskGroup | None = None
        self.seed = 0
        props = graph.properties
        self.multiturn = props.chat_conversation == "multiturn"
        self.window = props.chat_history_window_size

    async def run(self) -> dict[str, Any]:
        async with anyio.create_task_group() as tg:
            self._tg = tg
            tg.start_soon(self._guarded, START, self._route_start)
        if self.failure is not None:
            raise self.failure
        return self.state

    async def _guarded(self, name: str, step: Callable[[], Any]) -> None:
        try:
            await step()
        except RecordError as exc:
            if exc.node is None:
                exc.node = name
            self._fail(exc)
        except Exception as exc:
            self._fail(
                NodeError(
                    f"record {self.record_id!r}, node {name!r}: {type(exc).__name__}: {exc}",
                    node=name,
                )
            )

    def _fail(self, exc: RecordError) -> None:
        if self.failure is None:
            self.failure = exc
        assert self._tg is not None
        self._tg.cancel_scope.cancel()

    async def _route_start(self) -> None:
        routes = await self._evaluate_routes(START)
        self._propagate(START, routes)

    def _start(self, name: str) -> None:
        if name in self.running:
            self.again[name] = self.again.get(name, 0) + 1
            return
        self.running.add(name)
        assert self._tg is not None
        self._tg.start_soon(self._guarded, name, lambda: self._run_node(name))

    async def _run_node(self, name: str) -> None:
        try:
            while True:
                await self._execute(name)
                pending = self.again.get(name, 0)
                if not pending:
                    break
                self.again[name] = pending - 1
        finally:
            self.running.discard(name)

    async def _execute(self, name: str) -> None:
        iteration = self.iterations.get(name, 0)
        self.iterations[name] = iteration + 1
        self.steps += 1
        limit = self.graph.properties.recursion_limit
        if self.steps > limit:
            raise RecordError(
                f"record {self.record_id!r} exceeded recursion_limit={limit} node runs at "
                f"node {name!r}; check the loop's condition or raise "
                "graph_config.recursion_limit",
                node=name,
            )
        entry = self.memo.pop((name, iteration), None)
        if entry is not None:
            apply_delta(self.state, entry["d"])
            routes = dict(entry.get("routes") or {})
            self.metrics.node(name).replayed += 1
        else:
            delta = await self._call(name, iteration)
            apply_delta(self.state, delta)
            routes = await self._evaluate_routes(name)
            self.on_node_done(self.record_id, name, iteration, delta, routes)
        self._propagate(name, routes)

    async def _call(self, name: str, iteration: int) -> dict[str, Any]:
        compiled = self.graph.nodes[name]
        if compiled.idle:
            return {}
        stats = self.metrics.node(name)
        view = dict(self.state)
        delta: dict[str, Any] = {}
        started = time.perf_counter()
        try:
            with anyio.fail_after(compiled.timeout):
                if compiled.pre_process is not None:
                    delta.update(_mapping(await compiled.pre_process(view), name, "pre_process"))
                    view.update(delta)
                ctx = NodeContext(
                    record_id=self.record_id,
                    node=name,
                    iteration=iteration,
                    multiturn=self.multiturn,
                    chat_history_window=self.window,
                    seed=self.seed,
                    run_graph=self._run_inner,
                )
                output = dict(await compiled.node.run(view, ctx))
                if compiled.post_process is not None:
                    output = _mapping(
                        await compiled.post_process(output, view), name, "post_process"
                    )
        except TimeoutError:
            stats.failures += 1
            raise NodeError(
                f"record {self.record_id!r}, node {name!r}: took longer than its timeout of "
                f"{compiled.timeout:g}s; raise the node's `timeout` or make it faster",
                node=name,
            ) from None
        except BaseException:
            stats.failures += 1
            raise
        finally:
            stats.seconds += time.perf_counter() - started
        stats.runs += 1
        delta.update(output)
        return jsonable_delta(delta, node=name, record_id=self.record_id)

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
            return await walk_record(
                graph,
                self.record_id,
                state,
                metrics=self.metrics,
                on_node_done=on_done,
                memo=inner_memo,
                seed=self.seed,
            )
        except RecordError as exc:
            exc.node = f"{prefix}.{exc.node}" if exc.node else prefix
            raise

    async def _evaluate_routes(self, name: str) -> dict[str, str]:
        routes: dict[str, str] = {}
        for edge in self.graph.out_edges.get(name, ()):
            if edge.condition is None:
                continue
            assert edge.path_map is not None
            label = await edge.condition(MappingProxyType(self.state))
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

    def _propagate(self, name: str, routes: Mapping[str, str]) -> None:
        for edge in self.graph.out_edges.get(name, ()):
            if edge.to is not None:
                self._fire((edge.index, edge.to))
                continue
            assert edge.path_map is not None
            chosen = edge.path_map[routes[str(edge.index)]]
            for target in edge.targets():
                key = (edge.index, target)
                if target == chosen:
                    self._fire(key)
                elif not self.graph.is_back_edge(key):
                    self._resolve(key, _SKIPPED)

    def _fire(self, key: EdgeKey) -> None:
        if self.graph.is_back_edge(key):
            self._reset_loop(key[1])
            self._start(key[1])
        else:
            self._resolve(key, _FIRED)

    def _resolve(self, key: EdgeKey, status: int) -> None:
        self.status[key] = status
        target = key[1]
        if target == END:
            return
        incoming = [self.status.get(k) for k in self.graph.forward_in.get(target, ())]
        if None in incoming:
            return
        if _FIRED in incoming:
            self._start(target)
        else:
            self._skip_node(target)

    def _skip_node(self, name: str) -> None:
        for edge in self.graph.out_edges.get(name, ()):
            for target in edge.targets():
                key = (edge.index, target)
                if not self.graph.is_back_edge(key):
                    self._resolve(key, _SKIPPED)

    def _reset_loop(self, head: str) -> None:
        body = self.graph.reach.get(head, frozenset({head}))
        for edge in self.graph.edges:
            if edge.source in body:
                for target in edge.targets():
                    self.status.pop((edge.index, target), None)


def _mapping(value: Any, node: str, hook: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise NodeError(
            f"node {node!r}: {hook} must return a dict of state updates, "
            f"got {type(value).__name__}",
            node=node,
        )
    return dict(value)
