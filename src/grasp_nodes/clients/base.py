"""The model-client interface, and the retrying base every transport shares.

Transports differ only in how one attempt is sent (:meth:`RetryingClient._attempt`); the
retry policy, the backend limiter, the checks on replies (:mod:`.replies`) and the metrics
are the same for all of them, so a run behaves identically whichever transport carries its
calls. The metrics split a call's time: each request's seconds on the wire (inside its
backend slot), and the rest, mostly waiting (for the breaker, budgets, a slot, backoff).
"""

from __future__ import annotations

import functools
import json.encoder
import math
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from grasp_core.errors import ModelCallError, RejectedRequestError, RetryableModelError
from grasp_core.plugin import (
    Backend,
    CacheMode,
    ModelSpec,
    RequestKeys,
    ResponseCache,
    RunMetrics,
    compact_encoder,
    get_logger,
    report_model_call,
)
from grasp_nodes.clients.entry import EntryClient
from grasp_nodes.clients.rejected import explain_rejection
from grasp_nodes.clients.replies import (
    ReplyDefect,
    ReplyPolicy,
    defect_error,
    defect_hint,
    reply_defect,
)
from grasp_nodes.clients.retry import call_with_retries
from grasp_nodes.clients.wire import (
    as_sent,
    prompt_token_estimate,
    request_parameters,
    wire_message,
)

__all__ = ["KEYLESS_API_KEYS", "ChatResult", "ModelClient", "PolicyClient", "RetryingClient"]

KEYLESS_API_KEYS = {"openai": "EMPTY", "azure": "EMPTY", "hosted_vllm": "fake-api-key"}
"""The key litellm sends when none is configured (local servers without auth); both
transports send it, so their requests stay identical."""


_log = get_logger(__name__)

_ENTRY_POLICY = ReplyPolicy()
_ENCODE_STORED = compact_encoder(ensure_ascii=False)
_quote: Callable[[str], str] = json.encoder.encode_basestring
"""A string as ``_ENCODE_STORED`` writes it."""
"""No choices of a node's own: the model entry's."""


def _estimate_tokens(messages: list[dict[str, Any]], params: Mapping[str, Any]) -> int:
    """A request's token cost before the reply: its prompt's estimate, plus the completion's
    cap (256 when none is set); corrected by the reply's usage."""
    cap = params.get("max_tokens") or params.get("max_completion_tokens") or 256
    return prompt_token_estimate(messages) + int(cap)


class _CallLog:
    """One call's requests: seconds each spent on the wire, and the tokens of every reply
    (a reply asked again, or failed for being cut off, was still billed)."""

    __slots__ = ("completion_tokens", "prompt_tokens", "started", "wire")

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.wire: list[float] = []
        self.prompt_tokens = 0
        self.completion_tokens = 0

    def replied(self, result: ChatResult) -> None:
        self.prompt_tokens += result.prompt_tokens
        self.completion_tokens += result.completion_tokens

    def queued(self) -> float:
        """The call's seconds off the wire: waiting for the breaker, the budgets and a
        slot, backoff between attempts (and the little CPU around each request)."""
        return max(0.0, time.perf_counter() - self.started - math.fsum(self.wire))


_CALL_LOG: ContextVar[_CallLog | None] = ContextVar("grasp_call_log", default=None)
"""The call in progress in this task, where :meth:`RetryingClient._slot` logs wire time."""


