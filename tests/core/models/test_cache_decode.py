"""A cached payload is read by the JSON scanner directly (``_decode``), with exactly what
``json.loads`` gives: the same value for any JSON text, and a ``ValueError`` for anything
``json.loads`` refuses (a reply with trailing bytes is never half-read)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grasp_core.models.cache import _decode

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)


@given(_json, st.sampled_from(["", " ", "\n"]))
def test_any_json_text_reads_as_json_loads_reads_it(value: Any, pad: str) -> None:
    """Compact or padded, the value is ``json.loads``'s."""
    for text in (json.dumps(value, separators=(",", ":")), pad + json.dumps(value) + pad):
        assert _decode(text) == json.loads(text)


@pytest.mark.parametrize("text", ['{"a":1}x', '{"a":1', "", "nul", '{"a":1}{"b":2}'])
def test_text_json_loads_refuses_is_refused(text: str) -> None:
    """Trailing bytes, a torn object, or no JSON at all raise ``ValueError``."""
    with pytest.raises(ValueError, match=r".") as refused:
        json.loads(text)
    with pytest.raises(ValueError, match=r".") as decoded:
        _decode(text)
    assert str(decoded.value) == str(refused.value)
