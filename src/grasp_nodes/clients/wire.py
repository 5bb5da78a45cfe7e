"""A chat request as it goes on the wire, whatever the transport: the parameters merged
(the models file's, then the node's), the messages as every server takes them, and the
request's token estimate before the reply (for token budgets and provider batches)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["as_sent", "prompt_token_estimate", "request_parameters", "wire_message"]

_MEDIA_PART_TOKENS = 800
"""A media part's guess: providers bill an image at ~85-1,500 tokens and audio by length;
its base64 characters say nothing about it."""


def prompt_token_estimate(messages: list[dict[str, Any]]) -> int:
    """A prompt's tokens before the reply: ~4 characters a token, and a fixed guess per
    image or audio part."""
    chars = 0
    media = 0
    for message in messages:
        content = message.get("content") or ""
        if isinstance(content, list):
            for part in content:
                text = part.get("text") if isinstance(part, Mapping) else None
                if isinstance(text, str):
                    chars += len(text)
                else:
                    media += 1
        else:
            chars += len(str(content))
    return chars // 4 + 1 + media * _MEDIA_PART_TOKENS


def wire_message(message: Mapping[str, Any]) -> dict[str, Any]:
    """``message`` as every server takes it: an assistant turn that carries ``tool_calls``
    with no text gets ``content: ""``, since some servers (llama.cpp's) answer HTTP 500 to
    ``content: null`` or to no ``content`` at all, and OpenAI accepts ``""``."""
    wired = dict(message)
    if wired.get("tool_calls") and wired.get("content") is None:
        wired["content"] = ""
    return wired


def as_sent(messages: Sequence[Mapping[str, Any]]) -> Sequence[Mapping[str, Any]]:
    """``messages`` with :func:`wire_message`'s change, copying none unless one needs it: a
    cache hit sends nothing, so its key and watchers need the text sent, not copies."""
    for message in messages:
        if message.get("tool_calls") and message.get("content") is None:
            return [wire_message(m) for m in messages]
    return messages


def request_parameters(
    defaults: Mapping[str, Any], parameters: Mapping[str, Any]
) -> dict[str, Any]:
    """The models file's parameters, then the node's; ``tool_choice: "auto"`` when tools are
    offered and neither says otherwise (some servers ignore ``tools`` without it), and no
    ``tool_choice`` at all when one of them sets it to null."""
    params = {**defaults, **parameters}
    if "tool_choice" in params:
        if params["tool_choice"] is None:
            del params["tool_choice"]
    elif params.get("tools"):
        params["tool_choice"] = "auto"
    return params
