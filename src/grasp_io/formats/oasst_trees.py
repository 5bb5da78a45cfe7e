"""OpenAssistant message trees → conversations (the inverse of :mod:`grasp_io.formats.oasst`).

Reads both layouts of the public OASST exports: flat message rows linked by ``parent_id``
(``*.messages.jsonl``, the Hugging Face ``oasst1``/``oasst2`` tables) and nested trees
(``*.trees.jsonl``: ``{"message_tree_id", "prompt": {..., "replies": [...]}}``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from grasp_core.errors import GraspError

__all__ = ["Message", "TreeError", "conversations", "tree_from_nested", "tree_from_rows"]

_ROLES = {"prompter": "user", "user": "user", "assistant": "assistant"}
_CONVERSATION_FIELDS = ("taxonomy", "annotation_type", "tags")


class TreeError(GraspError, ValueError):
    """A message tree that cannot be read (no root, an orphan, a bad message)."""


@dataclass(slots=True)
class Message:
    """One message of a tree, with its replies in file order."""

    row: Mapping[str, Any]
    replies: list[Message] = field(default_factory=list)

    @property
    def id(self) -> str:
        return str(self.row["message_id"])

    @property
    def role(self) -> str:
        return _ROLES[self.row["role"]]

    @property
    def rank(self) -> float | None:
        """The reply's rank among its siblings (lower is better); ``None`` when unranked,
        including a NaN rank (Parquet exports write missing ranks as NaN)."""
        rank = self.row.get("rank")
        if isinstance(rank, bool) or not isinstance(rank, int | float) or math.isnan(rank):
            return None
        return float(rank)


def _message(row: Any, where: str) -> Message:
    if not isinstance(row, Mapping):
        raise TreeError(f"{where} is not an object")
    for key in ("message_id", "role", "text"):
        if row.get(key) is None:
            raise TreeError(f"{where} has no {key!r}")
    if row["role"] not in _ROLES:
        raise TreeError(f"{where} has role {row['role']!r}; expected 'prompter' or 'assistant'")
    if not isinstance(row["text"], str):
        raise TreeError(f"{where}.text is not a string")
    return Message(row)


def tree_from_nested(tree: Mapping[str, Any]) -> Message:
    """The root of a ``*.trees.jsonl`` tree (``prompt`` with nested ``replies``)."""

    def build(node: Any, where: str) -> Message:
        message = _message(node, where)
        replies = node.get("replies") or []
        if not isinstance(replies, list):
            raise TreeError(f"{where}.replies is not a list")
        message.replies = [build(r, f"{where}.replies[{i}]") for i, r in enumerate(replies)]
        return message

    if not isinstance(tree.get("prompt"), Mapping):
        raise TreeError("the tree has no 'prompt' message")
    return build(tree["prompt"], "prompt")


def tree_from_rows(rows: list[tuple[int, Mapping[str, Any]]]) -> Message:
    """The root of a tree given as ``(line, message row)`` pairs, in any order."""
    messages: dict[str, Message] = {}
    for line, row in rows:
        message = _message(row, f"the message on line {line}")
        if message.id in messages:
            raise TreeError(f"line {line} repeats message_id {message.id!r}")
        messages[message.id] = message
    roots = [m for m in messages.values() if m.row.get("parent_id") is None]
    if len(roots) != 1:
        raise TreeError(f"expected one root message (parent_id null), found {len(roots)}")
    for message in messages.values():
        parent_id = message.row.get("parent_id")
        if parent_id is None:
            continue
        parent = messages.get(str(parent_id))
        if parent is None:
            raise TreeError(
                f"message {message.id!r} names parent {parent_id!r}, which is not in its tree"
            )
        parent.replies.append(message)
    return roots[0]


def conversations(
    root: Message,
    *,
    mode: Literal["sft", "dpo"] = "sft",
    branches: Literal["all", "best"] = "all",
    keep_deleted: bool = False,
) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(leaf message id, record)`` for each conversation path of the tree.

    ``sft``: one record per root-to-leaf path (``branches: best`` follows only the
    best-ranked of sibling assistant replies). ``dpo``: paths that follow the best-ranked
    assistant reply, where each ranked set of sibling replies becomes a preference turn
    (best as ``chosen``, worst *ranked* as ``rejected``); paths without one are not DPO data
    and are left out. Lower ``rank`` is better; unranked replies come after ranked ones and
    are never a ``rejected`` reply.
    """
    if not keep_deleted and root.row.get("deleted"):
        return
    meta = _conversation_meta(root)
    follow_best = mode == "dpo" or branches == "best"

    def walk(message: Message, path: list[dict[str, Any]]) -> Iterator[tuple[str, list[Any]]]:
        replies = [r for r in message.replies if keep_deleted or not r.row.get("deleted")]
        if not replies:
            yield message.id, path
            return
        if replies[0].role == "assistant" and follow_best:
            ordered = sorted(replies, key=_rank_key)
            best = ordered[0]
            turn = _turn(best)
            ranked = [r for r in ordered if r.rank is not None]
            if mode == "dpo" and len(ranked) > 1:
                worst = ranked[-1]
                turn = {
                    "role": "assistant",
                    "chosen": best.row["text"],
                    "rejected": worst.row["text"],
                }
                _copy_quality(best, turn, "chosen_quality")
                _copy_quality(worst, turn, "rejected_quality")
            yield from walk(best, [*path, turn])
            return
        for reply in replies:
            yield from walk(reply, [*path, _turn(reply)])

    for leaf, path in walk(root, [_turn(root)]):
        if mode == "dpo" and not any("chosen" in turn for turn in path):
            continue
        system = root.row.get("system")
        conversation = ([{"role": "system", "content": system}] if system else []) + path
        yield leaf, {"id": leaf, "conversation": conversation, **meta}


def _rank_key(message: Message) -> tuple[int, float]:
    rank = message.rank
    return (0, rank) if rank is not None else (1, 0.0)


def _turn(message: Message) -> dict[str, Any]:
    turn: dict[str, Any] = {"role": message.role, "content": message.row["text"]}
    _copy_quality(message, turn, "quality")
    return turn


def _copy_quality(message: Message, turn: dict[str, Any], key: str) -> None:
    quality = message.row.get("quality")
    if quality is not None:
        turn[key] = quality


def _conversation_meta(root: Message) -> dict[str, Any]:
    row = root.row
    meta: dict[str, Any] = {
        "conversation_id": row.get("conversation_id") or row.get("message_tree_id") or root.id,
        "language": row.get("lang"),
    }
    meta.update({key: row[key] for key in _CONVERSATION_FIELDS if row.get(key) is not None})
    if row.get("conversation_quality") is not None:
        meta["quality"] = row["conversation_quality"]
    return meta
