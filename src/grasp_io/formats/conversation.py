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
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from grasp_core.errors import RecordError

__all__ = ["Conversation", "Turn", "parse_conversation"]

_Fail = Callable[[str], RecordError]
_ROLES = {"user": "user", "prompter": "user", "human": "user", "assistant": "assistant"}


@dataclass(frozen=True, slots=True)
class Turn:
    """One user or assistant turn; ``rejected`` is set only on preference turns."""

    role: str
    content: str
    rejected: str | None = None
    quality: Any = None
    rejected_quality: Any = None

    @property
    def is_pair(self) -> bool:
        return self.rejected is not None


@dataclass(frozen=True, slots=True)
class Conversation:
    """A validated conversation: optional system prompt, then alternating turns."""

    system: str | None
    turns: list[Turn] = field(default_factory=list)

    def pairs(self) -> list[int]:
        """Indexes of the preference turns."""
        return [i for i, turn in enumerate(self.turns) if turn.is_pair]

    def messages(self, upto: int | None = None) -> list[dict[str, str]]:
        """Role/content messages (pairs resolved to ``chosen``), before turn ``upto``."""
        out = [{"role": "system", "content": self.system}] if self.system is not None else []
        out += [{"role": t.role, "content": t.content} for t in self.turns[:upto]]
        return out


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
    if chosen is None and rejected is None:
        content = _text(message.get("content"), f"{where}.content", fail)
        return Turn(role, content, quality=message.get("quality"))
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


def _text(value: Any, where: str, fail: _Fail) -> str:
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return "\n".join(value)
    if not isinstance(value, str):
        raise fail(f"{where} must be a string (or a list of strings), got {type(value).__name__}")
    return value
