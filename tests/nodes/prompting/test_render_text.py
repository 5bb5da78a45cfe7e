"""``PromptContent.render_text`` (the prompt's text rendered without awaiting) gives exactly
what ``render`` gives for text messages, and declines (None) whenever media must be encoded,
so ``render_prompt`` sends the same messages either way."""

from __future__ import annotations

from typing import Any

import pytest

from grasp_core.errors import NodeError
from grasp_nodes.prompting.parts import MediaContext, MediaOptions, PromptContent
from tests.nodes.prompting.test_text_rendering import _Media

pytestmark = pytest.mark.anyio

STATE: dict[str, Any] = {"name": "Ada", "n": 3, "d": {"k": 1}, "items": [1, 2], "img": b"\x89PNG"}


@pytest.mark.parametrize(
    "raw",
    ["plain text, no field", "{name} has {n} {{braces}}", "{d} / {items}", "{name}"],
)
@pytest.mark.parametrize("with_media", [False, True])
async def test_text_messages_render_the_same_without_awaiting(raw: str, with_media: bool) -> None:
    """Text whose fields hold text, numbers or non-media values renders as ``render`` does."""
    media = MediaContext(_Media(), MediaOptions(), "audio_url") if with_media else None
    content = PromptContent(raw, where="prompt[0]")
    now = content.render_text(STATE, record_id="r", node="a", media=media)
    assert now is not None
    assert now == await content.render(STATE, record_id="r", node="a", media=media)


async def test_media_in_a_field_or_a_part_list_is_left_to_render() -> None:
    """A field holding media, and a message given as a list of parts, are not rendered here."""
    media = MediaContext(_Media(), MediaOptions(), "audio_url")
    field = PromptContent("look: {img}", where="prompt[0]")
    assert field.render_text(STATE, record_id="r", node="a", media=media) is None
    parts = PromptContent([{"type": "text", "text": "{name}"}], where="prompt[1]")
    assert parts.render_text(STATE, record_id="r", node="a", media=media) is None


async def test_a_missing_field_fails_as_render_fails() -> None:
    """A field missing from the state raises ``render``'s error."""
    content = PromptContent("{nope}", where="prompt[0]")
    with pytest.raises(NodeError) as now:
        content.render_text(STATE, record_id="r", node="a", media=None)
    with pytest.raises(NodeError) as awaited:
        await content.render(STATE, record_id="r", node="a", media=None)
    assert str(now.value) == str(awaited.value)
