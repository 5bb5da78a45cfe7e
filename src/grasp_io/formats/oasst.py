"""Records → OpenAssistant-style message rows: ``oasst_sft`` and ``oasst_dpo``.

Each record becomes one message tree, written as one row per message in the layout of the
public OASST dumps (``message_id``, ``parent_id``, ``message_tree_id``, ``role`` as
``prompter``/``assistant``, ``text``, ``lang``, ``rank``), plus the paper's
``conversation_id``, ``root_message_id`` and ``message_level``. Ids are uuid5 values derived
from the record id, so a resumed run writes identical rows.

With ``oasst_dpo`` a preference turn becomes two sibling assistant messages under the same
parent: the chosen one with ``rank`` 0, the rejected one with ``rank`` 1. The conversation
continues under the chosen message; the rejected one is a leaf.

A message whose turn carries images or audio (see :mod:`.conversation`) keeps ``text`` as
it is and holds its media in ``images`` / ``audios`` columns (entries, which parquet and
``hf`` sinks store as ``Sequence(Image())`` / ``Sequence(Audio())``).
"""

from __future__ import annotations

import uuid
from typing import Any, ClassVar, Literal

from grasp_core.errors import RecordError
from grasp_io.formats.conversation import MEDIA_COLUMNS, Conversation, parse_conversation

__all__ = ["OASST_NAMESPACE", "OasstDpoFormat", "OasstSftFormat", "message_id"]

OASST_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "grasp-sdg:oasst")
"""The uuid5 namespace of every generated message id."""

_ROLES = {"user": "prompter", "assistant": "assistant"}
_COPIED = ("taxonomy", "annotation_type", "tags")
"""Record fields copied to every row."""


def message_id(record_id: str, path: str) -> str:
    """The id of the message at ``path`` (turn index, with ``/chosen`` or ``/rejected``)."""
    return str(uuid.uuid5(OASST_NAMESPACE, f"{record_id}\0{path}"))


class _OasstFormat:
    kind: ClassVar[Literal["sft", "dpo"]]
    required_fields: ClassVar[tuple[str, ...]] = ("conversation",)
    """The record field rows are made from (a run whose records lack it is refused)."""
    nested_columns: ClassVar[tuple[str, ...]] = (
        "quality",
        "conversation_quality",
        *_COPIED,
        *MEDIA_COLUMNS.values(),
    )
    """Row columns that hold the record's lists and dicts (quality tags, taxonomy...)."""

    def rows(self, record_id: str, record: dict[str, Any]) -> list[dict[str, Any]]:
        name = f"oasst_{self.kind}"
        conversation = parse_conversation(record_id, record, name)
        if self.kind == "dpo" and not conversation.pairs():
            raise RecordError(
                f"record {record_id!r} cannot be written as {name}: no assistant turn has "
                "'chosen' and 'rejected'; see docs/how-to/output-formats.md"
            )
        return self._messages(record_id, record, conversation)

    def _messages(
        self, record_id: str, record: dict[str, Any], conversation: Conversation
    ) -> list[dict[str, Any]]:
        root = message_id(record_id, "0")
        shared = {
            "message_tree_id": root,
            "root_message_id": root,
            "conversation_id": record_id,
            "lang": record.get("language", record.get("lang")),
            "synthetic": True,
            "system": conversation.system,
            "conversation_quality": record.get("quality"),
            **{key: record.get(key) for key in _COPIED},
        }

        def row(
            mid: str, parent: str | None, level: int, role: str, text: str, **more: Any
        ) -> dict[str, Any]:
            return {
                "message_id": mid,
                "parent_id": parent,
                "message_level": level,
                "role": _ROLES[role],
                "text": text,
                **more,
                **shared,
            }

        out: list[dict[str, Any]] = []
        parent: str | None = None
        for index, turn in enumerate(conversation.turns):
            level = index + 1
            if turn.is_pair and self.kind == "dpo":
                chosen = message_id(record_id, f"{index}/chosen")
                rejected = message_id(record_id, f"{index}/rejected")
                out.append(
                    row(
                        chosen, parent, level, turn.role, turn.content, rank=0, quality=turn.quality
                    )
                )
                out.append(
                    row(
                        rejected,
                        parent,
                        level,
                        turn.role,
                        turn.rejected or "",
                        rank=1,
                        quality=turn.rejected_quality,
                    )
                )
                parent = chosen
            else:
                mid = message_id(record_id, str(index))
                media: dict[str, list[Any]] = {}
                for kind, entry in turn.media:
                    media.setdefault(MEDIA_COLUMNS[kind], []).append(entry)
                out.append(
                    row(
                        mid,
                        parent,
                        level,
                        turn.role,
                        turn.content,
                        rank=None,
                        quality=turn.quality,
                        **media,
                    )
                )
                parent = mid
        return out


class OasstSftFormat(_OasstFormat):
    """``--oasst`` / ``oasst_mapper: {type: sft}``: one message row per turn."""

    kind = "sft"


class OasstDpoFormat(_OasstFormat):
    """``oasst_mapper: {type: dpo}``: preference turns become ranked sibling messages."""

    kind = "dpo"
