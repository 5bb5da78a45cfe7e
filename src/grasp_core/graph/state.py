"""Per-record state: a plain dict updated by node deltas."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic_core import PydanticSerializationError, to_jsonable_python

from grasp_core.errors import NodeError

__all__ = ["APPEND_KEYS", "REPLY_FLAGS", "json_safe", "jsonable_delta"]

REPLY_FLAGS = "reply_flags"
"""Where a record lists the model replies it kept although they were cut off or empty
(``on_truncated``/``on_empty: keep``): ``{"node", "model", "flag"}`` entries, written to
its output."""

APPEND_KEYS = frozenset({"messages", REPLY_FLAGS})
"""Keys whose updates extend the existing list instead of replacing it."""


_SCALARS = (str, int, float, bool, type(None))
_SCALAR_TYPES = frozenset(_SCALARS)


def json_safe(data: Mapping[str, Any], *, keep_bytes: bool = False) -> dict[str, Any]:
    """``data`` as JSON-safe values; plain scalars are copied without pydantic's walk.

    With ``keep_bytes``, ``bytes`` inside dicts and lists stay bytes (media such as
    ``{"bytes": ..., "path": ...}`` images, for sinks that store binary; text sinks encode
    them). Raises pydantic's serialization error, ``ValueError`` or ``UnicodeError`` when a
    value cannot be represented; callers turn that into their own error.
    """
    scalars = _SCALAR_TYPES
    for value in data.values():  # a loop: cheaper than all(map(...)) at any usual size
        if type(value) not in scalars:
            break
    else:
        return dict(data)
    if keep_bytes and not _plain_json(data.values()) and _holds_bytes(data):
        return {str(key): _keeping_bytes(value) for key, value in data.items()}
    # pydantic builds a new dict (and new lists and dicts inside): no copy first
    result = to_jsonable_python(data if type(data) is dict else dict(data))
    assert isinstance(result, dict)
    return result


_BINARY = (bytes, bytearray, memoryview)


def _plain_json(values: Iterable[Any]) -> bool:
    """True when ``values`` hold only plain dicts, lists and scalars (so no bytes): the
    common output record, checked in one loop without recursion (``_holds_bytes`` would
    find nothing in it, at about twice the cost)."""
    stack: list[Iterable[Any]] = [values]
    scalars = _SCALAR_TYPES
    while stack:
        for item in stack.pop():
            kind = type(item)
            if kind is dict:
                stack.append(item.values())
            elif kind is list:
                stack.append(item)
            elif kind not in scalars:
                return False
    return True


def _holds_bytes(value: Any) -> bool:
    # Exact types first: an output record is mostly text, numbers, dicts and lists, and the
    # ``Mapping`` check goes through the ABC machinery (a rerun from the cache spent ~15% of
    # its CPU here).
    kind = type(value)
    if kind in _SCALAR_TYPES:
        return False
    if kind is dict:
        items: Any = value.values()
    elif kind is list:
        items = value
    elif isinstance(value, _BINARY):
        return True
    elif isinstance(value, Mapping):
        items = value.values()
    elif isinstance(value, list | tuple):
        items = value
    else:
        return False
    return any(type(item) not in _SCALAR_TYPES and _holds_bytes(item) for item in items)


def _keeping_bytes(value: Any) -> Any:
    """``to_jsonable_python`` that leaves binary values as ``bytes``."""
    if isinstance(value, _BINARY):
        return bytes(value)
    if not _holds_bytes(value):
        return to_jsonable_python(value)
    if isinstance(value, Mapping):
        return {str(key): _keeping_bytes(item) for key, item in value.items()}
    return [_keeping_bytes(item) for item in value]


def jsonable_delta(delta: Mapping[str, Any], *, node: str, record_id: str) -> dict[str, Any]:
    """The delta as JSON-safe data, as the journal stores it (so a replay sees the same)."""
    try:
        return json_safe(delta)
    except (PydanticSerializationError, ValueError, UnicodeError) as exc:
        raise NodeError(
            f"record {record_id!r}, node {node!r}: returned a value that cannot be stored "
            f"({exc}); return plain data (str, numbers, lists, dicts) or pydantic models",
            node=node,
        ) from None
