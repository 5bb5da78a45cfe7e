"""What a call does with a reply cut off at ``max_tokens`` or empty: keep, fail, or retry.

A reply cut off by ``max_tokens`` (``finish_reason: length``) reads as a whole answer but is
not one, so by default it fails its record: a truncated answer is a bad training row. An
empty reply (no text, no tool calls) is more often a passing server hiccup than an answer,
so by default it is asked again, and fails the record once the retries run out. A
models-file entry sets both (``on_truncated``, ``on_empty``); a node may override them for
its own calls (:class:`ReplyPolicy`). Every such reply is counted in the run's metrics,
whatever then happens to it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from grasp_core.errors import ModelCallError, RetryableModelError
from grasp_core.plugin import ModelSpec, ReplyAction

__all__ = ["ReplyDefect", "ReplyPolicy", "defect_error", "defect_hint", "reply_defect"]

ReplyDefect = Literal["truncated", "empty"]


@dataclass(frozen=True, slots=True)
class ReplyPolicy:
    """A node's choices for its calls; ``None`` leaves the model entry's."""

    on_truncated: ReplyAction | None = None
    on_empty: ReplyAction | None = None

    def action(self, defect: ReplyDefect, spec: ModelSpec) -> ReplyAction:
        """What to do with a ``defect`` reply of the model ``spec`` describes."""
        if defect == "truncated":
            return self.on_truncated or spec.on_truncated
        return self.on_empty or spec.on_empty


def reply_defect(
    text: str, finish_reason: str | None, tool_calls: Sequence[Any]
) -> ReplyDefect | None:
    """``truncated`` when the server stopped at the token limit (even with no text: a
    reasoning model can spend the whole budget thinking), ``empty`` when the reply holds
    neither text (whitespace does not count) nor tool calls, else None."""
    if finish_reason == "length":
        return "truncated"
    if not text.strip() and not tool_calls:
        return "empty"
    return None


def defect_error(
    defect: ReplyDefect,
    action: ReplyAction,
    *,
    model: str,
    node: str | None,
    params: Mapping[str, Any],
) -> ModelCallError:
    """The error that fails (``fail``) or re-asks (``retry``) a ``defect`` reply, naming the
    node, the model and the token limit; :func:`defect_hint` says what to change."""
    where = f"node {node!r}, model {model!r}" if node else f"model {model!r}"
    if defect == "truncated":
        limit = params.get("max_tokens", params.get("max_completion_tokens"))
        cap = f"max_tokens={limit}" if limit is not None else "the server's own token limit"
        text = f"{where}: the reply was cut off at {cap} (finish_reason 'length')"
    else:
        text = f"{where}: the reply was empty (no text and no tool calls)"
    if action == "retry":
        return RetryableModelError(text, kind=defect)
    return ModelCallError(text, kind=defect)


def defect_hint(kind: str) -> str | None:
    """What to change when a call failed on a reply of this defect ``kind`` (None for the
    other failure kinds)."""
    if kind == "truncated":
        return (
            "raise max_tokens (in the node's or the models file's parameters), or set "
            "on_truncated: keep (write it, flagged in reply_flags) or retry"
        )
    if kind == "empty":
        return (
            "check the server, or set on_empty: keep (write it, flagged in reply_flags) on "
            "the node or the model entry"
        )
    return None
