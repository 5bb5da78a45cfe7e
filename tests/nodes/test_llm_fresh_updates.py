"""An llm node says its updates are fresh JSON data (``fresh_updates``), so the engine stores
them without a copy: each update is exactly the JSON-safe copy the engine would have made,
and shares no list or dict with the request, the state or itself. Nodes whose updates take
values they did not make (structured output, tools, ``append_messages``) do not say so."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import pytest

from grasp_core.graph.state import json_safe
from grasp_core.plugin import NodeContext
from grasp_nodes.clients import ChatResult
from grasp_nodes.llm import LLMNode, LLMNodeConfig, ModelRef
from grasp_nodes.prompting.parts import MediaContext, MediaOptions

pytestmark = pytest.mark.anyio


class _Client:
    """Answers every chat with one reply and keeps the messages it was sent."""

    def __init__(self) -> None:
        self.sent: list[Sequence[Mapping[str, Any]]] = []

    async def chat(
        self,
        messages: Sequence[Mapping[str, Any]],
        parameters: Mapping[str, Any],
        *,
        max_retries: int | None = None,
    ) -> ChatResult:
        self.sent.append(messages)
        return ChatResult("the reply", "m", 3, 2, "length")


class _Png:
    mime = "image/png"
    data = b"\x89PNG"

    def data_url(self) -> str:
        return "data:image/png;base64,iVBORw=="

    def base64(self) -> str:
        return "iVBORw=="

    def as_wav(self) -> _Png:
        return self


class _Media:
    def is_media(self, value: Any) -> bool:
        return isinstance(value, bytes)

    async def resolve(self, value: Any, *, max_bytes: int, fetch_timeout: float) -> _Png:
        return _Png()


def _containers(value: Any) -> Iterator[Any]:
    if isinstance(value, Mapping | list | tuple):
        yield value
        for item in value.values() if isinstance(value, Mapping) else value:
            yield from _containers(item)


PROMPTS = [
    [{"system": "be brief"}, {"user": "about {topic} ({n})"}],
    [{"user": [{"type": "text", "text": "{topic}"}, {"type": "image_url", "image_url": "{img}"}]}],
    [{"user": "look at {img}"}, {"assistant": "seen"}, {"user": "and {topic}?"}],
]


@pytest.mark.parametrize("prompt", PROMPTS)
@pytest.mark.parametrize("multiturn", [False, True])
async def test_an_update_is_its_own_json_copy(
    prompt: list[dict[str, Any]], multiturn: bool
) -> None:
    """Text, part lists and media in a field alike: the update equals ``json_safe`` of it,
    and none of its lists or dicts is the request's, the state's, or held twice."""
    config = LLMNodeConfig(prompt=prompt, model=ModelRef(name="m"), on_truncated="keep")
    client = _Client()
    node = LLMNode("ask", config, client, media=MediaContext(_Media(), MediaOptions(), "audio_url"))
    assert node.fresh_updates is True
    history = [{"role": "user", "content": [{"type": "text", "text": "earlier"}]}]
    state = {"topic": "owls", "n": 2, "img": b"\x89PNG", "messages": history}
    ctx = NodeContext(record_id="r1", node="ask", iteration=0, multiturn=multiturn)
    update = await node.run(MappingProxyType(state), ctx)

    assert update == json_safe(update)
    assert update["reply_flags"] == [{"node": "ask", "model": "m", "flag": "truncated"}]
    held = [id(c) for c in _containers(update)]
    assert len(held) == len(set(held))
    elsewhere = {id(c) for c in _containers([client.sent, state])}
    assert not elsewhere & set(held)


@pytest.mark.parametrize(
    "extra",
    [
        {"append_messages": "more"},
        {"tools": ["tests.nodes.agent.tools_for_tests.add"]},
        {"structured_output": {"schema": {"fields": {"a": {"type": "str"}}}}},
    ],
)
def test_nodes_that_store_values_they_did_not_make_are_copied(extra: dict[str, Any]) -> None:
    """``append_messages``, ``tools`` and structured output keep the engine's copy."""
    config = LLMNodeConfig(prompt=[{"user": "hi"}], model=ModelRef(name="m"), **extra)
    node = LLMNode("ask", config, _Client())
    if "tools" in extra:
        node.use_tools([{"type": "function", "function": {"name": "add"}}], None)
    if "structured_output" in extra:
        node.structured = object()  # type: ignore[assignment]  # what build() would set
    assert node.fresh_updates is False
