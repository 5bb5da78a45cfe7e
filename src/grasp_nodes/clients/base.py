"""The model-client interface, and the retrying base every transport shares.

Transports differ only in how one attempt is sent (:meth:`RetryingClient._attempt`); the
retry policy, the backend limiter and the metrics are the same for all of them, so a run
behaves identically whichever transport carries its calls.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from grasp_core.errors import ModelCallError, RetryableModelError
from grasp_core.plugin import Backend, ModelSpec, RunMetrics
from grasp_nodes.clients.retry import call_with_retries

__all__ = ["KEYLESS_API_KEYS", "ChatResult", "ModelClient", "RetryingClient"]

KEYLESS_API_KEYS = {"openai": "EMPTY", "azure": "EMPTY", "hosted_vllm": "fake-api-key"}
"""The key litellm sends when none is configured (local servers without auth); both
transports send it, so their requests stay identical."""


_MEDIA_PART_TOKENS = 800
"""A media part's guess: providers bill an image at ~85-1,500 tokens and audio by length;
its base64 characters say nothing about it."""


def _estimate_tokens(messages: list[dict[str, Any]], params: Mapping[str, Any]) -> int:
    """A request's token cost before the reply: ~4 characters a prompt token (a fixed guess
    per image or audio part), plus the completion's cap (256 when none is set); corrected
    by the reply's usage."""
    chars = 0
    media = 0
    for message in messages:
        content = message.get("content") or ""
        if isinstance(content, list):
            for part in content:
                text = part.get("text") if isinstance(part, Mapping) else None
                if isinstance(text, str):
                    chars += len(text)
                else:
                    media += 1
        else:
            chars += len(str(content))
    prompt = chars // 4 + 1 + media * _MEDIA_PART_TOKENS
    cap = params.get("max_tokens") or params.get("max_completion_tokens") or 256
    return prompt + int(cap)


class _AttemptClock:
    """When the latest attempt of a call began: a failed call's latency is its last
    attempt's, as for a successful one, not the whole call with its backoff sleeps."""

    __slots__ = ("_started",)

    def __init__(self) -> None:
        self._started = time.perf_counter()

    def start(self) -> None:
        self._started = time.perf_counter()

    def seconds(self) -> float:
        return time.perf_counter() - self._started


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
        self,
        messages: Sequence[Mapping[str, Any]],
        parameters: Mapping[str, Any],
        *,
        max_retries: int | None = None,
    ) -> ChatResult:
        """Send one chat completion (retrying transient failures); raise ``ModelCallError``.

        ``parameters`` go into the request body as they are (``tools``, ``tool_choice``,
        ``response_format``...); ``max_retries`` overrides the model entry's for this call.
        """
        ...


class RetryingClient:
    """Retries, limiter and metrics around a transport's single attempt."""

    def __init__(
        self,
        name: str,
        spec: ModelSpec,
        *,
        api_key: str | None,
        backend: Backend,
        metrics: RunMetrics,
    ) -> None:
        self.name = name
        self.spec = spec
        self._api_key = api_key
        self.backend = backend
        self.metrics = metrics

    async def chat(
        self,
        messages: Sequence[Mapping[str, Any]],
        parameters: Mapping[str, Any],
        *,
        max_retries: int | None = None,
    ) -> ChatResult:
        params = {**self.spec.parameters, **parameters}
        retries = self.spec.max_retries if max_retries is None else max_retries
        last_attempt = _AttemptClock()
        try:
            result, attempts = await call_with_retries(
                functools.partial(self._tracked, [dict(m) for m in messages], params, last_attempt),
                max_retries=retries,
            )
        except ModelCallError as exc:
            self.metrics.record_call(
                self.name,
                latency=last_attempt.seconds(),
                prompt_tokens=0,
                completion_tokens=0,
                retries=max(exc.attempts - 1, 0),
                error=exc.kind,
            )
            raise
        self.metrics.record_call(
            self.name,
            latency=result.latency,
            prompt_tokens=result.prompt_tokens,
            completion_tokens=result.completion_tokens,
            retries=attempts - 1,
        )
        return result if attempts == 1 else replace(result, attempts=attempts)

    async def _tracked(
        self, messages: list[dict[str, Any]], params: dict[str, Any], clock: _AttemptClock
    ) -> ChatResult:
        """One attempt, its outcome reported to the backend (AIMD, breaker, token budget)."""
        clock.start()
        try:
            result = await self._attempt(messages, params)
        except RetryableModelError as exc:
            self.metrics.record_attempt_error(self.name, exc.kind)
            if exc.status == 429:
                self.backend.record_rate_limited()
            else:
                self.backend.record_failure()
            raise
        except ModelCallError as exc:
            self.metrics.record_attempt_error(self.name, exc.kind)
            raise
        self.backend.record_success()
        if self.backend.tpm:
            used = result.prompt_tokens + result.completion_tokens
            self.backend.used_tokens(_estimate_tokens(messages, params), used)
        return result

    def _slot(self, messages: list[dict[str, Any]], params: dict[str, Any]) -> Any:
        """The backend slot one attempt holds (circuit, budgets, then concurrency)."""
        estimate = _estimate_tokens(messages, params) if self.backend.tpm else 0
        return self.backend.slot(estimate)

    async def _attempt(self, messages: list[dict[str, Any]], params: dict[str, Any]) -> ChatResult:
        """Send one request inside :meth:`_slot`; ``latency`` excludes the wait for it."""
        raise NotImplementedError

    async def aclose(self) -> None:
        """Release connections (nothing to do for stateless transports)."""
