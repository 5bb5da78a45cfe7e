"""SyGra's `input_key` on an llm node (GraSP's `append_messages`): the messages held in that
state key are sent after the prompt, and nothing is sent when the key is missing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from grasp_core import RunOptions, run_task
from grasp_core.mock_server import MockServer
from grasp_nodes.agent.node import AgentNodeConfig
from grasp_nodes.llm import LLMNodeConfig
from tests.conftest import write_task

GRAPH_CONFIG = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out.jsonl}
graph_config:
  nodes:
    analyst:
      node_type: llm
      input_key: followups
      output_keys: verdict
      prompt:
        - system: "You review tickets."
        - user: "Ticket: {ticket}"
      model: {name: m, temperature: 0.1}
  edges:
    - {from: START, to: analyst}
    - {from: analyst, to: END}
output_config:
  output_map:
    id: {from: id}
    verdict: {from: verdict}
"""

ROWS = [
    {
        "id": "listed",
        "ticket": "printer jams",
        "followups": [
            {"role": "assistant", "content": "Which floor?"},
            {"type": "human", "content": "third floor"},
            "and it smells of toner",
        ],
    },
    {"id": "absent", "ticket": "vpn drops"},
    {"id": "empty", "ticket": "mail slow", "followups": []},
    {"id": "one string", "ticket": "disk full", "followups": "it is drive C"},
    {"id": "bad", "ticket": "fan loud", "followups": 42},
]


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    mock = MockServer(log_bodies=True)
    with mock.running():
        yield mock


def _run(folder: Path, server: MockServer) -> tuple[Any, dict[str, Any]]:
    write_task(
        folder,
        "",
        {
            "graph_config.yaml": GRAPH_CONFIG,
            "data.jsonl": "".join(json.dumps(row) + "\n" for row in ROWS),
        },
    )
    (folder / "task.yaml").unlink()
    result = run_task(folder / "graph_config.yaml", RunOptions(mock=server.url))
    lines = (folder / "out.jsonl").read_text().splitlines()
    return result, {row["id"]: row for row in map(json.loads, lines)}


def _sent(server: MockServer) -> dict[str, list[dict[str, Any]]]:
    """The messages of each chat request, keyed by the ticket in its prompt."""
    sent: dict[str, list[dict[str, Any]]] = {}
    for entry in server.requests():
        messages = entry["body"]["messages"]
        sent[messages[1]["content"].removeprefix("Ticket: ")] = messages
    return sent


def test_input_key_messages_follow_the_prompt(tmp_path: Path, server: MockServer) -> None:
    """The key's messages (dicts, LangChain's `type` spelling, strings as user turns) are
    sent after the prompt; a missing or empty key sends the prompt alone; a string is one
    user message; a value that is not messages fails only its record, with one line."""
    server.reset()
    result, rows = _run(tmp_path / "task", server)
    assert (result.done, result.failed) == (4, 1)
    prompt = [{"role": "system", "content": "You review tickets."}]
    sent = _sent(server)
    assert sent["printer jams"] == [
        *prompt,
        {"role": "user", "content": "Ticket: printer jams"},
        {"role": "assistant", "content": "Which floor?"},
        {"role": "user", "content": "third floor"},
        {"role": "user", "content": "and it smells of toner"},
    ]
    assert sent["vpn drops"] == [*prompt, {"role": "user", "content": "Ticket: vpn drops"}]
    assert sent["mail slow"] == [*prompt, {"role": "user", "content": "Ticket: mail slow"}]
    assert sent["disk full"][-1] == {"role": "user", "content": "it is drive C"}
    assert "fan loud" not in sent
    assert rows["listed"]["verdict"] == "and it smells of toner"  # the mock echoes the last turn
    assert rows["absent"]["verdict"] == "Ticket: vpn drops"
    (failure,) = map(
        json.loads, (tmp_path / "task" / "out.failures.jsonl").read_text().splitlines()
    )
    assert failure["id"] == "bad"
    assert "node 'analyst': append_messages 'followups' holds int 42," in failure["reason"]
    assert "\n" not in failure["reason"]


def test_input_key_is_append_messages_and_messages_stays_the_history() -> None:
    """`input_key: X` reads as `append_messages: X` on an llm node; `input_key: messages`
    (SyGra's default) is GraSP's history and sets nothing; on an agent another key is
    refused, naming the way."""
    base: dict[str, Any] = {"prompt": [{"user": "hi"}], "model": {"name": "m"}}
    assert LLMNodeConfig.model_validate({**base, "input_key": "extra"}).append_messages == "extra"
    assert LLMNodeConfig.model_validate({**base, "input_key": "messages"}).append_messages is None
    with pytest.raises(ValueError, match="keep `append_messages`"):
        LLMNodeConfig.model_validate({**base, "input_key": "a", "append_messages": "b"})
    agent = {**base, "node_type": "agent", "input_key": "extra"}
    with pytest.raises(ValueError, match="only llm nodes send a key's messages after the prompt"):
        AgentNodeConfig.model_validate(agent)
