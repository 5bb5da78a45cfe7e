"""Chat messages that are GraSP's plain dicts and also read as LangChain's message objects.

GraSP stores a message as ``{"role": ..., "content": ...}``. SyGra's hooks were written
against LangChain: they read ``message.content`` and ``message.type`` (``ai``, ``human``...)
and build ``AIMessage(content=...)``. :class:`ChatMessage` is both: a ``dict`` (so it is
stored, compared and written as GraSP's messages are) with those attributes. The hooks of a
node see the state's ``messages`` as such objects (:func:`with_message_objects`), and
``grasp_nodes.sygra_compat`` gives the LangChain class names that build them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

__all__ = [
    "AIMessage",
    "ChatMessage",
    "HumanMessage",
    "SystemMessage",
    "ToolMessage",
    "as_message",
    "with_message_objects",
]

_TYPES = {"assistant": "ai", "user": "human", "system": "system", "tool": "tool"}


class ChatMessage(dict[str, Any]):
    """``{"role", "content", ...}`` that answers ``.content``, ``.role``, ``.type`` (LangChain's
    name for the role) and ``.tool_calls``."""

    default_role: ClassVar[str] = "user"

    def __init__(self, content: Any = "", **fields: Any) -> None:
        super().__init__(role=fields.pop("role", self.default_role), content=content, **fields)

    @property
    def content(self) -> Any:
        """The message's text (or its list of parts)."""
        return self.get("content")

    @property
    def role(self) -> str:
        """GraSP's role: ``user``, ``assistant``, ``system`` or ``tool``."""
        return str(self.get("role", self.default_role))

    @property
    def type(self) -> str:
        """LangChain's name for the role: ``human``, ``ai``, ``system``, ``tool``."""
        return _TYPES.get(self.role, self.role)

    @property
    def tool_calls(self) -> list[Any]:
        """The tool calls an assistant message asked for (empty when none)."""
        return list(self.get("tool_calls") or [])


class HumanMessage(ChatMessage):
    """A ``user`` message."""

    default_role = "user"


class AIMessage(ChatMessage):
    """An ``assistant`` message."""

    default_role = "assistant"


class SystemMessage(ChatMessage):
    """A ``system`` message."""

    default_role = "system"


class ToolMessage(ChatMessage):
    """A ``tool`` message (a tool's result)."""

    default_role = "tool"


def as_message(value: Any) -> Any:
    """A message dict as a :class:`ChatMessage` (anything else as it is)."""
    if isinstance(value, ChatMessage) or not isinstance(value, Mapping) or "role" not in value:
        return value
    message = ChatMessage.__new__(ChatMessage)
    dict.__init__(message, value)
    return message


def with_message_objects(state: dict[str, Any]) -> dict[str, Any]:
    """``state`` (changed in place, and returned) with its ``messages`` as message objects."""
    messages = state.get("messages")
    if isinstance(messages, list):
        state["messages"] = [as_message(m) for m in messages]
    return state
