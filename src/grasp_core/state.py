"""Per-record state: a plain dict updated by node deltas."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic_core import PydanticSerializationError, to_jsonable_python

from grasp_core.errors import NodeError

__all__ = ["APPEND_KEYS", "apply_delta", "jsonable_delta"]

APPEND_KEYS = frozenset({"messages"})
"""Keys whose updates extend the existing list instead of replacing it."""


def apply_delta(state: dict[str, Any], delta: Mapping[str, Any]) -> None:
    """Apply a node's update. Lists are replaced, never mutated, so snapshots stay valid."""
    for key, value in delta.items():
        if key in APPEND_KEYS:
            previous = state.get(key) or []
            added = value if isinstance(value, list) else [value]
            state[key] = [*previous, *added]
        else:
            state[key] = value


_SCALARS = (str, int, float, bool, type(None))


def jsonable_delta(delta: Mapping[str, Any], *, node: str, record_id: str) -> dict[str, Any]:
    """The delta as JSON-safe data, as the journal stores it (so a replay sees the same)."""
    if all(type(value) in _SCALARS for value in delta.values()):
        return dict(delta)
    try:
        result = to_jsonable_python(dict(delta))
    except PydanticSerializationError as exc:
        raise NodeError(
            f"record {record_id!r}, node {node!r}: returned a value that cannot be stored "
            f"({exc}); return plain data (str, numbers, lists, dicts) or pydantic models",
            node=node,
        ) from None
    assert isinstance(result, dict)
    return result
