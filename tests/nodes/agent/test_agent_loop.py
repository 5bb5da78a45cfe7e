"""The agent's tool-calling loop over real HTTP against the mock server, on both transports:
tools run concurrently and in worker threads, errors become tool messages, the step limit
fails the record, system messages are injected, and the transcript keeps every turn.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from grasp_core.mock_server import MockServer
from tests.nodes.agent.helpers import by_id, failures, run, tool_messages

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["auto", "litellm"])
def transport(request: pytest.FixtureRequest) -> str:
    """Every behaviour holds for both transports: the fast lane (auto) and litellm."""
    return str(request.param)


async def test_several_tool_calls_in_one_turn_run_concurrently(
    tmp_path: Path, mock_server: MockServer, transport: str
) -> None:
    """Two calls in one reply run at once: each tool waits for the other to have started."""
    result = await run(tmp_path, mock_server, ["[[mock:call:ping]] [[mock:call:pong]]"], transport)
    assert result.done == 1, failures(result)
    record = by_id(result)[0]
    assert record["agent"] == "tool results: ping saw pong; pong saw ping"
    assert tool_messages(record) == ["ping saw pong", "pong saw ping"]


async def test_sync_tool_runs_in_a_worker_thread(
    tmp_path: Path, mock_server: MockServer, transport: str
) -> None:
    """A plain function tool runs off the event loop's thread; its dict result is JSON."""
    result = await run(tmp_path, mock_server, ["where? [[mock:call:where]]"], transport)
    assert tool_messages(by_id(result)[0]) == ['{"worker_thread":true}']


async def test_a_tool_that_raises_becomes_an_error_message(
    tmp_path: Path, mock_server: MockServer, transport: str
) -> None:
    """An exception in a tool is shown to the model as the tool's result; the record succeeds."""
    question = 'try [[mock:call:boom {"reason": "rain"}]]'
    result = await run(tmp_path, mock_server, [question], transport)
    assert result.done == 1
    error = "error: tool 'boom' raised ValueError: no luck: rain"
    assert tool_messages(by_id(result)[0]) == [error]
    assert by_id(result)[0]["agent"] == f"tool results: {error}"


async def test_unknown_tools_and_bad_arguments_become_error_messages(
    tmp_path: Path, mock_server: MockServer, transport: str
) -> None:
    """An unknown tool, arguments of the wrong type and invalid JSON each answer an error."""
    question = (
        '[[mock:call:nothere {"a": 1}]] [[mock:call:add {"a": "x", "b": 1}]] '
        '[[mock:call:add {"a": 1}]] [[mock:call:add {oops]] [[mock:call:add {"a": 1, "b": 2}]]'
    )
    result = await run(tmp_path, mock_server, [question], transport)
    assert result.done == 1, failures(result)
    unknown, wrong_type, missing, not_json, fine = tool_messages(by_id(result)[0])
    assert unknown.startswith("error: unknown tool 'nothere'; available tools: add, boom, ping")
    assert wrong_type.startswith("error: invalid arguments for tool 'add': a: Input should be")
    assert missing.startswith("error: invalid arguments for tool 'add': b: Field required")
    assert not_json.startswith("error: the arguments for tool 'add' are not valid JSON")
    assert fine == "3"


async def test_the_step_limit_fails_the_record_with_a_reason(
    tmp_path: Path, mock_server: MockServer, transport: str
) -> None:
    """Without an answer after max_steps model calls the record fails, naming node and limit."""
    questions = ["plain question", 'sum [[mock:call:add {"a": 1, "b": 2}]]']
    result = await run(tmp_path, mock_server, questions, transport, max_steps=1)
    assert (result.done, result.failed) == (1, 1)
    (failure,) = failures(result)
    assert (failure["id"], failure["node"], failure["error"]) == ("1", "agent", "NodeError")
    assert "record '1', node 'agent': no final answer after max_steps=1" in failure["reason"]
    assert "raise max_steps" in failure["reason"]


async def test_system_messages_are_injected_before_their_turns(
    tmp_path: Path, mock_server: MockServer, transport: str
) -> None:
    """inject_system_messages adds each message right before the model call of its turn."""
    mock_server.reset()
    injected = {0: "turn zero for {q}", 1: "turn one"}
    question = 'sum [[mock:call:add {"a": 1, "b": 2}]]'
    result = await run(
        tmp_path, mock_server, [question], transport, max_steps=3, inject_system_messages=injected
    )
    assert result.done == 1, failures(result)
    sent = [
        [(m["role"], m.get("content")) for m in request["messages"]]
        for request in mock_server.requests()
    ]
    prompt = [("system", "be exact"), ("user", question), ("system", f"turn zero for {question}")]
    first_round = [("assistant", ""), ("tool", "3"), ("system", "turn one")]
    assert sent == [
        prompt,
        prompt + first_round,
        prompt + first_round + [("assistant", ""), ("tool", "3")],
    ]
    record = by_id(result)[0]
    assert record["agent"] == "tool results: 3"
    assert [m["role"] for m in record["agent_transcript"]] == [
        *(role for role, _ in sent[-1]),
        "assistant",
    ]


async def test_the_transcript_keeps_tool_calls_and_results_in_order(
    tmp_path: Path, mock_server: MockServer, transport: str
) -> None:
    """The transcript key holds the run's messages; `messages` gets the turns and the answer."""
    question = 'do [[mock:call:add {"a": 2, "b": 3}]] [[mock:call:where]]'
    result = await run(
        tmp_path,
        mock_server,
        [question],
        transport,
        output_keys="answer",
        transcript_key="trace",
    )
    record = by_id(result)[0]
    answer = 'tool results: 5; {"worker_thread":true}'
    calls = [
        {
            "id": "call_0",
            "type": "function",
            "function": {"name": "add", "arguments": '{"a": 2, "b": 3}'},
        },
        {"id": "call_1", "type": "function", "function": {"name": "where", "arguments": "{}"}},
    ]
    assert record["answer"] == answer
    assert record["trace"] == [
        {"role": "system", "content": "be exact"},
        {"role": "user", "content": question},
        {"role": "assistant", "content": "", "tool_calls": calls},
        {"role": "tool", "tool_call_id": "call_0", "content": "5"},
        {"role": "tool", "tool_call_id": "call_1", "content": '{"worker_thread":true}'},
        {"role": "assistant", "content": answer},
    ]
    assert record["messages"] == [
        {"role": "user", "content": question},
        {"role": "assistant", "content": answer},
    ]
