"""The litellm transport: the route to every provider litellm supports."""

from __future__ import annotations

import functools
import os
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import anyio
import anyio.to_thread
import sniffio

from grasp_core.errors import ModelCallError, RetryableModelError
from grasp_core.plugin import ModelSpec
from grasp_nodes.clients.base import KEYLESS_API_KEYS, ChatResult, RetryingClient
from grasp_nodes.clients.errors import map_litellm_error

__all__ = [
    "LiteLLMClient",
    "call_litellm",
    "import_litellm",
    "litellm_arguments",
    "load_litellm",
]


@functools.cache
def import_litellm() -> Any:
    """Import litellm once, configured for offline, single-retry-policy use."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("LITELLM_LOG", "ERROR")
    import litellm

    litellm.suppress_debug_info = True
    litellm.telemetry = False
    litellm.num_retries = 0
    litellm.drop_params = True
    return litellm


async def load_litellm() -> Any:
    """:func:`import_litellm` from async code: the first time in a worker thread, since the
    import takes seconds that would stall every record on the event loop. Deferred to the
    first call that needs litellm, so a run whose calls the response cache answers never
    imports it; concurrent first calls all wait on Python's import lock for the one import."""
    if import_litellm.cache_info().currsize:
        return import_litellm()
    return await anyio.to_thread.run_sync(import_litellm)


def litellm_arguments(
    spec: ModelSpec, api_key: str | None, request: Mapping[str, Any]
) -> dict[str, Any]:
    """litellm's keyword arguments for one request of ``spec``'s entry: its route, endpoint,
    key, timeout and no retries of litellm's own (ours apply), then ``request`` over them,
    then the entry's ``api_version`` when it sets one."""
    kwargs: dict[str, Any] = {
        "model": spec.model,
        "api_base": spec.api_base,
        # keyless local servers: litellm's openai/azure routes refuse to send without one
        "api_key": api_key or KEYLESS_API_KEYS.get(spec.provider),
        "timeout": spec.timeout,
        "max_retries": 0,
        **request,
    }
    if spec.api_version is not None:
        kwargs["api_version"] = spec.api_version
    return kwargs


async def call_litellm(
    operation: str, kwargs: Mapping[str, Any], *, model: str, seconds: float
) -> Any:
    """``litellm.a{operation}(**kwargs)`` (``completion``, ``embedding``, ``speech``...); under
    trio, whose loop litellm's HTTP stack cannot use, the sync ``litellm.{operation}`` in a
    worker thread. Given up after ``seconds`` + 5 (the entry's timeout, which litellm
    enforces, and a margin); errors mapped by
    :func:`map_litellm_error`."""
    litellm = await load_litellm()
    call: Callable[[], Awaitable[Any]]
    if sniffio.current_async_library() == "asyncio":
        call = functools.partial(getattr(litellm, f"a{operation}"), **kwargs)
    else:
        sync = functools.partial(getattr(litellm, operation), **kwargs)
        call = functools.partial(anyio.to_thread.run_sync, sync, abandon_on_cancel=True)
    try:
        with anyio.fail_after(seconds + 5):
            return await call()
    except TimeoutError as exc:
        raise RetryableModelError(
            f"model {model!r}: request timed out after {seconds + 5:.0f}s", status=408
        ) from exc
    except ModelCallError:
        raise
    except Exception as exc:
        raise map_litellm_error(exc, model=model) from exc


class LiteLLMClient(RetryingClient):
    """Chat completions through litellm, one instance per model entry.

    Under asyncio it awaits ``litellm.acompletion``; under trio (litellm's HTTP stack is
    asyncio-only) it runs the synchronous ``litellm.completion`` in a worker thread.
    """

    async def _attempt(self, messages: list[dict[str, Any]], params: dict[str, Any]) -> ChatResult:
        kwargs = litellm_arguments(self.spec, self._api_key, {"messages": messages, **params})
        if params.get("tools"):
            # litellm 1.106 imports its MCP gateway (the optional `mcp` package) whenever
            # `tools` are sent; plain function tools never need it. litellm pops this flag.
            kwargs["_skip_mcp_handler"] = True
        await load_litellm()  # before the slot: its seconds are not the request's
        async with self._slot(messages, params):
            response = await call_litellm(
                "completion", kwargs, model=self.name, seconds=self.spec.timeout
            )
        if not getattr(response, "choices", None):
            raise RetryableModelError(f"model {self.name!r}: the response has no choices")
        return _to_result(response, self.name)


def _to_result(response: Any, name: str) -> ChatResult:
    choice = response.choices[0]
    message = choice.message
    usage = getattr(response, "usage", None)
    tool_calls = [
        call.model_dump() if hasattr(call, "model_dump") else dict(call)
        for call in (getattr(message, "tool_calls", None) or [])
    ]
    return ChatResult(
        text=message.content or "",
        model=name,
        prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
        completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
        finish_reason=getattr(choice, "finish_reason", None),
        tool_calls=tool_calls,
    )