@dataclass(slots=True)
class ChatResult:
    """One chat completion, whatever transport produced it.

    Not changed once made (``dataclasses.replace`` makes a changed copy); not frozen either,
    since a frozen dataclass costs about a microsecond more to make, and every call makes
    one (a rerun from the cache, two a record)."""

    text: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    attempts: int = 1

    @property
    def defect(self) -> ReplyDefect | None:
        """``truncated`` (cut off at the token limit), ``empty``, or None."""
        return reply_defect(self.text, self.finish_reason, self.tool_calls)

    def stored(self) -> dict[str, Any]:
        """What the response cache keeps: the reply and its usage, nothing of the request
        (what :meth:`restored` reads back)."""
        return {
            "text": self.text,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "finish_reason": self.finish_reason,
            "tool_calls": self.tool_calls,
        }

    def stored_json(self) -> str:
        """``stored()`` as the cache writes it (compact JSON, non-ASCII kept): the common
        reply (text, integer counts, no tool calls) spelt out, at a third of the encoder's
        cost, since every reply fetched while the cache is on is stored."""
        text, finish, used, made = (
            self.text,
            self.finish_reason,
            self.prompt_tokens,
            self.completion_tokens,
        )
        if (
            self.tool_calls
            or type(text) is not str
            or type(used) is not int
            or type(made) is not int
            or (finish is not None and type(finish) is not str)
        ):
            return _ENCODE_STORED(self.stored())
        reason = "null" if finish is None else _quote(finish)
        return (
            f'{{"text":{_quote(text)},"prompt_tokens":{used},"completion_tokens":{made},'
            f'"finish_reason":{reason},"tool_calls":[]}}'
        )

    @classmethod
    def restored(cls, stored: Mapping[str, Any], model: str) -> ChatResult | None:
        """A cached reply as ``model``'s result (None for an entry of another shape)."""
        try:  # positional: a rerun restores every reply, and keywords cost more
            return cls(
                stored["text"],
                model,
                stored["prompt_tokens"],
                stored["completion_tokens"],
                stored["finish_reason"],
                stored["tool_calls"],
            )
        except (KeyError, TypeError):
            return None


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

        ``parameters`` go into the request body over the model entry's (``tools``,
        ``tool_choice``, ``response_format``...; see :func:`request_parameters`);
        ``max_retries`` overrides the model entry's for this call.
        """
        ...


class RetryingClient(EntryClient):
    """Retries, limiter and metrics around a transport's single attempt."""

    def __init__(
        self,
        name: str,
        spec: ModelSpec,
        *,
        api_key: str | None,
        backend: Backend,
        metrics: RunMetrics,
        cache: ResponseCache | None = None,
        cache_endpoint: str | None = None,
    ) -> None:
        super().__init__(name, spec, api_key=api_key, backend=backend, metrics=metrics)
        self.cache = cache
        self.cache_endpoint = cache_endpoint if cache_endpoint is not None else spec.api_base
        """The endpoint the cache key names (the mock's changing URL is one name)."""
        self._keys = RequestKeys(
            route=spec.model, api_base=self.cache_endpoint, api_version=spec.api_version
        )
        """The cache key's part that is the same for every call of this client."""
        self._rejection_logged = False

    async def chat(
        self,
        messages: Sequence[Mapping[str, Any]],
        parameters: Mapping[str, Any],
        *,
        max_retries: int | None = None,
        replies: ReplyPolicy | None = None,
        cache: CacheMode | None = None,
    ) -> ChatResult:
        """:meth:`ModelClient.chat`; ``replies`` overrides the model entry's ``on_truncated``
        and ``on_empty`` for this call, ``cache`` its cache mode (a node's own choices, see
        :class:`PolicyClient`). A request the response cache holds is answered from it,
        with no slot, budget or backend call; a fresh reply is stored once it is accepted
        (failed calls, and replies failed or retried for being cut off or empty, never)."""
        started = time.perf_counter()
        params = request_parameters(self.spec.parameters, parameters)
        policy = replies or _ENTRY_POLICY
        store = self.cache
        key = None
        if store is not None:
            sent = as_sent(messages)
            key = self._keys.key(sent, params, cache or self.spec.cache)
            if key is not None:
                cached = self._cached(store, key, policy)
                if cached is not None:
                    report_model_call(self.name, sent, params, cached, started=started, cached=True)
                    return cached
        wired = [wire_message(m) for m in messages]  # copies: a transport may change them
        result = await self._call(wired, params, policy, max_retries)
        report_model_call(self.name, wired, params, result, started=started)
        if key is not None and store is not None:
            store.put_json(key, result.stored_json())
        return result

    def _cached(self, cache: ResponseCache, key: str, policy: ReplyPolicy) -> ChatResult | None:
        """The stored reply for ``key``, unless this call's policy would not keep it (a
        reply kept cut off by an earlier run is asked again when the node now fails or
        retries those); counts the hit or the miss."""
        stored = cache.get(key)
        result = ChatResult.restored(stored, self.name) if stored is not None else None
        defect = result.defect if result is not None else None
        if defect is not None and policy.action(defect, self.spec) != "keep":
            result = None
        if result is None:
            self.metrics.record_cache(self.name, hit=False)
            return None
        self.metrics.record_cache(
            self.name,
            hit=True,
            prompt_tokens=result.prompt_tokens,
            completion_tokens=result.completion_tokens,
        )
        return result

    async def _call(
        self,
        wired: list[dict[str, Any]],
        params: dict[str, Any],
        policy: ReplyPolicy,
        max_retries: int | None,
    ) -> ChatResult:
        """The call to the backend, with its retries, counted in the metrics."""
        retries = self.spec.max_retries if max_retries is None else max_retries
        log = _CallLog()
        attempt = functools.partial(self._tracked, wired, params, policy, log)
        token = _CALL_LOG.set(log)
        try:
            result, attempts = await call_with_retries(attempt, max_retries=retries)
        except ModelCallError as exc:
            if isinstance(exc, RejectedRequestError):
                self._explain(exc, params)
            elif (hint := defect_hint(exc.kind)) is not None:
                exc.args = (f"{exc}; {hint}",)
            self._record(log, retries=max(exc.attempts - 1, 0), error=exc.kind)
            raise
        finally:
            _CALL_LOG.reset(token)
        self._record(log, retries=attempts - 1)
        return result if attempts == 1 else replace(result, attempts=attempts)

    def _record(self, log: _CallLog, *, retries: int, error: str | None = None) -> None:
        self.metrics.record_call(
            self.name,
            wire=log.wire,
            queued=log.queued(),
            prompt_tokens=log.prompt_tokens,
            completion_tokens=log.completion_tokens,
            retries=retries,
            error=error,
        )

    def _explain(self, exc: RejectedRequestError, params: Mapping[str, Any]) -> None:
        """Make a refused request's error say what to change; warn once per model and run
        (every record that meets the refusal still fails with the explanation)."""
        exc.args = (
            explain_rejection(str(exc), params, model=self.name, api_base=self.spec.api_base),
        )
        if not self._rejection_logged:
            self._rejection_logged = True
            _log.warning("server rejects requests", model=self.name, error=str(exc))

    async def _tracked(
        self,
        messages: list[dict[str, Any]],
        params: dict[str, Any],
        replies: ReplyPolicy,
        log: _CallLog,
    ) -> ChatResult:
        """One attempt, its outcome reported to the backend (AIMD, breaker, token budget);
        a reply cut off or empty is counted, then kept, failed or retried per ``replies``
        (the server answered, so the breaker counts it a success)."""
        try:
            result = await self._attempt(messages, params)
        except RetryableModelError as exc:
            self.metrics.record_attempt_error(self.name, exc.kind)
            self._report_failure(exc)
            raise
        except ModelCallError as exc:
            self.metrics.record_attempt_error(self.name, exc.kind)
            raise
        self.backend.record_success()
        if self.backend.tpm:
            used = result.prompt_tokens + result.completion_tokens
            self.backend.used_tokens(_estimate_tokens(messages, params), used)
        log.replied(result)
        defect = result.defect
        if defect is not None:
            self.metrics.record_reply(self.name, defect)
            action = replies.action(defect, self.spec)
            if action != "keep":
                self.metrics.record_attempt_error(self.name, defect)
                node = self.metrics.calling_node()
                raise defect_error(defect, action, model=self.name, node=node, params=params)
        return result

    @asynccontextmanager
    async def _slot(
        self, messages: list[dict[str, Any]], params: dict[str, Any]
    ) -> AsyncIterator[None]:
        """The backend slot one attempt holds (circuit, budgets, then concurrency); the
        time inside it, the request on the wire, is logged for the call in progress."""
        estimate = _estimate_tokens(messages, params) if self.backend.tpm else 0
        async with self.backend.slot(estimate):
            sent = time.perf_counter()
            try:
                yield
            finally:
                log = _CALL_LOG.get()
                if log is not None:
                    log.wire.append(time.perf_counter() - sent)

    async def _attempt(self, messages: list[dict[str, Any]], params: dict[str, Any]) -> ChatResult:
        """Send one request inside :meth:`_slot` (whose time is the call's wire time)."""
        raise NotImplementedError

    async def aclose(self) -> None:
        """Release connections (nothing to do for stateless transports)."""


@dataclass(frozen=True, slots=True)
class PolicyClient:
    """A model's client whose calls follow a node's own ``on_truncated``/``on_empty`` and
    cache mode (the connections, limiter and metrics stay the shared client's)."""

    client: RetryingClient
    replies: ReplyPolicy
    cache: CacheMode | None = None

    async def chat(
        self,
        messages: Sequence[Mapping[str, Any]],
        parameters: Mapping[str, Any],
        *,
        max_retries: int | None = None,
    ) -> ChatResult:
        return await self.client.chat(
            messages, parameters, max_retries=max_retries, replies=self.replies, cache=self.cache
        )
