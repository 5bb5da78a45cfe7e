"""A reply restored from the response cache is the result its call made: every stored field
comes back, an entry of another shape is refused, and a changed copy leaves the original as
it was."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from grasp_nodes.clients.base import ChatResult

_CALL = {"id": "c1", "type": "function", "function": {"name": "look", "arguments": "{}"}}
RESULTS = [
    ChatResult("hello", "m"),
    ChatResult("cut", "m", prompt_tokens=7, completion_tokens=3, finish_reason="length"),
    ChatResult("", "m", 1, 2, "tool_calls", [_CALL]),
]


@pytest.mark.parametrize("result", RESULTS)
def test_a_restored_reply_equals_the_one_stored(result: ChatResult) -> None:
    """``restored(stored())`` gives a result equal to the original, field by field."""
    restored = ChatResult.restored(result.stored(), "m")
    assert restored == result
    assert restored is not None
    assert restored.defect == result.defect


@pytest.mark.parametrize(
    "entry",
    [{}, {"text": "x"}, {"text": "x", "prompt_tokens": 1, "completion_tokens": 1}],
)
def test_an_entry_of_another_shape_is_not_a_reply(entry: dict[str, Any]) -> None:
    """An entry missing a stored field restores as None (the call asks again)."""
    assert ChatResult.restored(entry, "m") is None


def test_a_changed_copy_leaves_the_original() -> None:
    """``replace`` (how retries record their attempts) makes a new result."""
    result = ChatResult("hello", "m")
    again = replace(result, attempts=3)
    assert (result.attempts, again.attempts) == (1, 3)
    assert again.text == result.text


@pytest.mark.parametrize(
    "result",
    [
        *RESULTS,
        ChatResult('quotes " and \\ and\nlines, é ü 日本', "m", 3, 4, "stop"),
        ChatResult("odd \ud800 surrogate", "m"),
        ChatResult("float counts", "m", 1.0, 2.5, None),  # type: ignore[arg-type]
        ChatResult("odd reason", "m", 1, 2, 7),  # type: ignore[arg-type]
    ],
)
def test_stored_json_is_the_stored_reply_encoded(result: ChatResult) -> None:
    """The spelt-out encoding the cache writes is exactly the encoder's text of ``stored()``
    (compact, non-ASCII kept), whatever the reply holds."""
    expected = json.dumps(result.stored(), ensure_ascii=False, separators=(",", ":"))
    assert result.stored_json() == expected
