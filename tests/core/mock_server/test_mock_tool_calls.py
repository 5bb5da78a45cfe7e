"""Tool calls: `[[mock:call:NAME ARGS]]` markers answer tool calls when tools are offered,
and tool messages are answered with their results.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.core.mock_server.helpers import CHAT, TOOLS, chat, user


def tool_calls_of(response: httpx.Response) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = response.json()["choices"][0]["message"]["tool_calls"]
    return calls


def test_call_markers_answer_tool_calls_when_tools_are_offered(client: httpx.Client) -> None:
    """Each call marker of the last user message becomes one tool call, arguments verbatim."""
    text = 'add [[mock:call:add {"a": [[1]], "b": 2}]] then [[mock:call:nope]] [[mock:call:add {x]]'
    response = chat(client, text, tools=TOOLS)
    choice = response.json()["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    assert [(c["id"], c["type"], c["function"]) for c in tool_calls_of(response)] == [
        ("call_0", "function", {"name": "add", "arguments": '{"a": [[1]], "b": 2}'}),
        ("call_1", "function", {"name": "nope", "arguments": "{}"}),
        ("call_2", "function", {"name": "add", "arguments": "{x"}),
    ]
    assert response.json()["usage"]["prompt_tokens"] == 2  # "add then": markers do not count


def test_call_markers_without_tools_are_removed_from_the_echo(client: httpx.Client) -> None:
    """Without `tools` in the request the markers are stripped and the text is echoed."""
    response = chat(client, 'sum [[mock:call:add {"a": 1}]] please')
    assert response.json()["choices"][0]["message"] == {
        "role": "assistant",
        "content": "sum  please",
    }


def test_tool_messages_are_answered_with_their_results(client: httpx.Client) -> None:
    """After tool messages the answer is their contents; later call ids continue the count."""
    marker = "go [[mock:call:add]] [[mock:call:add]]"
    calls = [
        {"id": f"call_{i}", "type": "function", "function": {"name": "add", "arguments": "{}"}}
        for i in range(2)
    ]
    conversation = [
        {"role": "user", "content": marker},
        {"role": "assistant", "content": None, "tool_calls": calls},
        {"role": "tool", "tool_call_id": "call_0", "content": "3 [[mock:latency=0]]"},
        {"role": "tool", "tool_call_id": "call_1", "content": '{"sum": 4}'},
    ]
    body = {"model": "m", "messages": conversation, "tools": TOOLS}
    answer = client.post(CHAT, json=body).json()["choices"][0]
    assert answer["message"] == {"role": "assistant", "content": 'tool results: 3; {"sum": 4}'}
    assert answer["finish_reason"] == "stop"
    again = {**body, "messages": [*conversation, {"role": "system", "content": "once more"}]}
    ids = [call["id"] for call in tool_calls_of(client.post(CHAT, json=again))]
    assert ids == ["call_2", "call_3"]


def test_streamed_tool_calls_arrive_as_deltas(client: httpx.Client) -> None:
    """With stream: true each call is one tool_calls delta; the last chunk says tool_calls."""
    response = chat(client, '[[mock:call:add {"a": 1}]]', tools=TOOLS, stream=True)
    events = [line[len("data: ") :] for line in response.text.split("\n\n") if line]
    chunks = [json.loads(event) for event in events[:-1]]
    deltas = [chunk["choices"][0]["delta"] for chunk in chunks[:-1]]
    assert deltas == [
        {"role": "assistant", "content": None},
        {
            "tool_calls": [
                {
                    "index": 0,
                    "id": "call_0",
                    "type": "function",
                    "function": {"name": "add", "arguments": '{"a": 1}'},
                }
            ]
        },
    ]
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_ollama_chat_answers_tool_calls_with_object_arguments(client: httpx.Client) -> None:
    """/api/chat answers Ollama's tool_calls shape, arguments as a JSON object."""
    body = {"model": "llama3", "messages": user('[[mock:call:add {"a": 1}]]'), "tools": TOOLS}
    message = client.post("/api/chat", json=body).json()["message"]
    assert message["tool_calls"] == [{"function": {"name": "add", "arguments": {"a": 1}}}]


def test_fault_markers_apply_to_tool_call_requests(client: httpx.Client) -> None:
    """Fault markers beside call markers still fault first; bad tools values are a 400."""
    text = "[[mock:429:1:retry_after=0]] [[mock:call:add]]"
    assert chat(client, text, tools=TOOLS).status_code == 429
    assert tool_calls_of(chat(client, text, tools=TOOLS))[0]["function"]["name"] == "add"
    assert chat(client, "x", tools={"not": "a list"}).status_code == 400
    assert chat(client, "[[mock:call:]]", tools=TOOLS).status_code == 400
