"""The web agent's actions: their tool schemas, and a model's tool call read as one action.

A reply that is not exactly one valid action is a failed step whose reason says what was
wrong, so the model can be told and the run goes on (it ends at ``max_steps`` at worst).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

__all__ = ["ENDING", "Action", "ActionError", "action_tools", "read_action"]

ENDING: Final = ("done", "fail")
"""Actions that end the run."""

_ELEMENT: Final = {"type": "integer", "description": "The element's number, as in [N]."}
_SPECS: Final[dict[str, tuple[str, dict[str, Any], tuple[str, ...]]]] = {
    "click": ("Click the numbered element.", {"element": _ELEMENT}, ("element",)),
    "type": (
        "Replace the text of the numbered input with `text`; `submit` then presses Enter.",
        {
            "element": _ELEMENT,
            "text": {"type": "string"},
            "submit": {"type": "boolean", "description": "Press Enter after typing."},
        },
        ("element", "text"),
    ),
    "scroll": (
        "Scroll the page by most of a screen.",
        {"direction": {"type": "string", "enum": ["up", "down"]}},
        ("direction",),
    ),
    "goto": ("Open a URL.", {"url": {"type": "string"}}, ("url",)),
    "back": ("Go back to the previous page.", {}, ()),
    "done": (
        "The goal is reached: end with the answer for the user.",
        {"answer": {"type": "string"}},
        ("answer",),
    ),
    "fail": (
        "The goal cannot be reached: end with the reason.",
        {"reason": {"type": "string"}},
        ("reason",),
    ),
}
_TYPES: Final = {"integer": int, "string": str, "boolean": bool}


@dataclass(frozen=True, slots=True)
class Action:
    """One action the model chose."""

    name: str
    arguments: Mapping[str, Any]

    def record(self) -> dict[str, Any]:
        """The action as the trajectory stores it."""
        return {"name": self.name, "arguments": dict(self.arguments)}


class ActionError(ValueError):
    """A reply that is not one valid action; the message says why."""


def action_names(*, chat: bool) -> tuple[str, ...]:
    """The actions offered: ``done`` only with ``enable_chat``."""
    return tuple(name for name in _SPECS if chat or name != "done")


def action_tools(*, chat: bool) -> list[dict[str, Any]]:
    """The actions as OpenAI tool schemas."""
    return [
        {
            "type": "function",
            "function": {
                "name": name,
                "description": _SPECS[name][0],
                "parameters": {
                    "type": "object",
                    "properties": _SPECS[name][1],
                    "required": list(_SPECS[name][2]),
                    "additionalProperties": False,
                },
            },
        }
        for name in action_names(chat=chat)
    ]


def read_action(text: str, tool_calls: list[dict[str, Any]], *, chat: bool) -> Action:
    """The action in a reply; :class:`ActionError` when it holds none, or not a valid one.

    Of several calls the first is taken (the model is asked for one)."""
    if not tool_calls:
        said = " ".join(text.split())
        shown = f"{said[:200]!r}" if said else "nothing"
        raise ActionError(f"the reply called no action (it said {shown}); call one tool")
    function = tool_calls[0].get("function") or {}
    name = str(function.get("name") or "")
    offered = action_names(chat=chat)
    if name not in offered:
        raise ActionError(f"unknown action {name!r}; the actions are: {', '.join(offered)}")
    raw = function.get("arguments")
    try:
        arguments = json.loads(raw) if isinstance(raw, str) else (raw or {})
    except ValueError as exc:
        raise ActionError(f"{name}: its arguments are not JSON ({exc}): {raw!r}") from exc
    if not isinstance(arguments, dict):
        raise ActionError(f"{name}: its arguments must be a JSON object, got {arguments!r}")
    _, properties, required = _SPECS[name]
    missing = [key for key in required if key not in arguments]
    if missing:
        raise ActionError(f"{name}: missing argument(s) {', '.join(missing)}")
    unknown = sorted(set(arguments) - set(properties))
    if unknown:
        raise ActionError(f"{name}: unknown argument(s) {', '.join(unknown)}")
    for key, value in arguments.items():
        spec = properties[key]
        wanted = _TYPES[spec["type"]]
        if not isinstance(value, wanted) or (wanted is int and isinstance(value, bool)):
            raise ActionError(f"{name}: {key} must be a {spec['type']}, got {value!r}")
        if "enum" in spec and value not in spec["enum"]:
            raise ActionError(f"{name}: {key} must be one of {spec['enum']!r}, got {value!r}")
    return Action(name, arguments)
