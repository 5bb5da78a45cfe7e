"""The agent against a server that behaves like llama.cpp's (the mock's `like="llamacpp"`):
tool-call turns go out with `content: ""`, tools with `tool_choice`, and tool arguments with
bare newlines in their strings are read."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from grasp_core import ConfigError, RunOptions, run_task_async
from grasp_core.mock_server import MockServer
from grasp_nodes.agent.tools import tool_from_callable
from tests.nodes.agent.helpers import agent_task, by_id, failures, tool_messages

pytestmark = pytest.mark.anyio

SUM = 'sum [[mock:call:add {"a": 1, "b": 2}]]'


@pytest.fixture(params=["auto", "litellm"])
def transport(request: pytest.FixtureRequest) -> str:
    """Both transports: the fast lane (auto) and litellm."""
    return str(request.param)


@pytest.fixture(
    params=[{"like": "llamacpp"}, {"reject_null_content": True}, {"tools_need_choice": True}],
    ids=["llamacpp", "reject_null_content", "tools_need_choice"],
)
def server(request: pytest.FixtureRequest) -> Iterator[MockServer]:
    """A mock with llama.cpp's quirks, all or one at a time; request bodies are logged."""
    mock = MockServer(log_bodies=True, max_seconds=600, **request.param)
    with mock.running():
        yield mock


async def test_an_agent_loop_runs_against_a_llamacpp_like_server(
    tmp_path: Path, server: MockServer, transport: str
) -> None:
    """The tool is called and its result answered: the request offering tools carries
    `tool_choice: "auto"` and the assistant tool-call turn sent back has `content: ""`."""
    task = agent_task(tmp_path, [SUM], transport, retry={"max_retries": 0})
    result = await run_task_async(task, RunOptions(mock=server.url, output_dir=tmp_path / "o"))
    assert result.done == 1, failures(result)
    assert by_id(result)[0]["agent"] == "tool results: 3"
    first, second = (entry["body"] for entry in server.requests())
    assert (first["tool_choice"], second["tool_choice"]) == ("auto", "auto")
    (turn,) = [m for m in second["messages"] if m["role"] == "assistant"]
    assert turn["content"] == ""
    assert turn["tool_calls"][0]["function"]["name"] == "add"


async def test_a_tool_choice_in_the_parameters_is_sent_as_set(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """A node that sets tool_choice keeps it: "none" is sent, and the model answers text."""
    mock_server.reset()
    model = {"name": "m", "parameters": {"tool_choice": "none"}}
    task = agent_task(tmp_path, [SUM], "auto", model=model)
    result = await run_task_async(task, RunOptions(mock=mock_server.url, output_dir=tmp_path))
    assert result.done == 1, failures(result)
    assert by_id(result)[0]["agent"] == "sum"
    (request,) = mock_server.requests()
    assert [m["role"] for m in request["messages"]] == ["system", "user"]


async def test_tool_arguments_with_bare_newlines_reach_the_tool(
    tmp_path: Path, transport: str
) -> None:
    """Grammar-constrained servers put raw newlines inside argument strings; the arguments
    are read as `json.loads(..., strict=False)` reads them, newline included."""
    mock = MockServer(raw_newlines=True, max_seconds=600)
    with mock.running():
        task = agent_task(tmp_path, [r'[[mock:call:boom {"reason": "wet\nroad"}]]'], transport)
        result = await run_task_async(task, RunOptions(mock=mock.url, output_dir=tmp_path / "o"))
    assert result.done == 1, failures(result)
    assert tool_messages(by_id(result)[0]) == [
        "error: tool 'boom' raised ValueError: no luck: wet\nroad"
    ]


def test_parse_arguments_accepts_raw_control_characters_in_strings() -> None:
    """A bare newline or tab inside a JSON string is part of the value, not a JSON error."""

    def note(text: str) -> str:
        return text

    tool = tool_from_callable(note)
    assert tool.parse_arguments('{"text": "a\nb\tc"}') == {"text": "a\nb\tc"}


async def test_an_agent_refuses_a_model_with_schema_mode_tool(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """`schema_mode: tool` would replace the agent's tools with the schema's; the build says
    to use prompt mode on the node instead."""
    structured: dict[str, Any] = {"schema": {"fields": {"answer": "str"}}}
    task = agent_task(tmp_path, ["q"], "auto", structured_output=structured)
    models = (tmp_path / "models.yaml").read_text(encoding="utf-8")
    (tmp_path / "models.yaml").write_text(models + "  schema_mode: tool\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape("set `structured_output.mode: prompt`")):
        await run_task_async(task, RunOptions(mock=mock_server.url, output_dir=tmp_path))


async def test_a_structured_agent_answers_through_json_object_on_llamacpp(
    tmp_path: Path, transport: str
) -> None:
    """With `schema_mode: json_object` an agent with structured_output runs its tools and
    validates its final answer on a llama.cpp-like server (which refuses json_schema)."""
    mock = MockServer(like="llamacpp", max_seconds=600)
    structured: dict[str, Any] = {"schema": {"fields": {"total": "int", "note": "str"}}}
    task = agent_task(tmp_path, [SUM], transport, structured_output=structured)
    models = (tmp_path / "models.yaml").read_text(encoding="utf-8")
    (tmp_path / "models.yaml").write_text(models + "  schema_mode: json_object\n", "utf-8")
    with mock.running():
        result = await run_task_async(task, RunOptions(mock=mock.url, output_dir=tmp_path / "o"))
    assert result.done == 1, failures(result)
    record = by_id(result)[0]
    assert isinstance(record["agent"]["total"], int)
    assert tool_messages(record) == ["3"]
