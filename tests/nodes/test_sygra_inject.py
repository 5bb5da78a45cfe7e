"""SyGra's turn-indexed `inject_system_messages` on agents: its turns count the record's
conversation (the node's runs), not the model calls of one agent run."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from grasp_core import RunOptions, run_task
from grasp_core.mock_server import MockServer
from grasp_nodes.agent.node import AgentNodeConfig
from tests.conftest import write_task

GRAPH_CONFIG = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out.jsonl}
graph_config:
  nodes:
    talker:
      node_type: agent
      chat_history: true
      output_keys: said
      inject_system_messages:
        - 1: Start wrapping up.
        - 2 : Say goodbye now.
      prompt:
        - system: You are a chatty guide.
        - user: "{topic}"
      model: {name: guide}
    count:
      node_type: lambda
      lambda: steps.count
      output_keys: rounds
  edges:
    - {from: START, to: talker}
    - {from: talker, to: count}
    - from: count
      condition: steps.again
      path_map: {talker: talker, END: END}
"""

STEPS = """
def count(state):
    return {"rounds": state.get("rounds", 0) + 1}


def again(state):
    return "END" if state["rounds"] >= 3 else "talker"
"""


def test_sygras_turns_are_the_nodes_runs_for_the_record(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """In graph_config.yaml, `inject_system_messages` (SyGra's list of `turn: text`) adds the
    text to the system prompt of the node's run of that number for the record: nothing on
    its first run, the turn-1 text on its second, the turn-2 text on its third."""
    task = write_task(
        tmp_path, GRAPH_CONFIG, {"steps.py": STEPS, "data.jsonl": '{"topic": "tea"}\n'}
    )
    task = task.rename(tmp_path / "graph_config.yaml")
    mock_server.reset()
    result = run_task(task, RunOptions(mock=mock_server.url))
    assert result.failed == 0, result.failure_reasons
    systems = [r["messages"][0]["content"] for r in mock_server.requests()]
    assert systems == [
        "You are a chatty guide.",
        "You are a chatty guide.\nStart wrapping up.",
        "You are a chatty guide.\nSay goodbye now.",
    ]


def test_grasps_own_spelling_keeps_its_meaning_in_task_yaml() -> None:
    """In task.yaml, `inject_system_messages` stays GraSP's (turn = model call of one run),
    and SyGra's list form is refused there rather than read with another meaning."""
    base = {"prompt": [{"user": "hi"}], "model": {"name": "m"}}
    own = AgentNodeConfig.model_validate({**base, "inject_system_messages": {1: "go on"}})
    assert own.inject_system_messages == {1: "go on"}
    assert own.inject_by_iteration == {}
    with pytest.raises(ValidationError, match="inject_system_messages"):
        AgentNodeConfig.model_validate({**base, "inject_system_messages": [{1: "go on"}]})
    sygra = AgentNodeConfig.model_validate(
        {**base, "inject_system_messages": [{1: "go on"}, {4: "end"}]},
        context={"dialect": "sygra"},
    )
    assert sygra.inject_by_iteration == {1: "go on", 4: "end"}
    assert sygra.inject_system_messages == {}
