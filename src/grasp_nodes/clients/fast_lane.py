"""The fast lane: chat completions for OpenAI-compatible routes, without litellm.

litellm spends ~5 ms of CPU per call (cost tables, logging); a raw aiohttp request costs
~0.3 ms. For routes that speak the OpenAI chat API unchanged (``openai/``, ``hosted_vllm/``,
``azure/``) this transport sends the same URL, headers and body that litellm
would, parses the same fields, and maps errors through the same function, so retries and
results are identical. An ``https://`` endpoint is called over one aiohttp session, an
``http://`` one (a local server) over :class:`~grasp_nodes.clients.plain_http.PlainHttpPool`,
which skips aiohttp's import and most of its per-request CPU. Both are asyncio-only: under
trio calls go through litellm.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import anyio
import sniffio

from grasp_core.errors import ModelCallError, RetryableModelError
from grasp_core.plugin import ModelSpec, compact_encoder, redact
from grasp_nodes.clients.base import KEYLESS_API_KEYS, ChatResult, RetryingClient
from grasp_nodes.clients.errors import error_for_status
from grasp_nodes.clients.litellm_client import LiteLLMClient
from grasp_nodes.clients.plain_http import PlainHttpPool

if TYPE_CHECKING:  # imported at the first call (a rerun from the cache never needs it)
    import aiohttp

__all__ = [
    "FAST_LANE_PROVIDERS",
    "FastLaneClient",
    "encode_body",
    "fast_lane_supports",
    "parse_completion",
    "post_request",
]

FAST_LANE_PROVIDERS = frozenset({"openai", "hosted_vllm", "azure"})
"""Routes whose request body litellm sends unchanged. Mistral is not among them: litellm
renames parameters for it (``seed`` → ``random_seed``...), so it stays on litellm."""
_DEFAULT_BASES = {"openai": "https://api.openai.com/v1"}

encode_body = compact_encoder()
"""A request's JSON body, compact (``json.dumps(body, separators=(",", ":"))``), with its
encoder built once: every call encodes one."""


def fast_lane_supports(spec: ModelSpec) -> bool:
    """True when ``spec`` may use the fast lane (an OpenAI-compatible route, not forced off)."""
    if spec.transport != "auto" or spec.provider not in FAST_LANE_PROVIDERS:
        return False
    return spec.api_base is not None or spec.provider in _DEFAULT_BASES


class LaneSession:
    """The aiohttp session of one models-file entry: opened at its first request (aiohttp is
    imported then), its connection pool sized to the entry's concurrency."""

    def __init__(self, max_concurrency: int) -> None:
        self._limit = max_concurrency
        self._session: Any = None

    def get(self) -> Any:
        """The session, opened now if it is not yet."""
        if self._session is None:
            import aiohttp

            connector = aiohttp.TCPConnector(limit=self._limit, keepalive_timeout=30)
            self._session = aiohttp.ClientSession(connector=connector)
        return self._session

    async def aclose(self) -> None:
        """Release the connections."""
        if self._session is not None:
            await self._session.close()
            self._session = None


class FastLaneClient(RetryingClient):
    """One connection pool per model entry (aiohttp's for ``https://``, a plain one for
    ``http://``), sized to the backend's concurrency."""

    def __init__(self, *args: Any, fallback: LiteLLMClient, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._fallback = fallback
        self._session = LaneSession(self.spec.max_concurrency)
        self._url, self._headers = _endpoint(self.spec, self._api_key)
        self._plain = None
        if self._url.startswith("http://"):
            self._plain = PlainHttpPool(self._url, self._headers, limit=self.spec.max_concurrency)
        self._model_id = self.spec.model.split("/", 1)[1]

    async def _attempt(self, messages: list[dict[str, Any]], params: dict[str, Any]) -> ChatResult:
        if sniffio.current_async_library() != "asyncio":
            return await self._fallback._attempt(messages, params)
        body = encode_body({"model": self._model_id, "messages": messages, **params})
        async with self._slot(messages, params):
            status, headers, raw = await self._post(body)
        if status >= 400:
            raise error_for_status(status, _error_message(raw), model=self.name, headers=headers)
        return parse_completion(raw, self.name)

    async def _post(self, body: str) -> tuple[int, Mapping[str, str], bytes]:
        seconds = self.spec.timeout
        if self._plain is None:
            session = self._session.get()
            return await post_request(
                session, self._url, body, self._headers, model=self.name, seconds=seconds
            )
        reply = await self._plain.post(body.encode(), model=self.name, seconds=seconds)
        return reply.status, reply.headers, reply.body

    async def aclose(self) -> None:
        await self._session.aclose()
        if self._plain is not None:
            await self._plain.aclose()


async def post_request(
    session: aiohttp.ClientSession,
    url: str,
    body: str | aiohttp.FormData,
    headers: Mapping[str, str],
    *,
    model: str,
    seconds: float,
) -> tuple[int, Mapping[str, str], bytes]:
    """POST ``body`` (JSON text, or a multipart form) and read the whole response: its
    status, headers and bytes. A request that takes over ``seconds``, or cannot connect,
    raises a retryable error."""
    import aiohttp  # in sys.modules once the session exists

    try:
        with anyio.fail_after(seconds):
            async with session.post(url, data=body, headers=headers) as resp:
                return resp.status, resp.headers, await resp.read()
    except TimeoutError as exc:
        raise RetryableModelError(
            f"model {model!r}: request timed out after {seconds:g}s", status=408
        ) from exc
    except aiohttp.ClientError as exc:
        raise RetryableModelError(
            f"model {model!r}: connection failed ({type(exc).__name__}: {exc})",
            kind="connection",
        ) from exc


def _endpoint(
    spec: ModelSpec, api_key: str | None, operation: str = "chat/completions"
) -> tuple[str, dict[str, str]]:
    """The URL of ``operation`` (``chat/completions``, ``embeddings``) and the headers."""
    base = (spec.api_base or _DEFAULT_BASES[spec.provider]).rstrip("/")
    headers = {"Content-Type": "application/json"}
    api_key = api_key or KEYLESS_API_KEYS[spec.provider]
    if spec.provider == "azure":
        deployment = spec.model.split("/", 1)[1]
        version = spec.api_version or "2024-10-21"
        url = f"{base}/openai/deployments/{deployment}/{operation}?api-version={version}"
        if api_key:
            headers["api-key"] = api_key
        return url, headers
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    return f"{base}/{operation}", headers


def _error_message(raw: bytes) -> str:
    try:
        error = json.loads(raw).get("error")
    except (ValueError, AttributeError):
        return redact(raw.decode("utf-8", "replace"))[:200]  # redact before cutting a key in two
    if isinstance(error, dict):
        return str(error.get("message", error))
    return str(error)


def parse_completion(raw: bytes, name: str) -> ChatResult:
    """A chat completion body as a :class:`ChatResult` (errors as the fast lane raises them)."""
    try:
        data = json.loads(raw, strict=False)  # a raw newline in a string is still readable
        choices = data.get("choices")
    except (ValueError, AttributeError) as exc:
        raise RetryableModelError(f"model {name!r}: the response is not JSON ({exc})") from exc
    if not choices:
        raise RetryableModelError(f"model {name!r}: the response has no choices")
    try:
        choice = choices[0]
        message = choice["message"]
        usage = data.get("usage") or {}
        return ChatResult(
            text=message.get("content") or "",
            model=name,
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            finish_reason=choice.get("finish_reason"),
            tool_calls=list(message.get("tool_calls") or []),
        )
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise ModelCallError(f"model {name!r}: unexpected response shape ({exc!r})") from exc
