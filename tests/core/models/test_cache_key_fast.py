"""The cache key's fast forms give the general encoder's very text: a request's messages
spelt out (``_messages_json``) are ``_ENCODE(list(messages))``, whatever their shape, so a
rerun's keys are the keys a cache was written under."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from grasp_core.models.cache_key import _ENCODE, _messages_json

_text = st.text(st.characters(exclude_categories=["Cs"]))
_value = st.none() | st.booleans() | st.integers() | _text | st.lists(_text, max_size=2)
_message = st.one_of(
    st.fixed_dictionaries({"role": _text, "content": _text}),
    st.fixed_dictionaries({"content": _text, "role": _text}),
    st.fixed_dictionaries({"role": _value, "content": _value}),
    st.dictionaries(st.sampled_from(["role", "content", "name", "tool_calls"]), _value),
    st.fixed_dictionaries({"role": _text, "content": _text}).map(MappingProxyType),
)


@given(st.lists(_message, max_size=4))
def test_messages_are_encoded_as_the_general_encoder_encodes_them(
    messages: list[Any],
) -> None:
    """Plain role/content messages, other shapes and mappings that are not dicts alike."""
    assert _messages_json(messages) == _ENCODE(list(messages))
    assert _messages_json(tuple(messages)) == _ENCODE(list(messages))
