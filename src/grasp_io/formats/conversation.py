"""The record shape every conversation format reads: a ``conversation`` of role/content turns.

An assistant turn holds either ``content`` (one reply) or ``chosen`` and ``rejected`` (a
preference pair; each a string, or a list of strings joined with newlines). A DPO record is
a conversation whose assistant turns carry pairs; later turns continue after the chosen
reply, so one record can hold several pairs (multi-turn DPO)::

    {"conversation": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Name a prime."},
        {"role": "assistant", "chosen": "7", "rejected": "8"},
        {"role": "user", "content": "Another?"},
        {"role": "assistant", "chosen": "11", "rejected": "12"}]}

One optional ``system`` turn may come first; then ``user`` and ``assistant`` turns alternate,
starting with ``user``. Turns may carry a ``quality`` dict (pair turns: ``chosen_quality``,
``rejected_quality``).

A user or assistant turn with ``content`` may also carry ``images`` and ``audios``: one
media entry or a list of them (what an ``image`` or ``speech`` node writes, ``{path, type,
size}``, or a Hugging Face ``{bytes, path}`` value read from a dataset). A conversation
with media is written the way TRL's vision datasets are: every message's ``content`` is a
list of parts (a ``{"type": "image"}`` or ``{"type": "audio"}`` placeholder per medium,
then ``{"type": "text", "text": ...}``), and the media themselves go, in order, in the
row's ``images`` and ``audios`` columns (:meth:`Conversation.media`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from grasp_core.errors import RecordError

__all__ = ["MEDIA_COLUMNS", "Conversation", "Turn", "parse_conversation"]

_Fail = Callable[[str], RecordError]
_ROLES = {"user": "user", "prompter": "user", "human": "user", "assistant": "assistant"}
MEDIA_COLUMNS = {"image": "images", "audio": "audios"}
"""A turn's key (and a row's column) for each medium."""


@dataclass(frozen=True, slots=True)
class Turn:
    """One user or assistant turn; ``rejected`` is set only on preference turns."""

    role: str
    content: str
    rejected: str | None = None
    quality: Any = None
    rejected_quality: Any = None
    media: tuple[tuple[str, Any], ...] = ()
    """``(kind, entry)`` of each image and audio the turn carries, images first."""

    @property
    def is_pair(self) -> bool:
        return self.rejected is not None

    def message(self, role: str, text: str, parts: bool) -> dict[str, Any]:
        """The turn as a message whose content is ``text`` (with ``parts``: a list of
        media placeholders, then the text part)."""
        if not parts:
            return {"role": role, "content": text}
        content = [{"type": kind} for kind, _ in self.media]
        return {"role": role, "content": [*content, {"type": "text", "text": text}]}


@dataclass(frozen=True, slots=True)
class Conversation:
    """A validated conversation: optional system prompt, then alternating turns."""

    system: str | None
    turns: list[Turn] = field(default_factory=list)

    def pairs(self) -> list[int]:
        """Indexes of the preference turns."""
        return [i for i, turn in enumerate(self.turns) if turn.is_pair]

    @property
    def has_media(self) -> bool:
        """Whether any turn carries an image or audio (messages then hold content parts)."""
        return any(turn.media for turn in self.turns)

    def messages(self, upto: int | None = None) -> list[dict[str, Any]]:
        """Role/content messages (pairs resolved to ``chosen``), before turn ``upto``;
        content parts in every message when the conversation has media."""
        parts = self.has_media
        system = Turn("system", self.system) if self.system is not None else None
        turns = [system] if system is not None else []
        return [t.message(t.role, t.content, parts) for t in [*turns, *self.turns[:upto]]]

    def reply(self, text: str) -> list[dict[str, Any]]:
        """One assistant message holding ``text`` (a preference side), shaped as the
        conversation's other messages."""
        return [Turn("assistant", text).message("assistant", text, self.has_media)]

    def media(self, upto: int | None = None) -> dict[str, list[Any]]:
        """The ``images`` and ``audios`` columns of the turns before ``upto``, in order
        (only the columns of media the conversation has)."""
        columns: dict[str, list[Any]] = {}
        for turn in self.turns[:upto]:
            for kind, entry in turn.media:
                columns.setdefault(MEDIA_COLUMNS[kind], []).append(entry)
        return columns


