"""Where a record's text comes from: a role/content list, or named prompt/response fields."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from grasp_core.errors import RecordError
from grasp_core.plugin import MISSING, lookup

__all__ = ["RecordText", "Turn", "record_text"]

_MESSAGE_FIELDS = ("conversation", "messages")


@dataclass(frozen=True, slots=True)
class Turn:
    """One message: its role (`system`, `user`, `assistant`, `tool`...) and its text."""

    role: str
    text: str


@dataclass(frozen=True, slots=True)
class RecordText:
    """A record's turns, and the views the heuristics read."""

    turns: tuple[Turn, ...]

    @property
    def dialogue(self) -> tuple[Turn, ...]:
        """The turns without system messages."""
        return tuple(t for t in self.turns if t.role != "system")

    @property
    def prompt(self) -> str:
        """Every user turn, joined by blank lines."""
        return "\n\n".join(t.text for t in self.turns if t.role == "user")

    @property
    def response(self) -> str:
        """Every assistant turn joined; a record with no assistant turn is all response."""
        replies = [t.text for t in self.turns if t.role == "assistant"]
        if not replies:
            return self.all_text
        return "\n\n".join(replies)

    @property
    def last_response(self) -> str:
        """The last assistant turn (the whole text when there is none)."""
        for turn in reversed(self.turns):
            if turn.role == "assistant":
                return turn.text
        return self.all_text

    @property
    def last_question(self) -> str:
        """The last user turn before the last assistant turn (or the last user turn)."""
        seen_reply = False
        for turn in reversed(self.turns):
            if turn.role == "assistant":
                seen_reply = True
            elif turn.role == "user" and (seen_reply or not self.has_reply):
                return turn.text
        return ""

    @property
    def has_reply(self) -> bool:
        return any(t.role == "assistant" for t in self.turns)

    @property
    def all_text(self) -> str:
        """Every non-system turn, joined by blank lines."""
        return "\n\n".join(t.text for t in self.dialogue)

    def transcript(self) -> str:
        """The dialogue as `role: text` blocks (what a judge reads)."""
        return "\n\n".join(f"{t.role.upper()}: {t.text}" for t in self.dialogue)


def record_text(
    record: Mapping[str, Any],
    *,
    messages_field: str | None = None,
    prompt_fields: Sequence[str] = (),
    response_fields: Sequence[str] = (),
    record_id: str = "?",
) -> RecordText:
    """The turns of ``record``: from ``prompt_fields``/``response_fields`` when given, else from
    the role/content list in ``messages_field`` (default ``conversation``, then ``messages``)."""
    if prompt_fields or response_fields:
        turns = [Turn("user", _field_text(record, f, record_id)) for f in prompt_fields]
        turns += [Turn("assistant", _field_text(record, f, record_id)) for f in response_fields]
        return RecordText(tuple(turns))
    fields = (messages_field,) if messages_field else _MESSAGE_FIELDS
    for name in fields:
        value = lookup(record, name)
        if value is not MISSING and value is not None:
            return RecordText(tuple(_turns(value, name, record_id)))
    raise RecordError(
        f"record {record_id!r}: no {' or '.join(map(repr, fields))} field to tag (keys: "
        f"{', '.join(sorted(record)) or 'none'}); set data_quality.messages_field, or "
        "prompt_fields/response_fields (grasp tag: --messages-field, --prompt-field, "
        "--response-field)"
    )


def _field_text(record: Mapping[str, Any], field: str, record_id: str) -> str:
    value = lookup(record, field)
    if value is MISSING:
        raise RecordError(
            f"record {record_id!r}: no field {field!r} to tag (keys: "
            f"{', '.join(sorted(record)) or 'none'}); check the prompt/response fields"
        )
    return content_text(value)


def _turns(value: Any, field: str, record_id: str) -> list[Turn]:
    if isinstance(value, str) and value.lstrip()[:1] == "[":
        value = _json_list(value)
    if not isinstance(value, list):
        raise RecordError(
            f"record {record_id!r}: {field!r} must be a list of {{role, content}} messages, "
            f"got {type(value).__name__}"
        )
    turns: list[Turn] = []
    for index, message in enumerate(value):
        if not isinstance(message, Mapping) or "role" not in message:
            raise RecordError(
                f"record {record_id!r}: {field}[{index}] is not a {{role, content}} message: "
                f"{_preview(message)}"
            )
        role = str(message["role"])
        turns.append(Turn(_normal_role(role), content_text(_message_content(message))))
    return turns


def _json_list(text: str) -> Any:
    """A message list stored as JSON text (a CSV cell, as ``grasp tag`` writes CSV), or
    ``text`` unchanged when it is not JSON."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _message_content(message: Mapping[str, Any]) -> Any:
    """`content`, OASST's `text`, or the `chosen` reply of a preference (DPO) turn."""
    for key in ("content", "text", "chosen"):
        if message.get(key) is not None:
            return message[key]
    return None


def _normal_role(role: str) -> str:
    """OASST/ShareGPT spellings (`prompter`, `human`, `gpt`) as chat roles."""
    return {"prompter": "user", "human": "user", "gpt": "assistant", "bot": "assistant"}.get(
        role.lower(), role.lower()
    )


def content_text(content: Any) -> str:
    """Text of a message content: a string, or the text parts of a multimodal list."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, Mapping) and part.get("type", "text") == "text"
        )
    return str(content)


def _preview(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
