"""Tool calls as a model returned them, made uniform: shared by the ``agent`` node and the
``llm`` node's ``tools`` (kept apart from both, so an ``llm`` task imports no agent)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["normalize_tool_call"]


def normalize_tool_call(
    call: Mapping[str, Any], turn: int, index: int, used_ids: set[str]
) -> dict[str, Any]:
    """A tool call in OpenAI's shape whatever the transport returned (arguments as text).

    A missing or repeated id (some servers reuse them) gets a fresh one, so every tool
    message answers exactly one call."""
    function = call.get("function") or {}
    arguments = function.get("arguments")
    if arguments is None:
        arguments = "{}"
    elif not isinstance(arguments, str):
        arguments = json.dumps(arguments)
    call_id = str(call.get("id") or "")
    if not call_id or call_id in used_ids:
        call_id = f"call_{turn}_{index}"
        while call_id in used_ids:
            call_id += "_"
    used_ids.add(call_id)
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": str(function.get("name") or ""), "arguments": arguments},
    }
