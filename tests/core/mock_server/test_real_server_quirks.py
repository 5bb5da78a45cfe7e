"""The mock server copies what real servers do differently (`like="llamacpp"` and its flags),
so that the default suite meets llama.cpp's behaviour without a llama.cpp server."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from grasp_core.errors import ConfigError
from grasp_core.mock_server import QUIRKS, MockServer

CHAT = "/v1/chat/completions"
SCHEMA = {
    "type": "object",
    "properties": {"n": {"type": "integer", "minimum": 3, "maximum": 4}, "s": {"type": "string"}},
    "required": ["n", "s"],
}
TOOLS = [{"type": "function", "function": {"name": "add", "parameters": SCHEMA}}]
CALL = {"id": "call_0", "type": "function", "function": {"name": "add", "arguments": "{}"}}


@pytest.fixture
def serve() -> Iterator[Callable[..., httpx.Client]]:
    """Start mock servers with options; yields a function returning a client of one."""
    with contextlib.ExitStack() as stack:

        def start(**options: Any) -> httpx.Client:
            url = stack.enter_context(MockServer(**options).running())
            return stack.enter_context(httpx.Client(base_url=url, timeout=10.0))

        yield start


def post(client: httpx.Client, messages: list[dict[str, Any]], **body: Any) -> httpx.Response:
    return client.post(CHAT, json={"model": "m", "messages": messages, **body})


def tool_turn(**content: Any) -> list[dict[str, Any]]:
    """A conversation whose assistant turn carries a tool call (``content`` as given)."""
    return [
        {"role": "user", "content": "add"},
        {"role": "assistant", "tool_calls": [CALL], **content},
        {"role": "tool", "tool_call_id": "call_0", "content": "3"},
    ]


def test_llamacpp_answers_500_to_a_tool_call_turn_without_text(
    serve: Callable[..., httpx.Client],
) -> None:
    """`like="llamacpp"` answers 500, with a llama-cpp-python error body, to an assistant
    tool-call turn whose content is null or missing, and accepts `""`; the OpenAI-like
    default accepts all three, as OpenAI does."""
    llama, openai = serve(like="llamacpp"), serve()
    for content in ({"content": None}, {}):
        refused = post(llama, tool_turn(**content), tools=TOOLS)
        assert refused.status_code == 500
        error = refused.json()["error"]
        assert (error["type"], error["param"], error["code"]) == (
            "internal_server_error",
            None,
            None,
        )
        assert post(openai, tool_turn(**content), tools=TOOLS).status_code == 200
    answer = post(llama, tool_turn(content=""), tools=TOOLS, tool_choice="auto")
    assert answer.json()["choices"][0]["message"]["content"] == "tool results: 3"


def test_json_object_with_a_schema_is_answered_with_json_valid_for_it(
    serve: Callable[..., httpx.Client],
) -> None:
    """`{type: json_object, schema}` (llama.cpp's form) gets JSON conforming to the schema in
    both profiles; a `schema` that is not an object is a 400."""
    for client in (serve(), serve(like="llamacpp")):
        fmt = {"type": "json_object", "schema": SCHEMA}
        reply = post(client, [{"role": "user", "content": "hi"}], response_format=fmt)
        value = json.loads(reply.json()["choices"][0]["message"]["content"], strict=False)
        assert set(value) == {"n", "s"}
        assert value["n"] in (3, 4)
        bad = {"type": "json_object", "schema": "nope"}
        assert (
            post(client, [{"role": "user", "content": "hi"}], response_format=bad).status_code
            == 400
        )


def test_llamacpp_refuses_json_schema_with_a_500_naming_response_format(
    serve: Callable[..., httpx.Client],
) -> None:
    """`reject_json_schema` answers 500 to response_format json_schema, as llama.cpp does,
    and the message names response_format (so clients can tell it from a crash)."""
    client = serve(reject_json_schema=True)
    fmt = {"type": "json_schema", "json_schema": {"name": "x", "schema": SCHEMA}}
    refused = post(client, [{"role": "user", "content": "hi"}], response_format=fmt)
    assert refused.status_code == 500
    assert "response_format" in refused.json()["error"]["message"]
    assert "json_object" in refused.json()["error"]["message"]


def test_raw_newlines_put_bare_newlines_inside_json_strings(
    serve: Callable[..., httpx.Client],
) -> None:
    """With `raw_newlines`, structured replies and tool-call arguments hold bare newlines in
    their strings: strict JSON parsing fails, `strict=False` reads the same value."""
    client = serve(raw_newlines=True)
    fmt = {"type": "json_object", "schema": SCHEMA}
    text = post(client, [{"role": "user", "content": "hi"}], response_format=fmt).json()
    content = text["choices"][0]["message"]["content"]
    with pytest.raises(json.JSONDecodeError, match="control character"):
        json.loads(content)
    assert "\n" in json.loads(content, strict=False)["s"]
    marker = [{"role": "user", "content": r'[[mock:call:add {"s": "a\nb", "t": "c\\nd"}]]'}]
    calls = post(client, marker, tools=TOOLS).json()["choices"][0]["message"]["tool_calls"]
    arguments = calls[0]["function"]["arguments"]
    assert arguments == '{"s": "a\nb", "t": "c\\\\nd"}'
    assert json.loads(arguments, strict=False) == {"s": "a\nb", "t": "c\\nd"}


def test_tools_need_choice_ignores_tools_sent_without_tool_choice(
    serve: Callable[..., httpx.Client],
) -> None:
    """With `tools_need_choice` call markers are answered as calls only when tool_choice is
    sent; `tool_choice: "none"` turns tools off in every profile."""
    marker = [{"role": "user", "content": "go [[mock:call:add]]"}]
    picky, default = serve(tools_need_choice=True), serve()
    ignored = post(picky, marker, tools=TOOLS).json()["choices"][0]
    assert (ignored["finish_reason"], ignored["message"]["content"]) == ("stop", "go")
    called = post(picky, marker, tools=TOOLS, tool_choice="auto").json()["choices"][0]
    assert called["finish_reason"] == "tool_calls"
    assert post(default, marker, tools=TOOLS).json()["choices"][0]["finish_reason"] == "tool_calls"
    none = post(default, marker, tools=TOOLS, tool_choice="none").json()["choices"][0]
    assert none["message"]["content"] == "go"


def test_a_forced_tool_choice_answers_one_call_with_arguments_from_its_schema(
    serve: Callable[..., httpx.Client],
) -> None:
    """A tool_choice naming one function gets exactly one call to it whose arguments
    validate against its parameters; the structured markers break them on purpose; naming
    a function not offered, or an unknown choice, is a 400."""
    client = serve()
    forced = {"type": "function", "function": {"name": "add"}}
    user = [{"role": "user", "content": "no markers here"}]
    answer = post(client, user, tools=TOOLS, tool_choice=forced).json()["choices"][0]
    (call,) = answer["message"]["tool_calls"]
    assert (call["id"], call["function"]["name"]) == ("call_0", "add")
    assert json.loads(call["function"]["arguments"])["n"] in (3, 4)
    broken = [{"role": "user", "content": "x [[mock:bad_json]]"}]
    answer = post(client, broken, tools=TOOLS, tool_choice=forced).json()["choices"][0]
    with pytest.raises(json.JSONDecodeError):
        json.loads(answer["message"]["tool_calls"][0]["function"]["arguments"])
    other = {"type": "function", "function": {"name": "mul"}}
    assert post(client, user, tools=TOOLS, tool_choice=other).status_code == 400
    assert post(client, user, tools=TOOLS, tool_choice="sometimes").status_code == 400


def test_like_profiles_and_flags() -> None:
    """`like` takes the known profiles only; llamacpp switches every quirk on."""
    with pytest.raises(ConfigError, match="like must be one of openai, llamacpp"):
        MockServer(like="vllm")
    assert set(QUIRKS) == {
        "reject_null_content",
        "reject_json_schema",
        "raw_newlines",
        "tools_need_choice",
    }


def test_the_cli_serves_the_llamacpp_profile() -> None:
    """`grasp mock-server --like llamacpp` serves llama.cpp's behaviour (here: the 500 to
    json_schema); `--raw-newlines` and the other flags parse."""
    command = [sys.executable, "-m", "grasp_core", "mock-server", "--port", "0"]
    flags = ["--like", "llamacpp", "--raw-newlines", "--max-seconds", "60"]
    with subprocess.Popen([*command, *flags], stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            url = line.rsplit(" ", 1)[-1].strip()
            fmt = {"type": "json_schema", "json_schema": {"name": "x", "schema": SCHEMA}}
            with httpx.Client(base_url=url, timeout=10.0) as client:
                user = [{"role": "user", "content": "hi"}]
                assert post(client, user, response_format=fmt).status_code == 500
                assert post(client, user).status_code == 200
        finally:
            process.terminate()
