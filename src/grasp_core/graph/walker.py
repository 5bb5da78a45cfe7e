"""Walk one record through a compiled graph.

A node runs when every forward edge into it is resolved and at least one fired; when all
were skipped, the node is skipped and so are its outgoing edges (joins never deadlock).
A back edge re-runs its target and resets the loop body's edges, leaving edges from
outside the loop as they were. Finished node runs are reported to ``on_node_done``
(the journal); on resume, ``memo`` replays them without running the node again.

Appended keys (``messages``) keep a fixed order whichever parallel branch finishes first:
each node run has a *step*, one more than the highest step among the runs whose edges
started it (START's is 0; a back edge's target, one more than the run that fired it), and
the lists a run appends are ordered by (step, the node's place in ``graph_config.nodes``,
iteration). Causes come before their effects, and the order depends on the graph and the
routes taken, never on latency, so a replay from the journal rebuilds it too.
"""

from __future__ import annotations

import bisect
import time
from collections import deque
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import anyio
from anyio.abc import TaskGroup

from grasp_core.errors import NodeError, RecordError, stop_in
from grasp_core.graph.chat_messages import with_message_objects
from grasp_core.graph.compiled import END, START, CompiledGraph, EdgeKey
from grasp_core.graph.node_call import call_node, stop_for_interrupt
from grasp_core.graph.state import APPEND_KEYS
from grasp_core.observe.metrics import RunMetrics
from grasp_core.protocols import NodeContext
from grasp_core.signal_exits import raised_by_signal_handler

__all__ = ["MemoEntry", "OnNodeDone", "walk_record"]

MemoEntry = Mapping[str, Any]
"""A journaled node run: ``{"d": delta, "routes": {edge index: label}}``."""

OnNodeDone = Callable[[str, str, int, dict[str, Any], dict[str, str]], None]
"""``(record_id, node, iteration, delta, routes)``, once per finished node run."""

_Rank = tuple[int, int, int]
"""Where a node run's appended lists go: (step, node's place in the graph, iteration)."""

_FIRED, _SKIPPED = 1, 2
_EXPENSIVE_SECONDS = 0.005
"""Node runs longer than this (model calls) are flushed to the journal at once; cheaper
ones ride along with the next flush, since redoing them after a crash costs little."""


