"""Embeddings for a models-file entry: the ``grasp.embedders`` factory and the remote client.

:func:`open_embedder` picks the transport from the entry's route, as chat calls do: an
OpenAI-compatible route (``openai/``, ``hosted_vllm/``, ``azure/``) posts to its
``/embeddings`` endpoint over aiohttp (the fast lane), any other route goes through
litellm's ``aembedding`` (``transport: litellm`` forces it; so does trio, as aiohttp is
asyncio-only), and ``local/NAME`` runs a sentence-transformers model in this process (see
:mod:`.embeddings_local`). Texts are sent ``batch_size`` to a request, the requests at once
under the backend's limiter, each retried like a chat call (:func:`call_with_retries`,
errors mapped by the same functions), and counted in the run's metrics as calls of the
model with their prompt tokens.

An ``embed`` call opens its own HTTP session and closes it before returning, so that a
caller may use the embedder from one event loop after another (``grasp curate`` awaits each
batch on a loop of its own).
"""

from __future__ import annotations

import base64
import functools
import json
import struct
import time
from collections.abc import Sequence
from typing import Any

import aiohttp
import anyio
import sniffio

from grasp_core.errors import ModelCallError, RetryableModelError
from grasp_core.plugin import Backend, BuildEnv, Embedder, ModelSpec, RunMetrics
from grasp_nodes.clients.entry import EntryClient
from grasp_nodes.clients.errors import error_for_status
from grasp_nodes.clients.fast_lane import (
    _endpoint,
    _error_message,
    fast_lane_supports,
    post_request,
)
from grasp_nodes.clients.litellm_client import call_litellm, litellm_arguments
from grasp_nodes.clients.retry import call_with_retries

__all__ = ["EMBEDDING_PARAMETERS", "RemoteEmbedder", "open_embedder"]

EMBEDDING_PARAMETERS = ("dimensions", "user")
"""The entry's ``parameters`` that an embeddings request sends (chat ones are left out, so
one entry can serve both)."""


