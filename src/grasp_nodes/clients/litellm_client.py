"""The litellm transport: the route to every provider litellm supports."""

from __future__ import annotations

import functools
import os
from typing import Any

import anyio
import anyio.to_thread
import sniffio

from grasp_core.errors import ModelCallError, RetryableModelError
from grasp_nodes.clients.base import KEYLESS_API_KEYS, ChatResult, RetryingClient
from grasp_nodes.clients.errors import map_litellm_error

__all__ = ["LiteLLMClient", "import_litellm"]


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


class LiteLLMClient(RetryingClient):
    """Chat completions through litellm, one instance per model entry.

    Under asyncio it awaits ``litellm.acompletion``; under trio (litellm's HTTP stack is
    asyncio-only) it runs the synchronous ``litellm.completion`` in a worker thread.
    """

    async def _attempt(self, messages: list[dict[str, Any]], params: dict[str, Any]) -> ChatResult:
        litellm = import_litellm()
        kwargs: dict[str, Any] = {
            "model": self.spec.model,
            "messages": messages,
            "api_base": self.spec.api_base,
            # keyless local servers: litellm's openai/azure routes refuse to send without one
            "api_key": self._api_key or KEYLESS_API_KEYS.get(self.spec.provider),
            "timeout": self.spec.timeout,
            "max_retries": 0,
            **params,
        }
        if self.spec.api_version is not None:
            kwargs["api_version"] = self.spec.api_version
        if params.get("tools"):
            # litellm 1.106 imports its MCP gateway (the optional `mcp` package) whenever
            # `tools` are sent; plain function tools never need it. litellm pops this flag.
            kwargs["_skip_mcp_handler"] = True
        async with self._slot(messages, params):
            try:
                with anyio.fail_after(self.spec.timeout + 5):
                    if sniffio.current_async_library() == "asyncio":
                        response = await litellm.acompletion(**kwargs)
                    else:
                        response = await anyio.to_thread.run_sync(
                            functools.partial(litellm.completion, **kwargs),
                            abandon_on_cancel=True,
                        )
            except TimeoutError as exc:
                raise RetryableModelError(
                    f"model {self.name!r}: request timed out after {self.spec.timeout + 5:.0f}s",
                    status=408,
                ) from exc
            except ModelCallError:
                raise
            except Exception as exc:
                raise map_litellm_error(exc, model=self.name) from exc
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
