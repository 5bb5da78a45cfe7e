"""A text message renders from one lookup of its fields: text and numbers are never offered to
the media encoder, the text is what the template alone renders, and a value that can only
be media still becomes a media part."""

from __future__ import annotations

from typing import Any

import pytest

from grasp_nodes.prompting.parts import MediaContext, MediaOptions, PromptContent
from grasp_nodes.prompting.templates import Template

pytestmark = pytest.mark.anyio


class _Media:
    """A media source that tells bytes apart and records every value it was asked about."""

    def __init__(self) -> None:
        self.asked: list[Any] = []

    def is_media(self, value: Any) -> bool:
        self.asked.append(value)
        return isinstance(value, bytes)

    async def resolve(self, value: Any, *, max_bytes: int, fetch_timeout: float) -> Any:
        raise AssertionError("no media is encoded in these tests")


STATE: dict[str, Any] = {"name": "Ada", "n": 3, "x": 0.5, "flag": True, "none": None}


async def test_text_and_numbers_are_not_offered_to_the_media_encoder() -> None:
    """Plain values render as the template renders them, with no ``is_media`` call."""
    source = _Media()
    media = MediaContext(source, MediaOptions(), "audio_url")
    text = "{name} has {n} at {x} ({flag}, {none}) {{literal}}"
    content = PromptContent(text, where="prompt[0]")
    rendered = await content.render(STATE, record_id="r", node="a", media=media)
    expected = Template(text, where="t").render(STATE, record_id="r", node="a")
    assert rendered == expected == "Ada has 3 at 0.5 (True, None) {literal}"
    assert source.asked == []


async def test_other_values_are_still_asked_about() -> None:
    """A dict or list value is offered to the media encoder, and rendered as text when it is
    not media."""
    source = _Media()
    media = MediaContext(source, MediaOptions(), "audio_url")
    state = {"d": {"k": 1}, "items": [1, 2]}
    content = PromptContent("{d} / {items}", where="prompt[0]")
    rendered = await content.render(state, record_id="r", node="a", media=media)
    assert rendered == "{'k': 1} / [1, 2]"
    assert source.asked == [{"k": 1}, [1, 2]]
