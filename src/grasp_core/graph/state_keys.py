"""Which keys can be in a record's state when each node runs, and the reads nothing provides.

A record's state starts as its data (the source's columns; nothing for a data-less run: the
engine adds no key of its own, not even the record id) and grows by the ``output_keys`` of
the nodes that ran. When node N runs, a key is there for sure when the data has it or a
node that surely ran before N writes it: a node every route to N passes through, or one
that a simple edge from such a node starts (a join waits for all its forward edges). It may
be there when only another ancestor writes it (behind a conditional edge), or a node after
N in a loop with it (later passes only). ``pre_process`` and ``post_process`` hooks may
return any key, so a key that only a hook can bring is known at run time alone.

Nodes say what they read through the optional :class:`~grasp_core.protocols.ReadsState`;
others are not checked.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from grasp_core.config.yaml_source import YamlDocument, YamlPath, format_yaml_path
from grasp_core.errors import CompileError
from grasp_core.graph.checks import reachable
from grasp_core.graph.compiled import END, START, CompiledGraph
from grasp_core.logs import get_logger
from grasp_core.protocols import ReadsState

__all__ = [
    "Read",
    "StateKeys",
    "check_state_reads",
    "free_reads",
    "missing_message",
    "uncertain_message",
]

_log = get_logger(__name__)

ReadKind = Literal["missing", "maybe", "hooks", "sparse"]
_LISTED = 30
"""Most available keys an error lists."""


@dataclass(frozen=True, slots=True)
class Read:
    """A key read at ``node`` (or ``END``) that the state does not surely hold there."""

    node: str
    key: str
    """As the node wrote it (``a.b`` reads ``a``, or a key named ``a.b``)."""
    where: YamlPath
    """Where it is read, relative to the node's block."""
    kind: ReadKind
    """``missing``: nothing provides it; ``maybe``: only ``via`` do, not on every route;
    ``hooks``: only the hooks of ``via`` can, at run time; ``sparse``: no column of the
    first records has it, no near name either, and only some records reach the node."""
    via: tuple[str, ...] = ()
    suggestion: str | None = None
    """The nearest available key, for a missing one."""


class StateKeys:
    """The keys each node of ``graph`` can see, given the data's columns (``initial``; None
    when they could not be read, so that no read is reported)."""

    def __init__(self, graph: CompiledGraph, initial: Iterable[str] | None) -> None:
        self.graph = graph
        self.initial = None if initial is None else frozenset(initial)
        adjacency: dict[str, list[str]] = {}
        for edge in graph.edges:
            adjacency.setdefault(edge.source, []).extend(edge.targets())
        self._loops = {
            name: set().union(*(reachable(n, adjacency) for n in adjacency.get(name, ())))
            for name in graph.nodes
        }
        """Per node, what it reaches over one edge or more, back edges included."""
        self._must_memo: dict[str, frozenset[str]] = {}

    def reads(self) -> list[Read]:
        """Every key a node reads that is not surely in the state when it runs."""
        found: list[Read] = []
        for name, compiled in self.graph.nodes.items():
            if isinstance(compiled.node, ReadsState):
                for key, where in compiled.node.input_keys().items():
                    read = self.read_at(name, key, where)
                    if read is not None:
                        found.append(read)
        return found

    def read_at(self, target: str, key: str, where: YamlPath = ()) -> Read | None:
        """``key`` read at node ``target`` (or at ``END``, by the output), or None when the
        state surely holds it there or the data's columns are unknown."""
        if self.initial is None:
            return None
        sure = self.initial | self._writes(self._must(target) - {START})
        if _holds(sure, key):
            return None
        possible = self._possible(target)
        writers = tuple(n for n in possible if _holds(self._writes({n}), key))
        if writers:
            return Read(target, key, where, "maybe", writers)
        hooks = tuple(n for n in possible if self._has_hooks(n))
        if target in self.graph.nodes and self.graph.nodes[target].pre_process is not None:
            hooks = (*hooks, target) if target not in hooks else hooks
        if hooks:
            return Read(target, key, where, "hooks", hooks)
        close = difflib.get_close_matches(key.split(".")[0], sorted(self.available(target)), n=1)
        if not close and not self._runs_always(target):
            # Only some records reach this node: they may be the ones whose data has the key
            # although the first records' do not (a sparse column). A near name is a typo.
            return Read(target, key, where, "sparse")
        return Read(target, key, where, "missing", suggestion=close[0] if close else None)

    def _runs_always(self, target: str) -> bool:
        """Whether every record runs ``target`` (no conditional edge decides it)."""
        return target == END or target in self._must(END)

    def available(self, target: str) -> frozenset[str]:
        """Every key that may be in the state at ``target`` (the data's and the writers')."""
        return (self.initial or frozenset()) | self._writes(set(self._possible(target)))

    def at_end(self) -> frozenset[str] | None:
        """The keys a finished record's state may hold; None when the data's columns are
        unknown or a hook may add keys of its own."""
        if self.initial is None or any(self._has_hooks(n) for n in self.graph.nodes):
            return None
        return self.available(END)

    def _possible(self, target: str) -> tuple[str, ...]:
        """Nodes that may have run before ``target``: its ancestors over forward edges, and
        the nodes in a loop with it (in graph order)."""
        reach, loops = self.graph.reach, self._loops
        return tuple(
            name
            for name in self.graph.nodes
            if (name != target and target in reach.get(name, ()))
            or (target in loops.get(name, ()) and name in loops.get(target, ()))
        )

    def _writes(self, names: Iterable[str]) -> frozenset[str]:
        nodes = self.graph.nodes
        return frozenset(
            key
            for name in names
            if name in nodes and not nodes[name].idle
            for key in nodes[name].node.output_keys
        )

    def _has_hooks(self, name: str) -> bool:
        compiled = self.graph.nodes[name]
        return compiled.pre_process is not None or compiled.post_process is not None

    def _must(self, target: str) -> frozenset[str]:
        """START and the nodes that surely ran before ``target`` (in the first pass)."""
        if target in self._must_memo:
            return self._must_memo[target]
        graph = self.graph
        sources = [graph.edges[index].source for index, _ in graph.forward_in.get(target, ())]
        sure = {START}
        if sources:
            sure = set.intersection(*({*self._must(source), source} for source in sources))
        ancestors = {n for n in graph.nodes if n != target and target in graph.reach.get(n, ())}
        queue = list(sure)
        while queue:
            for edge in graph.out_edges.get(queue.pop(), ()):
                (forced, *others) = edge.targets()
                if others or (edge.index, forced) in graph.back_edges:
                    continue
                if forced in ancestors and forced not in sure:
                    sure.add(forced)
                    queue.append(forced)
        self._must_memo[target] = frozenset(sure)
        return self._must_memo[target]


