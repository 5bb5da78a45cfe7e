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

    An edge on a cycle is a back edge when it leads to a node no deeper (by breadth-first
    distance from START) than its source; among equally deep nodes only conditional edges
    count, since loops are written as conditional edges back to an earlier node. The choice
    does not depend on the order edges are listed in.
    """
    adjacency: dict[str, list[str]] = {}
    for edge in edges:
        adjacency.setdefault(edge.source, []).extend(edge.targets())
    depth = _depths(adjacency)
    found: set[EdgeKey] = set()
    for edge in edges:
        for target in edge.targets():
            if target == END or edge.source not in reachable(target, adjacency):
                continue
            here, there = depth.get(edge.source, 0), depth.get(target, 0)
            if there < here or (there == here and edge.condition is not None):
                found.add((edge.index, target))
    return frozenset(found)


def loops_without_exit(edges: tuple[Edge, ...]) -> list[list[str]]:
    """Loops (strongly connected groups of nodes) that no conditional edge can leave.

    A loop whose edges are all simple edges runs forever; a loop needs a conditional edge.
    """
    adjacency: dict[str, list[str]] = {}
    for edge in edges:
        adjacency.setdefault(edge.source, []).extend(edge.targets())
    reach = {name: reachable(name, adjacency) for name in adjacency}
    found: list[list[str]] = []
    seen: set[str] = set()
    for name in sorted(adjacency):
        if name in seen:
            continue
        group = sorted(n for n in reach[name] if name in reach.get(n, ()))
        internal = [e for e in edges if e.source in group and any(t in group for t in e.targets())]
        seen.update(group)
        if internal and not any(e.condition is not None for e in internal):
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
