"""The edge bookkeeping of one record's walk: which edges fired or were skipped, which nodes
are ready, and loops restarted by back edges.

A node runs when every forward edge into it is resolved and at least one fired; when all were
skipped, the node is skipped and so are its outgoing edges (joins never deadlock). A back edge
re-runs its target and resets the loop body's edges, leaving edges from outside the loop as
they were. Steps (see :mod:`grasp_core.graph.appended`) travel along the edges: a node starts
one step after the latest run that fired an edge into it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping

from grasp_core.graph.compiled import END, CompiledGraph, EdgeKey

__all__ = ["EdgeBook"]

_FIRED, _SKIPPED = 1, 2


class EdgeBook:
    """Edge states and ready nodes; a driver takes nodes from :attr:`ready`, runs each
    start queued in :attr:`pending`, then reports the run with :meth:`propagate`."""

    def __init__(self, graph: CompiledGraph) -> None:
        self.graph = graph
        self.status: dict[EdgeKey, int] = {}
        self.running: set[str] = set()
        """Nodes started and not yet drained (their starts in :attr:`pending` run in turn)."""
        self.pending: dict[str, deque[int]] = {}
        """Per node, the step of each start not yet run (more than one: run it again)."""
        self.fired_at: dict[EdgeKey, int] = {}
        """The step of the node run that fired each edge."""
        self.restarts: list[tuple[str, int]] = []
        self.ready: deque[str] = deque()

    def start(self, name: str, step: int) -> None:
        queue = self.pending.get(name)
        if queue is None:
            queue = self.pending[name] = deque()
        queue.append(step)
        if name not in self.running:
            self.running.add(name)
            self.ready.append(name)

    def restart_loops(self) -> None:
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
            self.start(head, step + 1)

    def propagate(self, name: str, routes: Mapping[str, str], step: int) -> None:
        """Fire or skip the edges out of ``name``, whose run had ``step``."""
        graph = self.graph
        for edge in graph.out_edges.get(name, ()):
            if edge.to is not None:
                self._fire((edge.index, edge.to), step)
                continue
            assert edge.path_map is not None
            chosen = edge.path_map[routes[str(edge.index)]]
            looping = graph.is_back_edge((edge.index, chosen))
            for target in edge.targets():
                key = (edge.index, target)
                if target == chosen:
                    self._fire(key, step)
                elif not looping and not graph.is_back_edge(key):
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
                self.start(target, 1 + self.fired_at[key])
            else:
                self._skip_node(target)
            return
        incoming = [self.status.get(k) for k in edges]
        if None in incoming:
            return
        if _FIRED in incoming:
            fired = (self.fired_at[k] for k in edges if self.status.get(k) == _FIRED)
            self.start(target, 1 + max(fired))
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
