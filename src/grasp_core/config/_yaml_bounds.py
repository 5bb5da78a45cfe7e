"""Bounds on what a YAML file may expand to: aliases reused without end, nesting too deep.

An alias is a reference, so ruamel builds nested ``&a``/``*a`` lists (the "billion laughs")
in no time; but plain data copies every reference, and ten levels of nine aliases copy 9**10
values: the machine runs out of memory. The composer below measures each node as it is
composed (values, and depth, once its aliases are expanded) and refuses, at the line of the
offending alias, a file whose aliases would bring in more than ``MAX_ALIASED_VALUES`` values,
nest past ``MAX_DEPTH`` levels, or refer to a value that contains them (which never ends).
Ordinary reuse (shared node settings merged with ``<<: *defaults``) stays far below.
"""

from __future__ import annotations

from typing import Any

from ruamel.yaml.composer import Composer
from ruamel.yaml.events import AliasEvent
from ruamel.yaml.nodes import MappingNode, SequenceNode

from grasp_core.errors import ConfigError

__all__ = ["MAX_ALIASED_VALUES", "MAX_DEPTH", "BoundedComposer"]

MAX_ALIASED_VALUES = 10_000
"""Values (scalars, lists and mappings) that all the aliases of one file may bring in."""
MAX_DEPTH = 100
"""Values on the way from the top of the file to its deepest value, that one included
(``a: [[1]]`` is 4 deep), counting what aliases bring in."""


class BoundedComposer(Composer):
    """ruamel's composer, refusing what :data:`MAX_ALIASED_VALUES` and :data:`MAX_DEPTH` bound.

    Errors are ``ConfigError("LINE: ...")``; the caller puts the file name in front.
    """

    def __init__(self, loader: Any = None) -> None:
        super().__init__(loader)
        self._extent: dict[int, tuple[int, int]] = {}
        """``id(node)`` → (values, depth) once the node is composed: an anchor whose node
        is not here yet is still open, so an alias to it would hold itself."""
        self._open = 0
        self._aliased = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        """Compose the next node, measuring it; charge an alias what it brings in."""
        if self.parser.check_event(AliasEvent):
            self._charge(self.parser.peek_event())
            return super().compose_node(parent, index)
        self._open += 1
        if self._open > MAX_DEPTH:
            line = self.parser.peek_event().start_mark.line + 1
            raise ConfigError(
                f"{line}: nested more than {MAX_DEPTH} levels deep; look for brackets left open, "
                "or flatten the structure"
            )
        try:
            node = super().compose_node(parent, index)
        finally:
            self._open -= 1
        self._extent[id(node)] = self._measure(node)
        return node

    def _charge(self, event: Any) -> None:
        target = self.anchors.get(event.anchor)
        if target is None:
            return  # ruamel reports the undefined alias
        line = event.start_mark.line + 1
        extent = self._extent.get(id(target))
        if extent is None:
            raise ConfigError(
                f"{line}: the alias *{event.anchor} is inside the value it names, so it "
                "would repeat without end; point it at a value defined before it"
            )
        values, depth = extent
        self._aliased += values
        if self._aliased > MAX_ALIASED_VALUES:
            raise ConfigError(
                f"{line}: the alias *{event.anchor} brings the values copied through aliases "
                f"past {MAX_ALIASED_VALUES:,} (aliases of aliases multiply); write the values "
                "out, or reuse fewer of them"
            )
        if self._open + depth > MAX_DEPTH:
            raise ConfigError(
                f"{line}: the alias *{event.anchor} nests the file more than {MAX_DEPTH} "
                "levels deep; reuse a value that is less deep"
            )

    def _measure(self, node: Any) -> tuple[int, int]:
        """(values, depth) of ``node`` with its aliases expanded, from its children's."""
        if isinstance(node, MappingNode):
            children = [child for pair in node.value for child in pair]
        elif isinstance(node, SequenceNode):
            children = list(node.value)
        else:
            return 1, 1
        extents = [self._extent.get(id(child), (1, 1)) for child in children]
        return 1 + sum(e[0] for e in extents), 1 + max((e[1] for e in extents), default=0)
