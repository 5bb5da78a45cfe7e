"""The messages an llm node sends after its prompt: ``append_messages: KEY`` (SyGra's
``input_key``, its LangChain ``MessagesPlaceholder`` after the prompt).

The key's value is a list of chat messages: ``{role, content}`` dicts (GraSP's, or a
converted hook's message objects, which are such dicts), LangChain message objects (``.type``
``human``/``ai``/``system``/``tool`` and ``.content``), ``(role, content)`` pairs, or strings
(user messages). A missing, None or empty value sends nothing, as SyGra's default
pre-processor makes it an empty list; a single string is one user message. Anything else
fails the record with a line naming the node, the key and the value's type.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from grasp_core.errors import NodeError

__all__ = ["appended_messages"]

_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}
"""LangChain's message types → chat roles (chat roles map to themselves)."""

_KEPT = ("name", "tool_calls", "tool_call_id")
"""Keys of a message dict sent on besides its role and content."""


def appended_messages(state: Mapping[str, Any], key: str | None, *, node: str) -> list[Any]:
    """The chat messages held in ``state[key]``, to send after the prompt (``[]`` without a
    key, or when the value is missing, None or empty)."""
    if key is None:
        return []
    value = state.get(key)
    if value is None or value == [] or value == "":
        return []
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    if not isinstance(value, list | tuple):
        raise _bad(node, key, value)
    return [_message(item, node, key) for item in value]


def _message(item: Any, node: str, key: str) -> Any:
    if isinstance(item, str):
        return {"role": "user", "content": item}
    if isinstance(item, Mapping) and "content" in item:
        role = item.get("role") or _ROLES.get(str(item.get("type")))
        if role is None:
            raise _bad(node, key, item)
        kept = {k: item[k] for k in _KEPT if k in item}
        return {**kept, "role": role, "content": item["content"]}
    if isinstance(item, tuple) and len(item) == 2:
        return {"role": _ROLES.get(str(item[0]), str(item[0])), "content": item[1]}
    kind, content = getattr(item, "type", None), getattr(item, "content", None)
    if isinstance(kind, str) and content is not None:
        return {"role": _ROLES.get(kind, kind), "content": content}
    raise _bad(node, key, item)


def _bad(node: str, key: str, value: Any) -> NodeError:
    return NodeError(
        f"node {node!r}: append_messages {key!r} holds {type(value).__name__} {value!r:.80}, "
        "not chat messages; store a list of {role, content} messages (or strings, sent as "
        "user messages) under that key",
        node=node,
    )