def _holds(keys: frozenset[str], key: str) -> bool:
    """Whether ``key`` (``a.b.c``) is found: itself, or one of its dotted prefixes."""
    parts = key.split(".")
    return any(".".join(parts[:end]) in keys for end in range(1, len(parts) + 1))


def free_reads(graph: CompiledGraph) -> dict[str, YamlPath]:
    """The keys ``graph``'s nodes read that no node of it can provide (what it needs from the
    state it starts with), each with the node and place of its first read."""
    found: dict[str, YamlPath] = {}
    for read in StateKeys(graph, ()).reads():
        if read.kind in ("missing", "sparse"):
            found.setdefault(read.key, ("nodes", read.node, *read.where))
    return found


def check_state_reads(
    graph: CompiledGraph,
    initial: Iterable[str] | None,
    *,
    document: YamlDocument | None,
    root: YamlPath = ("graph_config",),
    what: str = "the data's columns",
) -> StateKeys:
    """Raise one ``CompileError`` naming every key a node reads that nothing can provide
    (file:line: YAML path, with the nearest available key); log a warning for a key that
    may be missing on some routes, or that only another node's hook can provide (only at
    info level when the reading node's own ``pre_process`` can: the usual way to prepare
    a prompt value). ``initial``: the keys the graph starts with (``what`` names them in
    messages); None when unknown."""
    keys = StateKeys(graph, initial)
    problems: list[str] = []
    for read in keys.reads():
        where = _where(document, (*root, "nodes", read.node, *read.where))
        if read.kind == "missing":
            problems.append(f"{where}: {missing_message(read, keys, what=what)}")
        elif read.via == (read.node,):  # the node's own pre_process: the usual idiom
            _log.info(f"{where}: {uncertain_message(read)}")
        else:
            _log.warning(f"{where}: {uncertain_message(read)}")
    if len(problems) == 1:
        raise CompileError(problems[0])
    if problems:
        raise CompileError(
            "the graph reads state keys that nothing provides:\n"
            + "\n".join(f"  {problem}" for problem in problems)
        )
    return keys


def missing_message(read: Read, keys: StateKeys, *, what: str, shown: str = "{%s}") -> str:
    """Why ``read`` fails and what to do, naming ``what`` the state starts with."""
    at = "when the graph ends" if read.node == END else f"when node {read.node!r} runs"
    hint = f" (did you mean {shown % read.suggestion}?)" if read.suggestion else ""
    available = sorted(keys.available(read.node))
    if len(available) > _LISTED:
        available = [*available[:_LISTED], f"... ({len(available) - _LISTED} more)"]
    listed = f"keys there: {', '.join(available)}" if available else "no key is there"
    return (
        f"{shown % read.key} is not in the record's state {at}{hint}: it is neither among "
        f"{what} nor in the output_keys of a node that runs before ({listed}); fix the "
        "name, or provide the key"
    )


def uncertain_message(read: Read, *, shown: str = "{%s}") -> str:
    """What to know about a ``maybe``, ``hooks`` or ``sparse`` read (a warning: it may
    work)."""
    names = ", ".join(map(repr, read.via))
    key = shown % read.key
    if read.kind == "sparse":
        return (
            f"{key} is in no column of the data's first records and no node's output_keys; "
            f"node {read.node!r} runs only for some records (behind a conditional edge), so "
            "it is allowed: those records' data must have it, or they fail"
        )
    if read.kind == "hooks":
        return (
            f"{key} is in no data column and no node's output_keys; it must come from the "
            f"pre_process or post_process hook of {names} at run time, or the record fails"
        )
    at = "the graph ends" if read.node == END else f"node {read.node!r} runs"
    return (
        f"{key} may be missing when {at}: only {names} write it, which may not run before "
        "it (behind a conditional edge, or later in a loop); a record whose route skips "
        "them fails"
    )


def _where(document: YamlDocument | None, path: YamlPath) -> str:
    return document.where(path) if document is not None else format_yaml_path(path)
