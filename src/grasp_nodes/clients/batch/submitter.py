"""The Files and Batch API calls of one model entry, over httpx.

httpx rather than the chat fast lane's aiohttp, because httpx runs under asyncio and trio
alike and these calls are few (an upload, a create and a poll every few seconds per batch
of up to 50,000 requests). Not litellm's batch functions: measured against the mock
(``benchmarks/bench_batch_parked.py --polls``), a poll costs about 1 ms of CPU here and
about 60 ms through ``litellm.aretrieve_batch``, which also needs litellm's import (seconds).

OpenAI-compatible routes (``openai/``, ``hosted_vllm/``) call ``{api_base}/files`` and
``{api_base}/batches``; Azure calls ``{api_base}/openai/files?api-version=...``. Transient
failures (429, 5xx, timeouts, dropped connections) are retried by the clients' one policy
(:func:`call_with_retries`); errors are mapped by :func:`error_for_status`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import anyio
import httpx

from grasp_core.errors import ModelCallError, RetryableModelError
from grasp_core.plugin import ModelSpec, redact
from grasp_nodes.clients.base import KEYLESS_API_KEYS
from grasp_nodes.clients.errors import error_for_status
from grasp_nodes.clients.retry import backoff_seconds, call_with_retries

__all__ = ["BatchSubmitter", "UnknownOutcomeError", "batch_url"]

_OPENAI_BASE = "https://api.openai.com/v1"
_AZURE_VERSION = "2024-10-21"


def batch_url(spec: ModelSpec) -> str:
    """The ``url`` each line of ``spec``'s batch files names (and the batch's endpoint)."""
    return "/chat/completions" if spec.provider == "azure" else "/v1/chat/completions"


class UnknownOutcomeError(RetryableModelError):
    """A create's answer was lost and the lookup that would tell whether the batch was made
    failed too: the file's batch may exist (and be paid for), so nothing may create another
    from it until a lookup answers."""


class BatchSubmitter:
    """Uploads batch files, creates, polls and cancels batches, downloads their files."""

    def __init__(self, name: str, spec: ModelSpec, api_key: str | None) -> None:
        self.name = name
        self.spec = spec
        key = api_key or KEYLESS_API_KEYS.get(spec.provider)
        base = (spec.api_base or _OPENAI_BASE).rstrip("/")
        self._params: dict[str, str] = {}
        if spec.provider == "azure":
            self._base = base + "/openai"
            self._params["api-version"] = spec.api_version or _AZURE_VERSION
            self._headers = {"api-key": key} if key else {}
        else:
            self._base = base
            self._headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._client: httpx.AsyncClient | None = None

    async def upload(self, data: bytes) -> str:
        """Upload a batch input file; its id."""
        files = {"file": ("batch.jsonl", data, "application/jsonl")}
        reply = await self._json("POST", "files", data={"purpose": "batch"}, files=files)
        return str(reply["id"])

    async def create(self, file_id: str, window: str) -> dict[str, Any]:
        """Create a batch from an uploaded file, at most once. A create whose answer is lost
        (a timeout, a dropped connection, a 5xx) may have made the batch all the same, so
        before each new try the batch made of ``file_id`` is looked up (:meth:`find`);
        when that lookup fails too, :class:`UnknownOutcomeError` is raised."""
        body = {"input_file_id": file_id, "endpoint": batch_url(self.spec)}
        body["completion_window"] = window
        tries = 0
        while True:
            tries += 1
            try:
                return await self._json("POST", "batches", retries=0, json=body)
            except RetryableModelError as exc:
                try:
                    found = await self.find(file_id)
                except ModelCallError as lookup:
                    message = (
                        f"model {self.name!r}: the answer to creating a batch of {file_id} "
                        f"was lost ({exc}) and looking it up failed ({lookup})"
                    )
                    raise UnknownOutcomeError(message, status=exc.status) from lookup
                if found is not None:
                    return found
                if tries > self.spec.max_retries:
                    raise
                await anyio.sleep(backoff_seconds(exc, tries))

    async def retrieve(self, batch_id: str) -> dict[str, Any]:
        return await self._json("GET", f"batches/{batch_id}")

    async def cancel(self, batch_id: str) -> dict[str, Any]:
        return await self._json("POST", f"batches/{batch_id}/cancel")

    async def find(self, file_id: str) -> dict[str, Any] | None:
        """The batch made from ``file_id``, if any (newest first, page by page)."""
        after: str | None = None
        while True:
            query = {"limit": "100", **({"after": after} if after else {})}
            page = await self._json("GET", "batches", params=query)
            for batch in page.get("data") or []:
                if batch.get("input_file_id") == file_id:
                    return dict(batch)
            after = page.get("last_id")
            if not page.get("has_more") or not after:
                return None

    async def content(self, file_id: str) -> bytes:
        """The bytes of an output or error file."""
        return await self._send("GET", f"files/{file_id}/content")

    async def _json(
        self, method: str, path: str, *, retries: int | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        raw = await self._send(method, path, retries=retries, **kwargs)
        try:
            reply = json.loads(raw)
        except ValueError as exc:
            raise RetryableModelError(f"model {self.name!r}: {path} answered non-JSON") from exc
        if not isinstance(reply, dict):
            raise RetryableModelError(f"model {self.name!r}: {path} answered {reply!r}")
        return reply

    async def _send(
        self, method: str, path: str, *, retries: int | None = None, **kwargs: Any
    ) -> bytes:
        params = {**self._params, **kwargs.pop("params", {})}

        async def attempt() -> bytes:
            client = self._open()
            url = f"{self._base}/{path}"
            try:
                resp = await client.request(method, url, params=params, **kwargs)
            except httpx.TimeoutException as exc:
                raise RetryableModelError(
                    f"model {self.name!r}: {method} {path} timed out", status=408
                ) from exc
            except httpx.HTTPError as exc:
                raise RetryableModelError(
                    f"model {self.name!r}: {method} {path} failed ({type(exc).__name__})",
                    kind="connection",
                ) from exc
            if resp.status_code >= 400:
                message = f"{method} {path}: {_message(resp.content)}"
                raise error_for_status(
                    resp.status_code, message, model=self.name, headers=resp.headers
                )
            return resp.content

        tries = self.spec.max_retries if retries is None else retries
        result, _ = await call_with_retries(attempt, max_retries=tries)
        return result

    def _open(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(headers=self._headers, timeout=self.spec.timeout)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def _message(raw: bytes) -> str:
    try:
        error = json.loads(raw).get("error")
    except (ValueError, AttributeError):
        return redact(raw.decode("utf-8", "replace"))[:200]
    if isinstance(error, Mapping):
        return str(error.get("message", error))
    return str(error)
