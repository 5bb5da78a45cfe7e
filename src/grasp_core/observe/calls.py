"""Watching model calls as they finish: each chat call's request and reply, for whoever
asked to see them in the current task (``grasp preview``, the Studio).

Model clients call :func:`report_model_call` once a chat call is answered (by the backend
or the response cache). It does nothing unless :func:`watching_model_calls` is active in the
calling task or one it was started from, so a run that watches nothing pays one
``ContextVar`` lookup a call. The call is attributed to the node run it belongs to (record
id, qualified node name, loop iteration), as the walker marks it for the response cache.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol

from grasp_core.models.cache_key import current_identity

__all__ = ["ModelCall", "report_model_call", "watching_model_calls"]

_HIDDEN_PARAMETERS = frozenset({"api_key", "extra_headers", "headers", "authorization"})
"""Request parameters a watcher never sees: they may carry credentials."""


@dataclass(frozen=True, slots=True)
class ModelCall:
    """One answered chat call, as a watcher sees it."""

    model: str
    """The models-file name the call went to."""
    record_id: str | None
    """The record whose node made the call (None outside a node run)."""
    node: str | None
    """The node's qualified name (``outer.inner`` inside a subgraph)."""
    iteration: int
    """The node run's loop iteration (0 on the first pass)."""
    messages: list[dict[str, Any]]
    """The messages as sent (media parts still hold their data URLs)."""
    parameters: dict[str, Any]
    """The request parameters after the models file's and the node's were merged."""
    text: str
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    """From the call's start to its answer: waiting for a slot, retries and backoff too."""
    cached: bool = False
    """Answered from the response cache: no backend call, nothing billed."""
    attempts: int = 1


class _Reply(Protocol):
    """What a client's chat result offers (``grasp_nodes.clients.ChatResult``)."""

    @property
    def text(self) -> str: ...
    @property
    def tool_calls(self) -> list[dict[str, Any]]: ...
    @property
    def finish_reason(self) -> str | None: ...
    @property
    def prompt_tokens(self) -> int: ...
    @property
    def completion_tokens(self) -> int: ...
    @property
    def attempts(self) -> int: ...


_WATCHER: ContextVar[Callable[[ModelCall], None] | None] = ContextVar(
    "grasp_model_call_watcher", default=None
)


@contextlib.contextmanager
def watching_model_calls(watcher: Callable[[ModelCall], None]) -> Iterator[None]:
    """Inside the block (and the tasks started from it), every answered chat call is
    passed to ``watcher``, on the event loop: it must be quick and must not raise."""
    token = _WATCHER.set(watcher)
    try:
        yield
    finally:
        _WATCHER.reset(token)


def report_model_call(
    model: str,
    messages: Sequence[Mapping[str, Any]],
    parameters: Mapping[str, Any],
    reply: _Reply,
    *,
    started: float,
    cached: bool = False,
) -> None:
    """Tell the active watcher, if any, that a call begun at ``started`` (a
    ``time.perf_counter()`` reading) was answered with ``reply``."""
    watcher = _WATCHER.get()
    if watcher is None:
        return
    identity = current_identity()
    watcher(
        ModelCall(
            model=model,
            record_id=identity.record_id if identity is not None else None,
            node=identity.node if identity is not None else None,
            iteration=identity.iteration if identity is not None else 0,
            messages=[dict(m) for m in messages],
            parameters={k: v for k, v in parameters.items() if k not in _HIDDEN_PARAMETERS},
            text=reply.text,
            tool_calls=list(reply.tool_calls),
            finish_reason=reply.finish_reason,
            prompt_tokens=reply.prompt_tokens,
            completion_tokens=reply.completion_tokens,
            seconds=time.perf_counter() - started,
            cached=cached,
            attempts=reply.attempts,
        )
    )
