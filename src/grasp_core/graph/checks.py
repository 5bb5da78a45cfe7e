"""Structural analysis of a graph: reachability, loops, parallel branches."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping

from grasp_core.graph.compiled import END, START, Edge, EdgeKey

__all__ = [
    "back_edges",
    "forward_reach",
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
    """Edge targets that close a cycle, found by depth-first search from START in edge order."""
    out: dict[str, list[tuple[EdgeKey, str]]] = {}
    for edge in edges:
        for target in edge.targets():
            out.setdefault(edge.source, []).append(((edge.index, target), target))
    found: set[EdgeKey] = set()
    state: dict[str, int] = {}  # 1 = on the stack, 2 = finished
    stack: list[tuple[str, int]] = [(START, 0)]
    state[START] = 1
    while stack:
        node, position = stack[-1]
        children = out.get(node, [])
        if position >= len(children):
            state[node] = 2
            stack.pop()
            continue
        stack[-1] = (node, position + 1)
        key, child = children[position]
        if state.get(child) == 1:
            found.add(key)
        elif child not in state:
            state[child] = 1
            stack.append((child, 0))
    return frozenset(found)


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
