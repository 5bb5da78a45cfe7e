"""Structural analysis of a graph: reachability, loops, parallel branches."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping

from grasp_core.graph.compiled import END, START, Edge, EdgeKey

__all__ = [
    "back_edges",
    "forward_reach",
    "loops_without_exit",
    "parallel_pairs",
    "reachable",
]


def reachable(start: str, adjacency: Mapping[str, Iterable[str]]) -> set[str]:
    """Every node reachable from ``start`` (including it)."""
    seen = {start}
    queue = deque([start])
    while queue:
        for nxt in adjacency.get(queue.popleft(), ()):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen


def back_edges(edges: tuple[Edge, ...]) -> frozenset[EdgeKey]:
    """Edges that close a loop: they re-trigger their target instead of joining into it.

    Loops are written as conditional edges back to an earlier node, so conditional edges
    are chosen first: one on a cycle whose target is no deeper (breadth-first distance from
    START) than its source. Any cycle still left among the other edges is then broken at
    its edge that goes least deep. The result does not depend on the order of the edges.
    """
    adjacency: dict[str, list[str]] = {}
    for edge in edges:
        adjacency.setdefault(edge.source, []).extend(edge.targets())
    depth = _depths(adjacency)
    reach = {name: reachable(name, adjacency) for name in adjacency}
    found: set[EdgeKey] = set()
    for edge in edges:
        if edge.condition is None:
            continue
        for target in edge.targets():
            on_cycle = target != END and edge.source in reach.get(target, ())
            if on_cycle and depth.get(target, 0) <= depth.get(edge.source, 0):
                found.add((edge.index, target))
    while True:
        cycle = _forward_cycle(edges, frozenset(found))
        if cycle is None:
            return frozenset(found)
        found.add(
            min(cycle, key=lambda k: (depth.get(k[1], 0) - depth.get(_source(edges, k), 0), k))
        )


def _source(edges: tuple[Edge, ...], key: EdgeKey) -> str:
    return edges[key[0]].source


def _forward_cycle(edges: tuple[Edge, ...], back: frozenset[EdgeKey]) -> list[EdgeKey] | None:
    """The edge keys of one cycle among non-back edges, if there is one."""
    out: dict[str, list[EdgeKey]] = {}
    for edge in edges:
        for target in edge.targets():
            if (edge.index, target) not in back:
                out.setdefault(edge.source, []).append((edge.index, target))
    state: dict[str, int] = {}
    stack: list[EdgeKey] = []

    def visit(name: str) -> list[EdgeKey] | None:
        state[name] = 1
        for key in out.get(name, ()):
            target = key[1]
            if state.get(target) == 1:
                start = next(
                    (i for i, k in enumerate(stack) if _source(edges, k) == target), len(stack)
                )
                return [*stack[start:], key]
            if target not in state:
                stack.append(key)
                cycle = visit(target)
                stack.pop()
                if cycle is not None:
                    return cycle
        state[name] = 2
        return None

    for name in [START, *sorted(out)]:
        if name not in state:
            cycle = visit(name)
            if cycle is not None:
                return cycle
    return None


def loops_without_exit(edges: tuple[Edge, ...]) -> list[list[str]]:
    """Cycles made only of simple edges: every simple edge always fires, so such a loop can
    never end, whatever conditional edges sit beside it."""
    simple = tuple(edge for edge in edges if edge.condition is None)
    adjacency: dict[str, list[str]] = {}
    for edge in simple:
        adjacency.setdefault(edge.source, []).extend(edge.targets())
    reach = {name: reachable(name, adjacency) for name in adjacency}
    found: list[list[str]] = []
    seen: set[str] = set()
    for name in sorted(adjacency):
        if name in seen:
            continue
        group = sorted(n for n in reach[name] if name in reach.get(n, ()))
        seen.update(group)
        cyclic = len(group) > 1 or name in adjacency.get(name, ())
        if cyclic:
            found.append(group)
    return found


def _depths(adjacency: Mapping[str, Iterable[str]]) -> dict[str, int]:
    depth = {START: 0}
    queue = deque([START])
    while queue:
        node = queue.popleft()
        for nxt in adjacency.get(node, ()):
            if nxt not in depth:
                depth[nxt] = depth[node] + 1
                queue.append(nxt)
    return depth


def forward_reach(
    edges: tuple[Edge, ...], back: frozenset[EdgeKey], names: Iterable[str]
) -> dict[str, frozenset[str]]:
    """Per node, what it reaches over forward edges only (itself included)."""
    adjacency: dict[str, list[str]] = {}
    for edge in edges:
        for target in edge.targets():
            if (edge.index, target) not in back:
                adjacency.setdefault(edge.source, []).append(target)
    return {name: frozenset(reachable(name, adjacency)) for name in [START, *names]}


def parallel_pairs(
    edges: tuple[Edge, ...], reach: Mapping[str, frozenset[str]]
) -> set[frozenset[str]]:
    """Pairs of nodes that may run at the same time for one record.

    Two nodes are parallel when a node has two distinct outgoing edges leading to them and
    neither reaches the other. Targets of one conditional edge exclude each other.
    """
    by_source: dict[str, list[Edge]] = {}
    for edge in edges:
        by_source.setdefault(edge.source, []).append(edge)
    pairs: set[frozenset[str]] = set()
    for outgoing in by_source.values():
        branches = [
            set().union(*(reach.get(t, frozenset({t})) for t in e.targets())) - {END}
            for e in outgoing
        ]
        for i, left in enumerate(branches):
            for right in branches[i + 1 :]:
                for a in left:
                    for b in right:
                        if a != b and b not in reach.get(a, ()) and a not in reach.get(b, ()):
                            pairs.add(frozenset((a, b)))
    return pairs