async def walk_record(
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
) -> dict[str, Any]:
    """Run the graph for one record and return its final state; raise ``RecordError``.

    ``flush`` is called after a node run that took long enough to be worth never redoing
    (a model call), so its journal line reaches the OS at once.
    """
    walk = _Walk(graph, record_id, state, metrics, on_node_done, dict(memo or {}))
    walk.seed = seed
    walk.flush = flush
    walk.prefix = prefix
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
        self.pending: dict[str, deque[int]] = {}
        """Per node, the step of each start not yet run (more than one: run it again)."""
        self.fired_at: dict[EdgeKey, int] = {}
        """The step of the node run that fired each edge."""
        self.restarts: list[tuple[str, int]] = []
        self.ready: deque[str] = deque()
        self.base = {
            key: list(value) if isinstance(value := state.get(key), list) else []
            for key in APPEND_KEYS
        }
        self.chunks: dict[str, list[tuple[_Rank, list[Any]]]] = {}
        self.place: dict[str, int] | None = None
        """Each node's place in ``graph_config.nodes``, for appended keys' order."""
        self.failure: RecordError | None = None
        self._tg: TaskGroup | None = None
        self.seed = 0
        self.prefix = ""
        """Qualified path of this walk inside subgraphs (``outer@1.``), for node contexts."""
        self.flush: Callable[[], None] | None = None
        props = graph.properties
        self.multiturn = props.chat_conversation == "multiturn"
        self.window = props.chat_history_window_size
        self.limit = props.recursion_limit

    async def run(self) -> dict[str, Any]:
        for key in APPEND_KEYS:
            value = self.state.get(key)
            if value is not None and not isinstance(value, list):
                raise RecordError(
                    f"record {self.record_id!r}: {key!r} must be a list of role messages, got "
                    f"a {type(value).__name__}; fix or rename that field in the data"
                )
        if self.graph.sequential:
            await self._guarded(START, self._route_start)
            await self._drive(self._take_ready())
        else:
            async with anyio.create_task_group() as tg:
                self._tg = tg
                await self._guarded(START, self._route_start)
                await self._drive(self._take_ready())
        if self.failure is not None:
            raise self.failure
        return self.state

    async def _drive(self, name: str | None) -> None:
        """Run ready nodes in this task; only extra ready nodes (fan-out) get tasks of their own.

        A chain of nodes therefore runs in one task, without a task spawn per node.
        """
        while name is not None and self.failure is None:
            await self._guarded(name, self._run_node, name)
            name = self._take_ready()

    def _take_ready(self) -> str | None:
        if not self.ready:
            return None
        name = self.ready.popleft()
        while self.ready:
            assert self._tg is not None, "a sequential graph readied two nodes at once"
            self._tg.start_soon(self._drive, self.ready.popleft())
        return name

    async def _guarded(self, name: str, step: Callable[..., Any], *args: Any) -> None:
        try:
            await step(*args)
        except RecordError as exc:
            if exc.node is None:
                exc.node = name
            self._fail(exc)
        except KeyboardInterrupt as exc:  # raised by a condition: a stop, as on Ctrl-C
            await stop_for_interrupt(exc, record_id=self.record_id, node=name)
        except (Exception, SystemExit) as exc:  # sys.exit in a condition fails its record
            if (stop := stop_in(exc)) is not None:  # the record stays unfinished, for --resume
                raise stop from stop.__cause__
            if isinstance(exc, SystemExit) and raised_by_signal_handler(exc):
                # a stop (Ray's SIGTERM), not the condition's doing
                await stop_for_interrupt(exc, record_id=self.record_id, node=name)
            self._fail(
                NodeError(
                    f"record {self.record_id!r}, node {name!r}: {type(exc).__name__}: {exc}",
                    node=name,
                )
            )

    def _fail(self, exc: RecordError) -> None:
        if self.failure is None:
            self.failure = exc
        if self._tg is not None:
            self._tg.cancel_scope.cancel()

    async def _route_start(self) -> None:
        routes = await self._evaluate_routes(START)
        self._propagate(START, routes, step=0)
        self._restart_loops()

    def _start(self, name: str, step: int) -> None:
        queue = self.pending.get(name)
        if queue is None:
            queue = self.pending[name] = deque()
        queue.append(step)
        if name not in self.running:
            self.running.add(name)
            self.ready.append(name)

    async def _run_node(self, name: str) -> None:
        try:
            while queue := self.pending.get(name):
                await self._execute(name, queue.popleft())
        finally:
            self.running.discard(name)
        self._restart_loops()

    def _restart_loops(self) -> None:
        """Start loop heads whose body has drained (no node of the body still running).

        A back edge fired while a parallel branch of the previous iteration was still
        running waits for it, so the stale run cannot fire edges of the new iteration.
        """
        if not self.restarts:
            return
        waiting, self.restarts = self.restarts, []
        for head, step in waiting:
            body = self.graph.reach.get(head, frozenset({head}))
            if self.running & body:
                self.restarts.append((head, step))
                continue
            self._reset_loop(head)
            self._start(head, step + 1)

    async def _execute(self, name: str, step: int) -> None:
        iteration = self.iterations.get(name, 0)
        self.iterations[name] = iteration + 1
        self.steps += 1
        limit = self.limit
        if self.steps > limit:
            raise RecordError(
                f"record {self.record_id!r} exceeded recursion_limit={limit} node runs at "
                f"node {name!r}; check the loop's condition or raise "
                "graph_config.recursion_limit",
                node=name,
            )
        run = (step, name, iteration)
        entry = self.memo.pop((name, iteration), None) if self.memo else None
        if entry is not None:
            self._apply(entry["d"], run)
            routes = dict(entry.get("routes") or {})
            self.metrics.node(name).replayed += 1
        else:
            started = time.perf_counter()
            delta = await self._call(name, iteration)
            self._apply(delta, run)
            routes = await self._evaluate_routes(name)
            self.on_node_done(self.record_id, name, iteration, delta, routes)
            if self.flush is not None and time.perf_counter() - started > _EXPENSIVE_SECONDS:
                self.flush()
        self._propagate(name, routes, step)

    def _apply(self, delta: Mapping[str, Any], run: tuple[int, str, int]) -> None:
        """Apply a node's update; appended keys are kept in rank order (see above) of the
        node run ``(step, node, iteration)``."""
        for key, value in delta.items():
            if key not in APPEND_KEYS:
                self.state[key] = value
                continue
            if self.place is None:  # built on first use: most records append nothing
                self.place = {name: index for index, name in enumerate(self.graph.nodes)}
            rank = (run[0], self.place[run[1]], run[2])
            chunks = self.chunks.setdefault(key, [])
            bisect.insort(
                chunks,
                (rank, value if isinstance(value, list) else [value]),
                key=lambda chunk: chunk[0],
            )
            self.state[key] = [*self.base[key], *(m for _, chunk in chunks for m in chunk)]

    async def _call(self, name: str, iteration: int) -> dict[str, Any]:
        compiled = self.graph.nodes[name]
        if compiled.idle:
            return {}
        ctx = NodeContext(
            record_id=self.record_id,
            node=self.prefix + name,
            iteration=iteration,
            multiturn=self.multiturn,
            chat_history_window=self.window,
            seed=self.seed,
            run_graph=self._run_inner,
        )
        # parallel branches need a snapshot; one node at a time can read the state itself
        snapshot = not self.graph.sequential or compiled.pre_process is not None
        return await call_node(compiled, self.state, ctx, metrics=self.metrics, snapshot=snapshot)

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
                flush=self.flush,
                prefix=f"{self.prefix}{prefix}.",
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

    def _propagate(self, name: str, routes: Mapping[str, str], step: int) -> None:
        """Fire or skip the edges out of ``name``, whose run had ``step``."""
        for edge in self.graph.out_edges.get(name, ()):
            if edge.to is not None:
                self._fire((edge.index, edge.to), step)
                continue
            assert edge.path_map is not None
            chosen = edge.path_map[routes[str(edge.index)]]
            looping = self.graph.is_back_edge((edge.index, chosen))
            for target in edge.targets():
                key = (edge.index, target)
                if target == chosen:
                    self._fire(key, step)
                elif not looping and not self.graph.is_back_edge(key):
                    # when the edge loops back, the other targets stay pending: this node
                    # runs again and decides again
                    self._resolve(key, _SKIPPED)

    def _fire(self, key: EdgeKey, step: int) -> None:
        if self.graph.is_back_edge(key):
            self.restarts.append((key[1], step))
        else:
            self.fired_at[key] = step
            self._resolve(key, _FIRED)

    def _resolve(self, key: EdgeKey, status: int) -> None:
        self.status[key] = status
        target = key[1]
        if target == END:
            return
        edges = self.graph.forward_in.get(target, ())
        if len(edges) == 1:  # one way in (a chain): no join to wait for
            if status == _FIRED:
                self._start(target, 1 + self.fired_at[key])
            else:
                self._skip_node(target)
            return
        incoming = [self.status.get(k) for k in edges]
        if None in incoming:
            return
        if _FIRED in incoming:
            fired = (self.fired_at[k] for k in edges if self.status.get(k) == _FIRED)
            self._start(target, 1 + max(fired))
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
