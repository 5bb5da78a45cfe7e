"""The one-loop check for plain records (``_plain_json``) only ever skips the search for
bytes when there are none: ``json_safe(..., keep_bytes=True)`` gives what the general
search gives, for any nesting of dicts, lists, tuples, bytes and scalars."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from pydantic_core import to_jsonable_python

from grasp_core.graph.state import _holds_bytes, _keeping_bytes, _plain_json, json_safe

_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=5),
    st.binary(max_size=4),
)
_values = st.recursive(
    _leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(st.text(max_size=3), inner, max_size=4),
    ),
    max_leaves=20,
)


def _general(record: dict[str, Any]) -> dict[str, Any]:
    if _holds_bytes(record):
        return {str(key): _keeping_bytes(value) for key, value in record.items()}
    result = to_jsonable_python(dict(record))
    assert isinstance(result, dict)
    return result


@given(st.dictionaries(st.text(max_size=3), _values, max_size=5))
def test_plain_check_never_hides_bytes(record: dict[str, Any]) -> None:
    """A record the plain check passes holds no bytes, and the result is the general one."""
    if _plain_json(record.values()):
        assert not _holds_bytes(record)
    assert json_safe(record, keep_bytes=True) == _general(record)


def test_plain_check_sees_bytes_deep_inside() -> None:
    """Bytes under lists and dicts, or a tuple anywhere, make a record not plain."""
    assert _plain_json([{"a": [1, "x", None, 1.5, True]}])
    assert not _plain_json([{"a": [1, {"b": b"x"}]}])
    assert not _plain_json([[("t",)]])
