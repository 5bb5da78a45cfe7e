"""``pre_process`` and ``post_process`` hooks written in SyGra's style, called as GraSP's.

GraSP's hooks return the keys they change (``f(state) -> dict``, ``f(result, state) ->
dict``). SyGra's change the state they are given and return all of it, and its
post-processors read the reply as a message object (``response.message.content``), some
without the state (``apply(response)``). Both styles work unchanged:

- each hook gets its own deep copy of the state, its ``messages`` as objects that are
  also dicts (:mod:`grasp_core.graph.chat_messages`), and what it returns is reduced to the
  keys whose values differ from the state's (returning the whole state stores nothing
  twice; a grown ``messages`` list contributes only its new messages);
- the node's result is a dict that also answers ``.message`` (``content``, ``role``,
  ``tool_calls``), and a one-argument post-processor gets only that;
- a pre-processor that rewrites earlier ``messages`` (swapping their roles for a critic)
  changes what its node sees, and nothing is stored: SyGra's node builds its prompt from the
  pre-processed state but stores only its own reply (:data:`VIEW_ONLY`).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from grasp_core.config.callables import UserCallable
from grasp_core.errors import NodeError
from grasp_core.graph.chat_messages import with_message_objects
from grasp_core.graph.state import APPEND_KEYS

__all__ = ["VIEW_ONLY", "NodeResult", "ReplyMessage", "post_process_hook", "pre_process_hook"]

VIEW_ONLY = "__view_only__"
"""Key of a pre-processor's changes holding values only its node sees (rewritten earlier
``messages``); the node call takes it out before anything is stored."""


@dataclass(frozen=True)
class ReplyMessage:
    """The node's reply as a message object (the attributes SyGra's hooks read)."""

    content: Any
    role: str = "assistant"
    tool_calls: list[dict[str, Any]] = field(default_factory=list)

    @property
    def type(self) -> str:
        """LangChain's name for the role (``ai``, ``human``, ``system``)."""
        return {"assistant": "ai", "user": "human"}.get(self.role, self.role)


class NodeResult(dict[str, Any]):
    """A node's result: the dict GraSP's hooks get, with ``.message`` for SyGra's."""

    @property
    def message(self) -> ReplyMessage:
        """The last message the node added to ``messages`` (else its first value)."""
        added = self.get("messages")
        if isinstance(added, list) and added and isinstance(added[-1], Mapping):
            last = added[-1]
            return ReplyMessage(
                last.get("content"),
                str(last.get("role", "assistant")),
                list(last.get("tool_calls") or []),
            )
        first = next((value for key, value in self.items() if key != "messages"), None)
        return ReplyMessage(first)


def pre_process_hook(hook: UserCallable, node: str) -> UserCallable:
    """``hook`` called on a copy of the state, its return reduced to what it changed."""

    async def call(state: Mapping[str, Any]) -> Any:
        before = dict(state)
        value = await hook(with_message_objects(state_copy(before)))
        return changed_keys(value, before, node=node, hook="pre_process")

    return UserCallable(call, name=hook.name)


def post_process_hook(hook: UserCallable, node: str) -> UserCallable:
    """``hook`` given the result as a :class:`NodeResult` (alone, for a one-argument
    post-processor), a returned whole state reduced to what it changed."""
    alone = hook.positional_count() == 1

    async def call(result: Mapping[str, Any], state: Mapping[str, Any]) -> Any:
        response = NodeResult(result)
        if alone:
            return await hook(response)
        before = dict(state)
        value = await hook(response, with_message_objects(state_copy(before)))
        if value is None or not _whole_state(value, before):
            return value
        return changed_keys(value, before, node=node, hook="post_process")

    return UserCallable(call, name=hook.name)


def state_copy(state: dict[str, Any]) -> dict[str, Any]:
    """``copy.deepcopy(state)``, faster for what a state usually holds: dicts and lists of
    text, numbers, booleans and None are copied directly; anything else, or a dict or list
    found twice (shared, or a cycle), makes it fall back to ``copy.deepcopy``, which keeps
    such sharing."""
    seen: set[int] = set()
    try:
        return _json_copy(state, seen)  # type: ignore[no-any-return]
    except _NotPlainError:
        return copy.deepcopy(state)


class _NotPlainError(Exception):
    """A value the direct copy leaves to ``copy.deepcopy``."""


_IMMUTABLE = frozenset({str, int, float, bool, type(None)})


def _json_copy(value: Any, seen: set[int]) -> Any:
    kind = type(value)
    if kind in _IMMUTABLE:
        return value
    if kind is not dict and kind is not list:
        raise _NotPlainError
    if id(value) in seen:
        raise _NotPlainError
    seen.add(id(value))
    if kind is dict:
        return {key: _json_copy(item, seen) for key, item in value.items()}
    return [_json_copy(item, seen) for item in value]


def _whole_state(value: Any, state: Mapping[str, Any]) -> bool:
    return isinstance(value, Mapping) and bool(state) and set(state) <= set(value)


def changed_keys(value: Any, before: Mapping[str, Any], *, node: str, hook: str) -> Any:
    """``value`` when it is not a whole state; else its keys that differ from ``before``.

    A ``messages`` list that replaces earlier messages (rather than adding to them) cannot be
    stored: messages are only ever appended. From a pre-processor it is what the node sees
    (under :data:`VIEW_ONLY`), as in SyGra."""
    if not _whole_state(value, before):
        return value
    delta: dict[str, Any] = {}
    for key, new in value.items():
        if key in before and before[key] == new:
            continue
        if key in APPEND_KEYS and key in before:
            old = list(before[key] or [])
            if hook == "pre_process" and isinstance(new, list) and new[: len(old)] != old:
                delta.setdefault(VIEW_ONLY, {})[key] = new
                continue
            if not isinstance(new, list) or new[: len(old)] != old:
                raise NodeError(
                    f"node {node!r}: the {hook} hook rewrote earlier `{key}`; they can only "
                    "be added to. To relabel roles for one node, use its `history_role_map` "
                    "(such as {assistant: user, user: assistant})",
                    node=node,
                )
            new = new[len(old) :]
        delta[key] = new
    return delta