def parse_conversation(record_id: str, record: Mapping[str, Any], fmt: str) -> Conversation:
    """Read ``record["conversation"]``; a record of another shape fails with the reason."""

    def fail(problem: str) -> RecordError:
        return RecordError(
            f"record {record_id!r} cannot be written as {fmt}: {problem}; see "
            "docs/how-to/output-formats.md for the record shape"
        )

    raw = record.get("conversation")
    if raw is None:
        keys = ", ".join(sorted(record)) or "none"
        raise fail(f"it has no 'conversation' field (fields: {keys})")
    if not isinstance(raw, list) or not raw:
        raise fail("'conversation' must be a non-empty list of {role, content} messages")
    system: str | None = None
    turns: list[Turn] = []
    for index, message in enumerate(raw):
        where = f"conversation[{index}]"
        if not isinstance(message, Mapping):
            raise fail(f"{where} is {type(message).__name__}, not a {{role, content}} object")
        role = message.get("role")
        if role == "system":
            if index != 0:
                raise fail(f"{where} is a system message; only the first message may be one")
            system = _text(message.get("content"), f"{where}.content", fail)
            continue
        if role not in _ROLES:
            raise fail(f"{where}.role is {role!r}; use 'system', 'user' or 'assistant'")
        role = _ROLES[role]
        expected = "user" if len(turns) % 2 == 0 else "assistant"
        if role != expected:
            raise fail(
                f"{where} is a {role} message where a {expected} message must come "
                "(user and assistant turns alternate, starting with user)"
            )
        turns.append(_turn(message, role, where, fail))
    if not turns:
        raise fail("'conversation' has no user message")
    return Conversation(system, turns)


def _turn(message: Mapping[str, Any], role: str, where: str, fail: _Fail) -> Turn:
    chosen, rejected = message.get("chosen"), message.get("rejected")
    media = _media(message, where, fail)
    if chosen is None and rejected is None:
        content = _text(message.get("content"), f"{where}.content", fail)
        return Turn(role, content, quality=message.get("quality"), media=media)
    if media:
        raise fail(f"{where} is a preference turn with media; put media in the user turns")
    if role != "assistant":
        raise fail(f"{where} has chosen/rejected, but only assistant turns may")
    if chosen is None or rejected is None:
        missing = "chosen" if chosen is None else "rejected"
        raise fail(f"{where} has no {missing!r}; a preference turn needs both")
    return Turn(
        role,
        _text(chosen, f"{where}.chosen", fail),
        rejected=_text(rejected, f"{where}.rejected", fail),
        quality=message.get("chosen_quality", message.get("quality")),
        rejected_quality=message.get("rejected_quality"),
    )


def _media(message: Mapping[str, Any], where: str, fail: _Fail) -> tuple[tuple[str, Any], ...]:
    """The turn's ``images`` and ``audios`` entries, each checked for its shape."""
    found: list[tuple[str, Any]] = []
    for kind, key in MEDIA_COLUMNS.items():
        value = message.get(key)
        for index, entry in enumerate(value if isinstance(value, list) else [value]):
            if entry is None:
                continue
            at = f"{where}.{key}" + (f"[{index}]" if isinstance(value, list) else "")
            found.append((kind, _entry(entry, kind, at, fail)))
    return tuple(found)


def _entry(entry: Any, kind: str, where: str, fail: _Fail) -> Any:
    """A stored media entry (``{path, type, size}``) or an hf ``{bytes, path}`` value of
    ``kind``; anything else fails the record naming what is expected."""
    if isinstance(entry, Mapping):
        media_type = entry.get("type")
        if isinstance(entry.get("path"), str) and isinstance(media_type, str):
            if not media_type.startswith(f"{kind}/"):
                raise fail(
                    f"{where} is {media_type!r}, not {'an image' if kind == 'image' else 'audio'}"
                )
            return dict(entry)
        if set(entry) == {"bytes", "path"} and (entry["bytes"] or entry["path"]):
            return dict(entry)
    raise fail(
        f"{where} must be a media entry (what an image or speech node writes, or a dataset's "
        f"{{bytes, path}} value), got {type(entry).__name__}"
    )


def _text(value: Any, where: str, fail: _Fail) -> str:
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return "\n".join(value)
    if not isinstance(value, str):
        raise fail(f"{where} must be a string (or a list of strings), got {type(value).__name__}")
    return value
