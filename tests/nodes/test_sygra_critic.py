"""A SyGra critic loop: the critic's pre-processor swaps the conversation's roles (SyGra's
self-critique recipe does), which GraSP's append-only messages keep as the critic's view
only, as SyGra does: the critic's request has the roles swapped, the stored conversation
does not."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from grasp_core import RunOptions, run_task
from grasp_core.mock_server import MockServer

GRAPH_CONFIG = """\
data_config:
  source: {type: disk, file_path: tasks.jsonl}
  sink: {type: jsonl, file_path: out.jsonl}
graph_config:
  graph_properties: {chat_conversation: multiturn}  # every node is sent the conversation
  nodes:
    solve:
      node_type: llm
      prompt:
        - system: Solve the task.
        - user: "{task}"
      model: {name: coder}
    review:
      node_type: llm
      pre_process: task_executor.swap_roles
      output_role: user
      prompt:
        - system: Review the solution.
      model: {name: coder}
  edges:
    - {from: START, to: solve}
    - {from: solve, to: review}
    - {from: review, condition: task_executor.again, path_map: {END: END, solve: solve}}
output_config:
  output_map:
    id: {from: id}
    roles: {from: messages, transform: roles}
  generator: task_executor.Roles
"""

TASK_EXECUTOR = """\
# as `grasp convert sygra` writes SyGra's imports (LangChain's, LangGraph's, SyGra's)
from grasp_nodes.sygra_compat import END, AIMessage, BaseOutputGenerator, HumanMessage


def swap_roles(state):
    swap = {"ai": HumanMessage, "human": AIMessage}
    state["messages"] = [swap[m.type](content=m.content) for m in state["messages"]]
    return state


def again(state):
    return END if len(state["messages"]) >= 4 else "solve"


class Roles(BaseOutputGenerator):
    @staticmethod
    def roles(messages, state):
        return [m["role"] for m in messages]
"""


def test_a_critic_sees_the_roles_swapped_and_the_state_keeps_them(tmp_path: Path) -> None:
    """The review call is its prompt followed by the conversation with user and assistant
    swapped (SyGra sends `messages` after the prompt, in a multiturn graph too, and never
    before it); the stored messages keep the roles the nodes wrote: only the replies (solve:
    assistant; review: user), twice round the loop."""
    files = {
        "graph_config.yaml": GRAPH_CONFIG,
        "task_executor.py": TASK_EXECUTOR,
        "tasks.jsonl": '{"id": "t1", "task": "Reverse a list"}\n',
    }
    for name, text in files.items():
        (tmp_path / name).write_text(textwrap.dedent(text), encoding="utf-8")
    server = MockServer(log_bodies=True)
    with server.running() as url:
        result = run_task(tmp_path, RunOptions(mock=url))
    assert (result.done, result.failed) == (1, 0)
    (row,) = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert row == {"id": "t1", "roles": ["assistant", "user"] * 2}
    reviews = [
        [message["role"] for message in entry["body"]["messages"]]
        for entry in server.requests()
        if entry.get("body") and entry["body"]["messages"][0]["content"] == "Review the solution."
    ]
    assert reviews == [
        ["system", "user"],
        ["system", "user", "assistant", "user"],
    ]
