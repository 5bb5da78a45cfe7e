"""The model-client interface: every transport returns the same :class:`ChatResult`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["ChatResult", "ModelClient"]


@dataclass(frozen=True, slots=True)
class ChatResult:
    """One chat completion, whatever transport produced it."""

    text: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    attempts: int = 1
    latency: float = 0.0


class ModelClient(Protocol):
    """Sends chat requests for one model entry, under its backend's limiter and retries."""

    async def chat(
        self, messages: Sequence[Mapping[str, Any]], parameters: Mapping[str, Any]
    ) -> ChatResult:
        """Send one chat completion (retrying transient failures); raise ``ModelCallError``."""
        ...
