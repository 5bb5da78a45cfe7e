"""Walk one record through a compiled graph.

A chain runs as a plain loop over its nodes (:mod:`grasp_core.graph.chain`); any other graph
goes through the general walk below, which follows the edges (:mod:`grasp_core.graph.edges`:
joins, skips, loops) and runs each ready node, fanned-out branches in tasks of their own.
Finished node runs are reported to ``on_node_done`` (the journal); on resume, ``memo``
replays them without running the node again (:mod:`grasp_core.graph.record_walk`).
Appended keys (``messages``) keep a fixed order whichever parallel branch finishes first
(:mod:`grasp_core.graph.appended`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import anyio
from anyio.abc import TaskGroup

from grasp_core.errors import RecordError
from grasp_core.graph.chain import walk_chain
from grasp_core.graph.compiled import START, CompiledGraph
from grasp_core.graph.edges import EdgeBook
from grasp_core.graph.record_walk import MemoEntry, OnNodeDone, RecordWalk, record_failure
from grasp_core.observe.metrics import RunMetrics

__all__ = ["MemoEntry", "OnNodeDone", "walk_record"]


def walk_record(
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
) -> Awaitable[dict[str, Any]]:
    """Run the graph for one record; the awaitable gives its final state or raises
    ``RecordError``. (It is the walk's own coroutine: no layer around it.)

    ``flush`` is called after a node run that took long enough to be worth never redoing
    (a model call), so its journal line reaches the OS at once.
    """
    walk = RecordWalk(
        graph,
        record_id,
        state,
        metrics=metrics,
        on_node_done=on_node_done,
        memo=dict(memo) if memo else {},
        seed=seed,
        flush=flush,
        prefix=prefix,
        inner=walk_record,
    )
    chain = graph.chain
    if chain is not None:
        return walk_chain(walk, chain)
    return _GraphWalk(walk).run()


class _GraphWalk:
    """The general walk: ready nodes run as their edges resolve."""

    def __init__(self, walk: RecordWalk) -> None:
        self.walk = walk
        self.graph = walk.graph
        self.edges = EdgeBook(walk.graph)
        self.failure: RecordError | None = None
        self._tg: TaskGroup | None = None

    async def run(self) -> dict[str, Any]:
        if self.graph.sequential:
            await self._route_start()
            await self._drive(self._take_ready())
        else:
            async with anyio.create_task_group() as tg:
                self._tg = tg
                await self._route_start()
                await self._drive(self._take_ready())
        if self.failure is not None:
            raise self.failure
        return self.walk.state

    async def _route_start(self) -> None:
        try:
            routes = await self.walk.routes(START) if START in self.graph.conditional else {}
            self.edges.propagate(START, routes, step=0)
            self.edges.restart_loops()
        except (Exception, KeyboardInterrupt, SystemExit) as exc:
            self._fail(await record_failure(exc, self.walk.record_id, START))

    async def _drive(self, name: str | None) -> None:
        """Run ready nodes in this task; only extra ready nodes (fan-out) get tasks of their own.

        A branch of nodes therefore runs in one task, without a task spawn per node.
        """
        while name is not None and self.failure is None:
            await self._run_node(name)
            name = self._take_ready()

    def _take_ready(self) -> str | None:
        ready = self.edges.ready
        if not ready:
            return None
        name = ready.popleft()
        while ready:
            assert self._tg is not None, "a sequential graph readied two nodes at once"
            self._tg.start_soon(self._drive, ready.popleft())
        return name

    async def _run_node(self, name: str) -> None:
        """Run every start of ``name`` queued so far, then restart loops that drained."""
        edges = self.edges
        try:
            try:
                while queue := edges.pending.get(name):
                    step = queue.popleft()
                    routes = await self.walk.step(name, step)
                    edges.propagate(name, routes, step)
            finally:
                edges.running.discard(name)
            edges.restart_loops()
        except (Exception, KeyboardInterrupt, SystemExit) as exc:
            self._fail(await record_failure(exc, self.walk.record_id, name))

    def _fail(self, exc: RecordError) -> None:
        if self.failure is None:
            self.failure = exc
        if self._tg is not None:
            self._tg.cancel_scope.cancel()
