"""JSON asked for by example in a prompt: the shape the mock server answers with.

Many prompts ask for JSON without ``response_format``, by showing it: ``Reply in JSON:
{"score": <score>, "reason": "<reason>"}``. A real model answers such a prompt with JSON of
that shape, so the mock does too, by one rule (no prompt wording is special): when the
request's instructions (its system messages and its last user message) say ``JSON`` and the
last of them holding one shows a *JSON template* (a ``{...}`` or ``[...]`` block that reads as
JSON once its ``<placeholders>`` are filled, with at least one placeholder), the template
becomes a JSON schema:

- a string holding a placeholder (``"<reason>"``) is any string;
- a placeholder left unquoted that names a JSON or Python type (``<string>``, ``<str>``,
  ``<number>``, ``<float>``, ``<integer>``, ``<int>``, ``<boolean>``, ``<bool>``,
  ``<array>``, ``<list>``, ``<object>``, ``<dict>``) is a value of that type;
- any other placeholder left unquoted (``<score>``) is an integer from 1 to 10: JSON leaves
  only numbers, booleans and null unquoted, and examples use it for scores and counts;
- any other value is kept as written;
- an object has every key of the example; an array one item shaped like its first.

A JSON example without placeholders (data the prompt quotes) asks for nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, Final

__all__ = ["example_schema"]

_MENTION: Final = re.compile(r"\bjson\b", re.IGNORECASE)
_PLACEHOLDER: Final = re.compile(r"<[^<>\"\n]{1,80}>")
_UNQUOTED: Final = "\x00unquoted:"
"""What an unquoted placeholder becomes while the template is parsed as JSON (its name
follows)."""
_TYPES: Final[dict[str, dict[str, Any]]] = {
    "string": {"type": "string"},
    "str": {"type": "string"},
    "number": {"type": "number", "minimum": 0, "maximum": 10},
    "float": {"type": "number", "minimum": 0, "maximum": 10},
    "integer": {"type": "integer", "minimum": 1, "maximum": 10},
    "int": {"type": "integer", "minimum": 1, "maximum": 10},
    "boolean": {"type": "boolean"},
    "bool": {"type": "boolean"},
    "array": {"type": "array", "items": {"type": "string"}},
    "list": {"type": "array", "items": {"type": "string"}},
    "object": {"type": "object", "properties": {"key": {"type": "string"}}},
    "dict": {"type": "object", "properties": {"key": {"type": "string"}}},
}
"""Unquoted placeholders that name a type, and the schema of each."""
_MAX_TEXT: Final = 200_000


def example_schema(messages: Sequence[Any], texts: Sequence[str]) -> dict[str, Any] | None:
    """The JSON schema of the template the request's instructions show, or None."""
    instructions = [
        text
        for message, text in zip(messages, texts, strict=False)
        if isinstance(message, dict) and message.get("role") in ("system", "developer")
    ]
    last_user = next(
        (
            text
            for message, text in zip(reversed(messages), reversed(texts), strict=False)
            if isinstance(message, dict) and message.get("role") == "user"
        ),
        None,
    )
    if last_user is not None:
        instructions.append(last_user)
    for text in reversed(instructions):
        if len(text) > _MAX_TEXT or not _MENTION.search(text):
            continue
        template = _last_template(text)
        if template is not None:
            return _schema(template)
    return None


def _last_template(text: str) -> Any:
    """The last ``{...}``/``[...]`` block of ``text`` that is a JSON template."""
    found: Any = None
    start = 0
    while True:
        opening = _next_opening(text, start)
        if opening < 0:
            return found
        end = _closing(text, opening)
        template = _template(text[opening:end]) if end > 0 else None
        if template is not None:
            found, start = template, end
        else:
            start = opening + 1


def _next_opening(text: str, start: int) -> int:
    positions = [p for p in (text.find("{", start), text.find("[", start)) if p >= 0]
    return min(positions, default=-1)


def _closing(text: str, opening: int) -> int:
    """The index after the bracket closing the one at ``opening`` (strings skipped); -1."""
    depth, quoted, escaped = 0, False, False
    for index in range(opening, len(text)):
        char = text[index]
        if quoted:
            escaped, quoted = (False, True) if escaped else (char == "\\", char != '"')
        elif char == '"':
            quoted = True
        elif char in "{[":
            depth += 1
        elif char in "}]":
            depth -= 1
            if depth == 0:
                return index + 1
    return -1


def _template(block: str) -> Any:
    """``block`` parsed as JSON with its unquoted placeholders filled; None unless it parses
    and holds a placeholder (quoted or not)."""
    parts = re.split(r'("(?:[^"\\]|\\.)*")', block)  # odd indexes: string literals
    filled = "".join(
        part if index % 2 else _PLACEHOLDER.sub(lambda m: json.dumps(_UNQUOTED + m[0]), part)
        for index, part in enumerate(parts)
    )
    if filled == block and not _PLACEHOLDER.search(block):
        return None
    try:
        value = json.loads(filled)
    except ValueError:
        return None
    return value if isinstance(value, dict | list) and value else None


def _schema(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        properties = {str(key): _schema(item) for key, item in value.items()}
        return {"type": "object", "properties": properties, "required": list(properties)}
    if isinstance(value, list):
        if not value:
            return {"type": "array", "maxItems": 0}
        return {"type": "array", "items": _schema(value[0]), "minItems": 1, "maxItems": 1}
    if isinstance(value, str) and value.startswith(_UNQUOTED):
        named = value.removeprefix(_UNQUOTED).strip("<> ").lower()
        return _TYPES.get(named, {"type": "integer", "minimum": 1, "maximum": 10})
    if isinstance(value, str) and _PLACEHOLDER.search(value):
        return {"type": "string"}
    return {"const": value}
