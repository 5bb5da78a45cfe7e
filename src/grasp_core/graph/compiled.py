"""The compiled, immutable form of a graph that every record walks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from grasp_core.config import GraphProperties
from grasp_core.config.callables import UserCallable
from grasp_core.protocols import Node

__all__ = ["END", "START", "CompiledGraph", "CompiledNode", "Edge", "EdgeKey"]

START = "START"
END = "END"

EdgeKey = tuple[int, str]
"""An edge's position in ``graph_config.edges`` and one of its targets."""


@dataclass(frozen=True, slots=True)
class Edge:
    """A simple edge (one target) or a conditional one (a target per label)."""

    index: int
    source: str
    to: str | None = None
    condition: UserCallable | None = None
    path_map: Mapping[str, str] | None = None

    def targets(self) -> tuple[str, ...]:
        """Every node this edge can lead to, in `path_map` order, without repeats."""
        if self.to is not None:
            return (self.to,)
        assert self.path_map is not None
        return tuple(dict.fromkeys(self.path_map.values()))


@dataclass(frozen=True, slots=True)
class CompiledNode:
    """A built node with its optional hooks."""

    name: str
    node: Node
    node_type: str
    pre_process: UserCallable | None = None
    post_process: UserCallable | None = None
    idle: bool = False
    timeout: float | None = None
    direct: bool = field(init=False)
    """No hook and no timeout: a run is the node's own coroutine, awaited as it is."""
    fresh: bool = field(init=False)
    """The node's updates need no JSON-safe copy: it says its updates are fresh JSON data
    (``fresh_updates``, see :class:`~grasp_core.protocols.Node`) and no hook adds to them."""

    def __post_init__(self) -> None:
        hooked = self.pre_process is not None or self.post_process is not None
        object.__setattr__(self, "direct", not hooked and not self.timeout)
        fresh = not hooked and getattr(self.node, "fresh_updates", False) is True
        object.__setattr__(self, "fresh", fresh)


@dataclass(frozen=True)
class CompiledGraph:
    """Nodes, edges and the facts the walker needs, computed once per run.

    ``back_edges`` close loops: they re-trigger their target instead of counting towards
    its join. ``forward_in`` lists, per node, the edges it waits for. ``reach`` maps a
    node to every node reachable from it over forward edges (itself included), used to
    reset a loop body when a back edge fires.
    """

    nodes: Mapping[str, CompiledNode]
    edges: tuple[Edge, ...]
    out_edges: Mapping[str, tuple[Edge, ...]]
    forward_in: Mapping[str, tuple[EdgeKey, ...]]
    back_edges: frozenset[EdgeKey]
    reach: Mapping[str, frozenset[str]]
    properties: GraphProperties
    sequential: bool = False
    """No node (nor START) has two outgoing edges: at most one node runs at a time, so a
    record walks in its own task without a task group."""

    def is_back_edge(self, key: EdgeKey) -> bool:
        return key in self.back_edges

    @cached_property
    def walk_settings(self) -> tuple[bool, int, int]:
        """``(multiturn, chat_history_window_size, recursion_limit)``: the properties every
        record's walk reads, read from them once."""
        props = self.properties
        multiturn = props.chat_conversation == "multiturn"
        return multiturn, props.chat_history_window_size, props.recursion_limit

    @cached_property
    def conditional(self) -> frozenset[str]:
        """The nodes (and START) with a conditional edge out."""
        return frozenset(edge.source for edge in self.edges if edge.condition is not None)

    @cached_property
    def chain(self) -> tuple[str, ...] | None:
        """Every node in the order a record runs them, when the graph is a chain (START,
        then each node with one way in and one way out, no condition, no loop); else None.
        The walker runs a chain as a plain loop."""
        if self.back_edges or self.conditional:
            return None
        order: list[str] = []
        name = START
        while True:
            out = self.out_edges.get(name, ())
            if len(out) != 1 or out[0].to is None:
                return None
            name = out[0].to
            if name == END:
                break
            if len(self.forward_in.get(name, ())) != 1 or name in order:
                return None
            order.append(name)
        return tuple(order) if len(order) == len(self.nodes) else None
