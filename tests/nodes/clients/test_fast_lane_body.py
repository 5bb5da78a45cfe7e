"""The fast lane only takes routes whose body litellm sends unchanged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from grasp_core.models.backends import BackendPool
from grasp_core.models.catalog import ModelCatalog
from grasp_core.observe.metrics import RunMetrics
from grasp_core.protocols import BuildEnv
from grasp_nodes.clients import LiteLLMClient, client_for

pytestmark = pytest.mark.anyio

REPLY = {
    "id": "x",
    "object": "chat.completion",
    "created": 0,
    "model": "m",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}}],
    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
}


async def test_fast_lane_sends_the_same_body_as_litellm_for_mistral() -> None:
    """Mistral's body is rewritten by litellm (seed → random_seed...), so `transport: auto`
    must send exactly what `transport: litellm` sends."""
    bodies: list[dict[str, Any]] = []

    async def handler(request: web.Request) -> web.Response:
        bodies.append(json.loads(await request.read()))
        return web.json_response(REPLY)

    app = web.Application()
    app.router.add_post("/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    messages = [{"role": "user", "content": [{"type": "text", "text": "hello"}]}]
    params = {"seed": 3, "max_completion_tokens": 20}
    try:
        for transport in ("auto", "litellm"):
            entry = {"model": "mistral/m", "api_base": f"http://127.0.0.1:{port}/v1"}
            catalog = ModelCatalog.from_mapping(
                {"m": {**entry, "transport": transport}}, source="t"
            )
            env = BuildEnv(Path.cwd(), catalog, BackendPool(catalog), RunMetrics())
            client = client_for(env, "m")
            assert isinstance(client, LiteLLMClient)
            await client.chat(messages, params)
    finally:
        await runner.cleanup()
    fast, litellm = bodies
    assert fast == litellm
