"""The exact-type fast paths over output records give what the general code gives: bytes are
kept wherever they sit (dicts, lists, tuples, other mappings), plain records come back as
copies equal to pydantic's JSON form, and unwritable values are found under any container."""

from __future__ import annotations

from collections import OrderedDict
from types import MappingProxyType
from typing import Any

import pytest
from pydantic_core import to_jsonable_python

from grasp_core.engine.writable import find_unwritable
from grasp_core.graph.state import json_safe

PLAIN: dict[str, Any] = {
    "id": 3,
    "draft": "an answer",
    "messages": [
        {"role": "user", "content": "question"},
        {"role": "assistant", "content": "answer", "score": 0.5, "ok": True, "x": None},
    ],
    "nested": {"a": [1, [2, {"b": "c"}]]},
}


@pytest.mark.parametrize(
    ("record", "kept"),
    [
        (
            {"image": {"bytes": b"\x89PNG", "path": None}},
            {"image": {"bytes": b"\x89PNG", "path": None}},
        ),
        ({"media": [1, ("t", bytearray(b"ab"))]}, {"media": [1, ["t", b"ab"]]}),
        ({"m": OrderedDict(a=[memoryview(b"z")])}, {"m": {"a": [b"z"]}}),
        ({"m": MappingProxyType({"deep": [{"x": [b"q"]}]})}, {"m": {"deep": [{"x": [b"q"]}]}}),
    ],
)
def test_bytes_are_kept_under_any_container(record: dict[str, Any], kept: dict[str, Any]) -> None:
    """With ``keep_bytes``, binary values stay ``bytes`` however they are nested."""
    assert json_safe(record, keep_bytes=True) == kept


def test_plain_records_are_pydantic_json_copies() -> None:
    """A record of text, numbers, dicts and lists comes back equal to pydantic's JSON form,
    and as a copy: changing the result leaves the record alone."""
    for keep_bytes in (True, False):
        safe = json_safe(PLAIN, keep_bytes=keep_bytes)
        assert safe == to_jsonable_python(PLAIN)
        safe["messages"][0]["content"] = "changed"
        assert PLAIN["messages"][0]["content"] == "question"


def test_tuples_and_other_values_take_the_general_path() -> None:
    """Tuples become lists and sets are encoded as pydantic encodes them, bytes or not."""
    record = {"pair": ("a", 1), "tags": {"only"}}
    assert json_safe(record, keep_bytes=True) == {"pair": ["a", 1], "tags": ["only"]}


@pytest.mark.parametrize(
    ("value", "found"),
    [
        (
            {"messages": [{"content": "ok"}, {"content": "bad \ud800"}]},
            "field 'messages.1.content'",
        ),
        ({"m": OrderedDict(k=["fine", "\udfff"])}, "field 'm.k.1'"),
        ({"t": ("x", {"n": 10**5000})}, "field 't.1.n'"),
        ([{"a": "é"}, {"\ud800": 1}], "a key under '1'"),
        ("top \ud800", "the value"),
        ({"k": {"\ud800": 1}}, "a key under 'k'"),
        ({"é": "ü", "n": [2**70, 10**5000]}, "field 'n.1'"),
    ],
)
def test_unwritable_values_are_found_under_any_container(value: Any, found: str) -> None:
    """The first unwritable value is reported with its path, under dicts, lists, tuples and
    other mappings alike."""
    message = find_unwritable(value)
    assert message is not None
    assert message.startswith(found), message


def test_writable_records_pass() -> None:
    """Plain records, non-ASCII text and 64-bit integers are writable."""
    assert find_unwritable(PLAIN) is None
    assert find_unwritable({"t": ["é", {"k": 2**63 - 1}], "f": [1.5, None, False]}) is None
    assert find_unwritable({"big": [2**64]}, int64=True) is not None
    assert find_unwritable({"é": ["ü", {"ß": "\ud800"}]}, surrogates=False) is None
