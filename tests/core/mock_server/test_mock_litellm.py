"""litellm's OpenAI provider reads the mock server's answers: echoed text, usage, tool calls."""

from __future__ import annotations

import os

import pytest

from grasp_core.mock_server import MockServer
from tests.core.mock_server.helpers import TOOLS, user

os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"  # before litellm is first imported


@pytest.mark.anyio
async def test_litellm_acompletion_reads_echo_and_usage(server: MockServer) -> None:
    """litellm's OpenAI provider gets the echoed content and word usage from the mock."""
    import litellm

    response = await litellm.acompletion(
        model="openai/mock-model",
        api_base=server.url + "/v1",
        api_key="sk-mock",
        messages=user("hello from litellm"),
        max_retries=0,
    )
    assert response.choices[0].message.content == "hello from litellm"
    assert response.usage.prompt_tokens == 3
    assert response.usage.completion_tokens == 3


@pytest.mark.anyio
async def test_litellm_reads_tool_calls(server: MockServer) -> None:
    """litellm's OpenAI provider parses the mock's tool calls."""
    import litellm

    response = await litellm.acompletion(
        model="openai/mock-model",
        api_base=server.url + "/v1",
        api_key="sk-mock",
        messages=user('[[mock:call:add {"a": 1}]]'),
        tools=TOOLS,
        max_retries=0,
        _skip_mcp_handler=True,  # litellm 1.106 otherwise imports its MCP gateway (needs `mcp`)
    )
    (call,) = response.choices[0].message.tool_calls
    assert (call.id, call.function.name, call.function.arguments) == ("call_0", "add", '{"a": 1}')
    assert response.choices[0].finish_reason == "tool_calls"
