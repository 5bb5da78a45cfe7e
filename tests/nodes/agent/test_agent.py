"""The agent node: a tool-calling loop over real HTTP against the bundled mock server."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Annotated, Any, Literal

import pytest
from pydantic import Field

from grasp_core import (
    CompileError,
    ConfigError,
    RunOptions,
    RunResult,
    Task,
    run_task,
    run_task_async,
)
from grasp_core.mock_server import MockServer
from grasp_nodes.agent.tools import tool_from_callable
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.anyio

EXAMPLE = REPO_ROOT / "examples" / "agent_tools" / "task.yaml"

KIT = """\
import threading

import anyio

_events = {}


def _event(name):
    if name not in _events:
        _events[name] = anyio.Event()
    return _events[name]


async def ping() -> str:
    \"\"\"Wait until pong runs too.\"\"\"
    _event("ping").set()
    with anyio.fail_after(5):
        await _event("pong").wait()
    return "ping saw pong"


async def pong() -> str:
    \"\"\"Wait until ping runs too.\"\"\"
    _event("pong").set()
    with anyio.fail_after(5):
        await _event("ping").wait()
    return "pong saw ping"


def where() -> dict:
    \"\"\"Tell which thread the tool runs in.\"\"\"
    return {"worker_thread": threading.current_thread() is not threading.main_thread()}


def add(a: int, b: int) -> int:
    \"\"\"Add two integers.\"\"\"
    return a + b


def boom(reason: str) -> str:
    \"\"\"Always fail.\"\"\"
    raise ValueError(f"no luck: {reason}")


def untyped(x):
    return x
"""

MODELS = """\
m:
  model: openai/m
  api_base: http://127.0.0.1:1/v1
  max_retries: 0
  timeout: 10
  transport: {transport}
"""


@pytest.fixture(params=["auto", "litellm"])
def transport(request: pytest.FixtureRequest) -> str:
    """Every behaviour holds for both transports: the fast lane (auto) and litellm."""
    return str(request.param)


@pytest.fixture(autouse=True)
def _restore_import_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dotted paths put task folders on sys.path; undo that after each test."""
    monkeypatch.setattr(sys, "path", [*sys.path])


def agent_task(
    folder: Path,
    questions: list[str],
    transport: str,
    graph: dict[str, Any] | None = None,
    **node: Any,
) -> Task:
    """A one-node agent task: prompt `be exact` + `{q}`, tools from ``kit.py``."""
    (folder / "kit.py").write_text(KIT, encoding="utf-8")
    (folder / "models.yaml").write_text(MODELS.format(transport=transport), encoding="utf-8")
    rows = "".join(json.dumps({"id": i, "q": q}) + "\n" for i, q in enumerate(questions))
    (folder / "data.jsonl").write_text(rows, encoding="utf-8")
    config = {
        "node_type": "agent",
        "prompt": [{"system": "be exact"}, {"user": "{q}"}],
        "model": {"name": "m"},
        "tools": ["kit.ping", "kit.pong", "kit.where", "kit.add", "kit.boom"],
        **node,
    }
    return Task.from_dict(
        {
            "data_config": {"source": {"type": "disk", "file_path": "data.jsonl"}},
            "graph_config": {
                **(graph or {}),
                "nodes": {"agent": config},
                "edges": [{"from": "START", "to": "agent"}, {"from": "agent", "to": "END"}],
            },
        },
        task_dir=folder,
    )


async def run(
    folder: Path,
    server: MockServer,
    questions: list[str],
    transport: str,
    graph: dict[str, Any] | None = None,
    **node: Any,
) -> RunResult:
    task = agent_task(folder, questions, transport, graph, **node)
    return await run_task_async(task, RunOptions(mock=server.url, output_dir=folder / "out"))


def by_id(result: RunResult) -> dict[int, dict[str, Any]]:
    return {record["id"]: record for record in result.records()}


def failures(result: RunResult) -> list[dict[str, Any]]:
    lines = result.failures_path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def tool_messages(record: dict[str, Any]) -> list[str]:
    return [m["content"] for m in record["agent_transcript"] if m["role"] == "tool"]


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


def test_the_agent_runs_under_trio(tmp_path: Path, mock_server: MockServer) -> None:
    """Under trio (model calls through litellm) tools still run concurrently and in threads."""
    task = agent_task(
        tmp_path, ["[[mock:call:ping]] [[mock:call:pong]] [[mock:call:where]]"], "auto"
    )
    options = RunOptions(mock=mock_server.url, output_dir=tmp_path / "out")
    result = run_task(task, options, backend="trio")
    assert tool_messages(by_id(result)[0]) == [
        "ping saw pong",
        "pong saw ping",
        '{"worker_thread":true}',
    ]


