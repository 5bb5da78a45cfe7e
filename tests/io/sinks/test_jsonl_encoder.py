"""The jsonl sink encodes a record with a C encoder built once, to exactly the bytes the
standard encoder writes: any JSON value, text with lone surrogates, NaN and infinities,
binary values, non-text keys; a record that nests itself fails its batch as before."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grasp_core.errors import SinkError
from grasp_io._media_columns import json_default
from grasp_io.sinks import jsonl
from grasp_io.sinks.jsonl import encode_jsonl

_leaf = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()  # NaN and infinities too: written as null
    | st.text(max_size=8)  # lone surrogates too: written as \\u escapes
    | st.binary(max_size=6)  # written as base64
)
_values = st.recursive(
    _leaf,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=4) | st.integers() | st.booleans(), inner, max_size=3)
    ),
    max_leaves=8,
)


def _standard(records: list[dict[str, Any]]) -> bytes:
    """What ``json.JSONEncoder(...).encode`` writes for each record, as the sink did before
    its encoder was built once."""
    utf8 = json.JSONEncoder(
        ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=json_default
    )
    ascii_ = json.JSONEncoder(separators=(",", ":"), allow_nan=False, default=json_default)
    lines = []
    for record in records:
        try:
            text = utf8.encode(record)
        except ValueError:
            record = jsonl._finite(record)
            text = utf8.encode(record)
        try:
            lines.append(text.encode("utf-8"))
        except UnicodeEncodeError:
            lines.append(ascii_.encode(record).encode("ascii"))
    return b"".join(line + b"\n" for line in lines)


@given(st.lists(st.dictionaries(st.text(max_size=4), _values, max_size=4), max_size=4))
def test_records_are_the_standard_encoders_bytes(records: list[dict[str, Any]]) -> None:
    """Every batch is written byte for byte as the standard encoder writes it."""
    assert encode_jsonl(records, Path("out.jsonl")) == _standard(records)


def test_special_values_are_written_as_before() -> None:
    """NaN and infinities become null, surrogates \\u escapes, bytes base64, keys text."""
    record: dict[Any, Any] = {
        "f": math.nan,
        "g": [-math.inf],
        "s": "x\ud800",
        "b": b"\x00\xff",
        1: True,
    }
    written = encode_jsonl([record], Path("out.jsonl"))
    assert written == _standard([record])
    assert json.loads(written) == {"f": None, "g": [None], "s": "x\ud800", "b": "AP8=", "1": True}


def test_a_record_nesting_itself_fails_the_batch_with_the_standard_message() -> None:
    """A record that contains itself is a ``SinkError`` naming the circular reference."""
    record: dict[str, Any] = {"id": "r1"}
    record["self"] = record
    with pytest.raises(SinkError, match=r"record 0 of the batch .* Circular reference detected"):
        encode_jsonl([record], Path("out.jsonl"))
