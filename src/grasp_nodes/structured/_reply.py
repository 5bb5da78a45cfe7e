"""Reading a model's JSON reply, and the messages that ask for (or correct) one.

The prompt-mode instruction wraps the JSON schema in ``<json-schema>`` ... ``</json-schema>``:
a stable delimiter that the bundled mock server looks for, so the prompt path is tested over
HTTP like the native one.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, ValidationError

__all__ = [
    "SCHEMA_CLOSE",
    "SCHEMA_OPEN",
    "feedback_messages",
    "prompt_instruction",
    "read_reply",
]

SCHEMA_OPEN = "<json-schema>"
SCHEMA_CLOSE = "</json-schema>"
_FENCE = re.compile(r"```[A-Za-z0-9_-]*[ \t]*\n?(.*?)```", re.DOTALL)
_MAX_ERRORS = 8
_MAX_INPUT = 80


def prompt_instruction(schema: dict[str, Any]) -> str:
    """The text appended to the prompt when the route cannot take ``response_format``."""
    return (
        "Reply with one JSON object, and nothing else, that conforms to this JSON schema:\n"
        f"{SCHEMA_OPEN}\n{json.dumps(schema, ensure_ascii=False)}\n{SCHEMA_CLOSE}"
    )


def read_reply(model: type[BaseModel], text: str) -> tuple[dict[str, Any] | None, str | None]:
    """``(value, None)`` when ``text`` holds JSON valid for ``model`` (a ```json fence around
    it is fine), else ``(None, what is wrong)``. ``value`` is JSON-safe, keyed by alias."""
    body = text.strip()
    fenced = _FENCE.search(body)
    if fenced is not None and not body.startswith(("{", "[")):
        body = fenced.group(1).strip()
    if not body:
        return None, "the reply is empty; it must be a JSON object"
    try:
        instance = model.model_validate_json(body)
    except ValidationError as exc:
        relaxed = _escaped(body) if _json_invalid(exc) else None
        if relaxed is None:
            return None, describe(exc)
        try:
            instance = model.model_validate_json(relaxed)
        except ValidationError as again:
            return None, describe(again)
    return instance.model_dump(mode="json", by_alias=True), None


def _json_invalid(exc: ValidationError) -> bool:
    return any(error["type"] == "json_invalid" for error in exc.errors(include_url=False))


def _escaped(body: str) -> str | None:
    """``body`` with raw control characters inside strings escaped, when that is all that
    kept it from parsing: grammar-constrained servers emit a bare newline inside a JSON
    string. Accepts what ``json.loads(body, strict=False)`` accepts, then re-encodes it, so
    validation still runs in JSON mode."""
    try:
        return json.dumps(json.loads(body, strict=False), ensure_ascii=False)
    except ValueError:
        return None


def describe(exc: ValidationError) -> str:
    """A validation error as one short line per problem (``field: message (got ...)``)."""
    lines: list[str] = []
    errors = exc.errors(include_url=False)
    for err in errors[:_MAX_ERRORS]:
        where = ".".join(map(str, err["loc"])) or "the reply"
        line = f"{where}: {err['msg']}"
        if err["type"] != "missing" and err["type"] != "json_invalid" and "input" in err:
            shown = json.dumps(err["input"], ensure_ascii=False, default=str)
            if len(shown) > _MAX_INPUT:
                shown = shown[: _MAX_INPUT - 3] + "..."
            line += f" (got {shown})"
        lines.append(line)
    if len(errors) > _MAX_ERRORS:
        lines.append(f"... and {len(errors) - _MAX_ERRORS} more")
    return "; ".join(lines)


def feedback_messages(reply: str, error: str) -> list[dict[str, Any]]:
    """The bad reply as the assistant's turn, then a user turn naming what to fix."""
    return [
        {"role": "assistant", "content": reply},
        {
            "role": "user",
            "content": (
                f"Your reply is not valid: {error}. Reply again with only the corrected "
                "JSON object."
            ),
        },
    ]
