"""Hypothesis strategies for records that lack fields, hold the wrong types or huge strings,
and carry repeated or missing ids.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

_leaf = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
)
json_values = st.recursive(
    _leaf,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)
"""JSON values (no NaN: it is not equal to itself, so it cannot be compared back)."""

huge_text = st.builds(
    lambda piece, chars: piece * (chars // len(piece)),
    st.sampled_from(["x", "é", "😀", "{text}", "\\", "\u2028", "\x00"]),
    st.integers(min_value=100_000, max_value=120_000),
)
"""Strings of 100 000 characters or more (up to 480 KB of UTF-8)."""
texts = st.text(max_size=40) | huge_text
ids = st.sampled_from(["a", "b", "1", "0", "", 1, 0, 1.5, True, None, [1], {"k": 1}])


@st.composite
def records(draw: st.DrawFn, text: st.SearchStrategy[Any] = texts) -> dict[str, Any]:
    """A record that may lack `text` or `id`, or hold either with any JSON type."""
    record: dict[str, Any] = draw(
        st.dictionaries(st.sampled_from(["n", "other", "nested", "ü"]), json_values, max_size=2)
    )
    if draw(st.booleans()):
        record["id"] = draw(ids)
    shape = draw(st.sampled_from(["text", "text", "missing", "other-type"]))
    if shape == "text":
        record["text"] = draw(text)
    elif shape == "other-type":
        record["text"] = draw(json_values)
    return record