def open_embedder(model: str, env: BuildEnv, *, batch_size: int = 64) -> Embedder:
    """The embedder of the models-file entry ``model`` (the ``grasp.embedders`` entry point
    ``default``); an unknown model, or a local one whose packages are missing, fails now."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size!r}")
    spec = env.models.get(model)
    if spec.provider == "local":
        from grasp_nodes.clients.embeddings_local import LocalEmbedder

        return LocalEmbedder.for_route(model, spec, env.models.base_dir, batch_size=batch_size)
    return RemoteEmbedder(
        model,
        spec,
        api_key=env.models.api_key(model, env.task_dir),
        backend=env.backends.backend(model),
        metrics=env.metrics,
        batch_size=batch_size,
    )


class RemoteEmbedder(EntryClient):
    """Embeddings from an endpoint, under the entry's backend limits and retries."""

    def __init__(
        self,
        name: str,
        spec: ModelSpec,
        *,
        api_key: str | None,
        backend: Backend,
        metrics: RunMetrics,
        batch_size: int = 64,
    ) -> None:
        super().__init__(name, spec, api_key=api_key, backend=backend, metrics=metrics)
        self.batch_size = batch_size
        self._fast = fast_lane_supports(spec)
        self._params = {k: v for k, v in spec.parameters.items() if k in EMBEDDING_PARAMETERS}
        self._url, self._headers = (
            _endpoint(spec, api_key, "embeddings") if self._fast else ("", {})
        )

    def __repr__(self) -> str:
        return f"RemoteEmbedder({self.name!r}, route={self.spec.model!r})"

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        batches = [texts[i : i + self.batch_size] for i in range(0, len(texts), self.batch_size)]
        vectors: list[list[list[float]]] = [[] for _ in batches]
        session = None
        if self._fast and sniffio.current_async_library() == "asyncio":
            connector = aiohttp.TCPConnector(limit=self.spec.max_concurrency)
            session = aiohttp.ClientSession(connector=connector)
        try:
            async with anyio.create_task_group() as group:
                for index, batch in enumerate(batches):
                    group.start_soon(self._call, batch, vectors, index, session)
        except BaseExceptionGroup as failed:
            # a request that failed for good cancelled the others: raise its error alone
            errors = failed.exceptions
            if all(isinstance(error, ModelCallError) for error in errors):
                raise errors[0] from None
            raise
        finally:
            if session is not None:
                await session.close()
        return [vector for batch in vectors for vector in batch]

    async def aclose(self) -> None:
        """Nothing to release: each ``embed`` closes its own session."""

    async def _call(
        self,
        texts: Sequence[str],
        into: list[list[list[float]]],
        index: int,
        session: aiohttp.ClientSession | None,
    ) -> None:
        """One request's texts, retried as a chat call is, counted as one call."""
        started = time.perf_counter()
        wire: list[float] = []
        tokens = [0]
        attempt = functools.partial(self._attempt, list(texts), session, wire, tokens)
        try:
            into[index], attempts = await call_with_retries(
                attempt, max_retries=self.spec.max_retries
            )
        except ModelCallError as exc:
            retries = max(exc.attempts - 1, 0)
            self._record_call(
                started, wire, retries=retries, error=exc.kind, prompt_tokens=tokens[0]
            )
            raise
        self._record_call(started, wire, retries=attempts - 1, error=None, prompt_tokens=tokens[0])

    async def _attempt(
        self,
        texts: list[str],
        session: aiohttp.ClientSession | None,
        wire: list[float],
        tokens: list[int],
    ) -> list[list[float]]:
        """One request inside a backend slot; its outcome is reported to the backend."""
        estimate = sum(len(text) for text in texts) // 4 + len(texts)
        async with self._reported_slot(wire, estimate if self.backend.tpm else 0):
            if session is not None:
                data = await self._post(session, texts)
            else:
                data = await self._litellm(texts)
        vectors, used = _vectors(data, len(texts), self.name)
        tokens[0] += used
        if self.backend.tpm:
            self.backend.used_tokens(estimate, used)
        return vectors

    async def _post(self, session: aiohttp.ClientSession, texts: list[str]) -> Any:
        body = json.dumps(
            {"model": self.spec.model.split("/", 1)[1], "input": texts, **self._params}
        )
        status, headers, raw = await post_request(
            session, self._url, body, self._headers, model=self.name, seconds=self.spec.timeout
        )
        if status >= 400:
            raise error_for_status(status, _error_message(raw), model=self.name, headers=headers)
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise RetryableModelError(f"model {self.name!r}: the response is not JSON") from exc

    async def _litellm(self, texts: list[str]) -> Any:
        kwargs = litellm_arguments(self.spec, self._api_key, {"input": texts, **self._params})
        response = await call_litellm(
            "embedding", kwargs, model=self.name, seconds=self.spec.timeout
        )
        return response.model_dump() if hasattr(response, "model_dump") else response


def _vectors(data: Any, count: int, name: str) -> tuple[list[list[float]], int]:
    """The vectors of an OpenAI embeddings response, in input order, and its prompt
    tokens; a response that does not hold one vector per input is retried."""
    try:
        items = sorted(data["data"], key=lambda item: int(item["index"]))
        vectors = [_vector(item["embedding"]) for item in items]
        usage = data.get("usage") or {}
        tokens = int(usage.get("prompt_tokens") or 0)
    except (KeyError, TypeError, ValueError, AttributeError, struct.error) as exc:
        raise RetryableModelError(
            f"model {name!r}: unexpected embeddings response ({type(exc).__name__}: {exc})"
        ) from exc
    if len(vectors) != count:
        raise RetryableModelError(
            f"model {name!r}: asked for {count} embeddings, the response holds {len(vectors)}"
        )
    if len({len(vector) for vector in vectors}) > 1:
        raise ModelCallError(f"model {name!r}: the response's vectors differ in length")
    return vectors, tokens


def _vector(value: Any) -> list[float]:
    """A vector as a list of floats, or base64 of little-endian float32 values."""
    if isinstance(value, str):
        raw = base64.b64decode(value)
        return list(struct.unpack(f"<{len(raw) // 4}f", raw))
    return [float(x) for x in value]
