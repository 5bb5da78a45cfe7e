"""Tool calling in the mock server: ``[[mock:call:NAME {json}]]`` markers and tool results.

A request that offers ``tools`` and whose last user message holds call markers is answered
with one tool call per marker; a request whose last message is a ``role: tool`` message is
answered with the text ``"tool results: "`` followed by the trailing tool messages' contents
(see :func:`grasp_core.mock_server._replies.complete`). A ``tool_choice`` that forces one
function is answered with a call to it whose arguments are generated from its
``parameters`` schema (:func:`forced_call`), as structured replies are.
All are deterministic, so an agent's whole loop can be predicted by a test.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from grasp_core.mock_server._structured import JsonRequest, structured_reply

__all__ = [
    "ToolCall",
    "calls_answer",
    "forced_call",
    "parse_tool_calls",
    "strip_tool_calls",
    "trailing_tool_messages",
]

_START: Final = "[[mock:call:"
_END: Final = "]]"
_decoder = json.JSONDecoder()


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One call the mock model makes."""

    id: str
    """``call_<n>``: ``n`` counts the calls already made earlier in the conversation."""
    name: str
    arguments: str
    """The marker's JSON text exactly as written (``{}`` when the marker has none)."""

    def openai(self) -> dict[str, Any]:
        """The call as an OpenAI ``tool_calls`` entry."""
        function = {"name": self.name, "arguments": self.arguments}
        return {"id": self.id, "type": "function", "function": function}

    def ollama(self) -> dict[str, Any]:
        """The call as an Ollama ``tool_calls`` entry (arguments as an object when they parse)."""
        try:
            arguments: Any = json.loads(self.arguments)
        except ValueError:
            arguments = self.arguments
        return {"function": {"name": self.name, "arguments": arguments}}


def _scan(text: str) -> list[tuple[int, int, str, str]]:
    """``(start, end, name, arguments)`` of every call marker in ``text``.

    Arguments that start with ``{`` are read as one JSON value (so they may contain
    ``]]``); otherwise, or when that JSON is invalid, they run to the next ``]]``.
    """
    found: list[tuple[int, int, str, str]] = []
    position = text.find(_START)
    while position >= 0:
        cursor = position + len(_START)
        name_end = cursor
        while name_end < len(text) and not text[name_end].isspace():
            if text.startswith(_END, name_end):
                break
            name_end += 1
        name = text[cursor:name_end]
        if not name:  # not a call marker; the fault-marker parser reports it
            position = text.find(_START, cursor)
            continue
        cursor = name_end
        while cursor < len(text) and text[cursor].isspace():
            cursor += 1
        arguments_end = -1
        if text.startswith("{", cursor):
            try:
                _, arguments_end = _decoder.raw_decode(text, cursor)
            except ValueError:
                arguments_end = -1
            if arguments_end >= 0 and not text[arguments_end:].lstrip().startswith(_END):
                arguments_end = -1
        close = text.find(_END, cursor if arguments_end < 0 else arguments_end)
        if close < 0:  # unclosed: plain text
            break
        arguments = text[cursor : close if arguments_end < 0 else arguments_end].strip()
        end = close + len(_END)
        found.append((position, end, name, arguments or "{}"))
        position = text.find(_START, end)
    return found


def parse_tool_calls(text: str, *, first_id: int = 0) -> list[ToolCall]:
    """The calls asked for by the markers in ``text``, numbered from ``first_id``.

    Arguments are taken verbatim, so a marker may carry invalid JSON on purpose.
    """
    return [
        ToolCall(f"call_{first_id + index}", name, arguments)
        for index, (_, _, name, arguments) in enumerate(_scan(text))
    ]


def strip_tool_calls(text: str) -> str:
    """``text`` without its call markers."""
    if _START not in text:
        return text
    kept: list[str] = []
    previous = 0
    for start, end, _, _ in _scan(text):
        kept.append(text[previous:start])
        previous = end
    kept.append(text[previous:])
    return "".join(kept)


def _role(message: object) -> object:
    return message.get("role") if isinstance(message, dict) else None


def trailing_tool_messages(messages: Sequence[Any]) -> int:
    """Where the run of ``role: tool`` messages that ends the conversation starts.

    ``len(messages)`` when the last message is not a tool message.
    """
    start = len(messages)
    while start > 0 and _role(messages[start - 1]) == "tool":
        start -= 1
    return start


def calls_answer(messages: Sequence[Any], texts: Sequence[str]) -> list[ToolCall]:
    """The calls to answer with: the markers of the last user message (none if no user).

    Ids continue after the tool calls made earlier in the conversation, so they are
    unique within it.
    """
    made = _calls_made(messages)
    for position in range(len(messages) - 1, -1, -1):
        if _role(messages[position]) == "user":
            return parse_tool_calls(texts[position], first_id=made)
    return []


def forced_call(
    messages: Sequence[Any],
    texts: Sequence[str],
    tools: Sequence[Any],
    tool_choice: Any,
    key: str,
    *,
    raw: bool = False,
) -> ToolCall | None:
    """The call a ``tool_choice`` naming one function forces (None for any other choice).

    Its arguments are JSON generated from that tool's ``parameters`` schema, seeded by the
    request ``key``; the ``bad_json`` and ``schema_violation`` markers apply as they do to
    structured replies, and ``raw`` writes newlines in strings as bare characters.
    """
    if not isinstance(tool_choice, dict):
        return None
    name = str(tool_choice["function"]["name"])
    schema: Any = None
    for tool in tools:
        function = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(function, dict) and function.get("name") == name:
            schema = function.get("parameters")
    wanted = JsonRequest(schema if isinstance(schema, dict) else {"type": "object"}, "tool")
    arguments = structured_reply(messages, texts, wanted, key, raw=raw)
    return ToolCall(f"call_{_calls_made(messages)}", name, arguments)


def _calls_made(messages: Sequence[Any]) -> int:
    """How many tool calls the conversation's assistant turns already made."""
    return sum(
        len(message["tool_calls"])
        for message in messages
        if isinstance(message, dict) and isinstance(message.get("tool_calls"), list)
    )
