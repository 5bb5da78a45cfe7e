"""Appended keys (``messages``, ``reply_flags``) in a fixed order, whichever branch finishes
first.

Each node run has a *step*, one more than the highest step among the runs whose edges started
it (START's is 0; a back edge's target, one more than the run that fired it), and the lists a
run appends are ordered by (step, the node's place in ``graph_config.nodes``, iteration).
Causes come before their effects, and the order depends on the graph and the routes taken,
never on latency, so a replay from the journal rebuilds it too.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from typing import Any

from grasp_core.errors import RecordError
from grasp_core.graph.state import APPEND_KEYS

__all__ = ["AppendedKeys", "NodeRun"]

NodeRun = tuple[int, str, int]
"""A node run: (step, node, iteration)."""

_Rank = tuple[int, int, int]
"""Where a node run's appended lists go: (step, node's place in the graph, iteration)."""


class AppendedKeys:
    """One record's state updates: plain keys replaced, appended keys kept in rank order."""

    __slots__ = ("_base", "_chunks", "_nodes", "_place", "_state")

    def __init__(self, state: dict[str, Any], nodes: Iterable[str], record_id: str) -> None:
        """Check the record's appended keys are lists (raise ``RecordError``) and keep them
        as the base every appended chunk goes after; ``nodes`` in ``graph_config`` order."""
        base: dict[str, list[Any]] = {}
        get = state.get
        for key in APPEND_KEYS:
            value = get(key)
            if value is None:
                continue  # an empty base: most records have no appended keys
            if isinstance(value, list):
                base[key] = list(value)
            else:
                raise RecordError(
                    f"record {record_id!r}: {key!r} must be a list of role messages, got "
                    f"a {type(value).__name__}; fix or rename that field in the data"
                )
        self._state = state
        self._base = base
        self._nodes = nodes
        self._chunks: dict[str, list[tuple[_Rank, list[Any]]]] = {}
        self._place: dict[str, int] | None = None
        """Each node's place in ``graph_config.nodes``; built on first use, since most
        records append nothing."""

    def apply(self, delta: Mapping[str, Any], run: NodeRun) -> None:
        """Apply a node run's update to the state."""
        state = self._state
        for key, value in delta.items():
            if key not in APPEND_KEYS:
                state[key] = value
                continue
            if self._place is None:
                self._place = {name: index for index, name in enumerate(self._nodes)}
            rank = (run[0], self._place[run[1]], run[2])
            chunk = (rank, value if isinstance(value, list) else [value])
            chunks = self._chunks.get(key)
            if chunks is None:
                chunks = self._chunks[key] = [chunk]
            elif chunks[-1][0] <= rank:  # the usual case: after every run so far
                chunks.append(chunk)
            else:
                bisect.insort(chunks, chunk, key=_rank)
            merged = list(self._base.get(key, ()))
            for _, items in chunks:
                merged.extend(items)
            state[key] = merged


def _rank(chunk: tuple[_Rank, list[Any]]) -> _Rank:
    return chunk[0]