async def test_multiturn_history_is_sent_before_the_prompt(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """In multiturn graphs the record's earlier messages (window, role map) lead each request."""
    mock_server.reset()
    graph = {"chat_conversation": "multiturn", "chat_history_window_size": 1}
    task = agent_task(tmp_path, [], "auto", graph, history_role_map={"assistant": "user"})
    history = [{"role": "user", "content": "old 1"}, {"role": "assistant", "content": "old 2"}]
    row = {"id": 0, "q": "now", "messages": history}
    (tmp_path / "data.jsonl").write_text(json.dumps(row) + "\n", encoding="utf-8")
    result = await run_task_async(task, RunOptions(mock=mock_server.url, output_dir=tmp_path))
    assert result.done == 1
    (request,) = mock_server.requests()
    assert [(m["role"], m["content"]) for m in request["messages"]] == [
        ("user", "old 2"),
        ("system", "be exact"),
        ("user", "now"),
    ]
    assert by_id(result)[0]["agent_transcript"][0] == {"role": "system", "content": "be exact"}


async def test_the_node_retry_option_applies_to_every_model_call(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """`retry.max_retries` overrides the models file for each call of the loop."""
    question = '[[mock:500:1]] sum [[mock:call:add {"a": 1, "b": 1}]]'
    result = await run(tmp_path, mock_server, [question], "auto", retry={"max_retries": 1})
    assert result.done == 1, failures(result)
    assert by_id(result)[0]["agent"] == "tool results: 2"
    assert result.metrics["models"]["m"]["retries"] == 2


async def test_a_tool_without_a_schema_is_a_config_error(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """A tool whose parameters are not annotated is refused before any record runs."""
    with pytest.raises(CompileError, match="tool 'untyped': parameter 'x' has no type annotation"):
        await run(tmp_path, mock_server, ["q"], "auto", tools=["kit.untyped"])
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("node", "message"),
    [
        ({"max_steps": 2, "inject_system_messages": {2: "late"}}, "turn(s) [2] never happen"),
        ({"model": {"name": "m", "parameters": {"tools": []}}}, "model.parameters.tools is set"),
        ({"transcript_key": "messages"}, "collides with the answer's key(s)"),
        ({"transcript_key": "agent"}, "transcript_key 'agent' collides with the answer's"),
    ],
)
async def test_invalid_agent_options_are_config_errors(
    tmp_path: Path, mock_server: MockServer, node: dict[str, Any], message: str
) -> None:
    """Unreachable injection turns, tools in the parameters, no tools and key clashes."""
    with pytest.raises(ConfigError, match=re.escape(message)):
        await run(tmp_path, mock_server, ["q"], "auto", **node)


def test_schema_comes_from_the_signature_and_docstring() -> None:
    """Types, defaults and descriptions come from the signature, Field and the Args section."""

    def search(
        query: Annotated[str, Field(description="Words to look for.")],
        mode: Literal["fast", "exact"] = "fast",
        *,
        limit: int = 5,
    ) -> list[str]:
        """Search the index.

        Returns the best matches first.

        Args:
            query: Ignored: the Field description wins.
            limit: How many results to return
                at most.
        """
        return []

    tool = tool_from_callable(search)
    assert tool.schema() == {
        "type": "function",
        "function": {
            "name": "search",
            "description": "Search the index.",
            "parameters": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "query": {"type": "string", "description": "Words to look for."},
                    "mode": {"enum": ["fast", "exact"], "type": "string", "default": "fast"},
                    "limit": {
                        "type": "integer",
                        "default": 5,
                        "description": "How many results to return at most.",
                    },
                },
                "required": ["query"],
            },
        },
    }
    assert tool.parse_arguments('{"query": "q", "limit": "3"}') == {"query": "q", "limit": 3}


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("def f(*items: int) -> None: ...", "cannot be sent by name"),
        ("def f(x: int, /) -> None: ...", "cannot be sent by name"),
        ("def f(x: Callable[[int], int]) -> None: ...", "have no JSON schema"),
        ("def f(x: 'Missing') -> None: ...", "does not resolve"),
    ],
)
def test_signatures_without_a_schema_are_config_errors(source: str, message: str) -> None:
    """Variadic, positional-only, non-JSON and unresolvable parameters name the tool."""
    namespace: dict[str, Any] = {}
    exec(f"from collections.abc import Callable\n{source}", namespace)
    with pytest.raises(ConfigError, match=f"tool 'f'.*{message}"):
        tool_from_callable(namespace["f"])


async def test_the_example_task_runs_against_the_mock(tmp_path: Path, mock_url: str) -> None:
    """examples/agent_tools runs end to end: tools called, errors shown, transcripts written."""
    result = await run_task_async(EXAMPLE, RunOptions(mock=mock_url, output_dir=tmp_path))
    assert (result.done, result.failed) == (4, 0)
    records = by_id(result)
    assert records[1]["answer"] == "tool results: 4828.032"
    assert records[2]["answer"].endswith("; 599584916.0")
    assert "unknown constant 'planck'" in records[3]["answer"]
    assert [m["role"] for m in records[1]["messages"]] == [
        "system",
        "user",
        "assistant",
        "tool",
        "assistant",
    ]
    assert [m["role"] for m in records[4]["messages"]] == ["system", "user", "assistant"]


async def test_an_agents_own_on_empty_keeps_a_blank_answer_flagged(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """An empty final answer fails the record by default (retried within max_retries, here
    none); the agent's own `on_empty: keep` writes it, flagged under reply_flags."""
    for folder in ("failed", "kept"):
        (tmp_path / folder).mkdir()
    failed = await run(tmp_path / "failed", mock_server, ["[[mock:blank]]"], "auto")
    assert failed.failed == 1
    assert "the reply was empty" in str(failures(failed)[0]["reason"])
    kept = await run(tmp_path / "kept", mock_server, ["[[mock:blank]]"], "auto", on_empty="keep")
    record = by_id(kept)[0]
    assert record["agent"] == ""
    assert record["reply_flags"] == [{"node": "agent", "model": "m", "flag": "empty"}]
