"""TRL-ready rows: ``sft`` (conversational language modeling) and ``dpo`` (conversational
preference with an explicit prompt), as TRL's "Dataset formats" guide documents them.

``sft`` writes ``{"messages": [{"role", "content"}, ...]}``, preference turns resolved to
their chosen reply. ``dpo`` writes one row per preference turn:
``{"prompt": [messages before it], "chosen": [assistant message], "rejected": [...]}``;
earlier preference turns appear in the prompt with their chosen reply.

A conversation with images or audio (see :mod:`.conversation`) is written as TRL's vision
datasets are: content parts in every message, and the media in ``images`` (and ``audios``)
columns, those of the prompt for ``dpo``. A parquet or ``hf`` sink stores ``images`` as a
``Sequence(Image())`` column, which is what TRL's vision-language trainers load.
"""

from __future__ import annotations

from typing import Any, ClassVar

from grasp_core.errors import RecordError
from grasp_io.formats.conversation import parse_conversation

__all__ = ["DpoFormat", "SftFormat"]


class SftFormat:
    """``--format sft``: one ``{"messages": [...]}`` row per record."""

    required_fields: ClassVar[tuple[str, ...]] = ("conversation",)
    """The record field rows are made from (a run whose records lack it is refused)."""
    nested_columns: ClassVar[tuple[str, ...]] = ("messages", "images", "audios")
    """Row columns holding lists (a sink that stores them as text is refused)."""

    def rows(self, record_id: str, record: dict[str, Any]) -> list[dict[str, Any]]:
        conversation = parse_conversation(record_id, record, "sft")
        if len(conversation.turns) < 2:
            raise RecordError(
                f"record {record_id!r} cannot be written as sft: its conversation has no "
                "assistant reply to train on"
            )
        return [{"messages": conversation.messages(), **conversation.media()}]


class DpoFormat:
    """``--format dpo``: one ``{"prompt", "chosen", "rejected"}`` row per preference turn."""

    required_fields: ClassVar[tuple[str, ...]] = ("conversation",)
    nested_columns: ClassVar[tuple[str, ...]] = ("prompt", "chosen", "rejected", "images", "audios")

    def rows(self, record_id: str, record: dict[str, Any]) -> list[dict[str, Any]]:
        conversation = parse_conversation(record_id, record, "dpo")
        pairs = conversation.pairs()
        if not pairs:
            raise RecordError(
                f"record {record_id!r} cannot be written as dpo: no assistant turn has "
                "'chosen' and 'rejected'; see docs/how-to/output-formats.md"
            )
        rows: list[dict[str, Any]] = []
        for index in pairs:
            turn = conversation.turns[index]
            rows.append(
                {
                    "prompt": conversation.messages(upto=index),
                    "chosen": conversation.reply(turn.content),
                    "rejected": conversation.reply(turn.rejected or ""),
                    **conversation.media(upto=index),
                }
            )
        return rows
