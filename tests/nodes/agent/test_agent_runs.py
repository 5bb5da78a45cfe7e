"""The agent in whole runs: under trio, in multiturn graphs, with the node's `retry` and
`on_empty` options, and the bundled `examples/agent_tools` task.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grasp_core import RunOptions, run_task, run_task_async
from grasp_core.mock_server import MockServer
from tests.conftest import REPO_ROOT
from tests.nodes.agent.helpers import agent_task, by_id, failures, run, tool_messages

pytestmark = pytest.mark.anyio

EXAMPLE = REPO_ROOT / "examples" / "agent_tools" / "task.yaml"


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
