"""SyGra's meaning for a record's `messages` in its task file: an llm node sends its prompt
followed by `messages` (in every graph, never the history before the prompt) and stores only
its reply there, or nothing when it has `output_keys`; `grasp convert sygra` writes the GraSP
keys that mean the same (`append_messages`, `send_history`, `store_messages`)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from grasp_core import RunOptions, run_task
from grasp_core.cli.app import main
from grasp_core.mock_server import MockServer
from grasp_nodes.llm import LLMNodeConfig

CRITIC_LOOP = """\
data_config:
  source: {type: disk, file_path: items.jsonl}
  sink: {type: jsonl, file_path: out.jsonl}
graph_config:
  nodes:
    answer:
      node_type: llm
      prompt:
        - user: "{question}"
      model: {name: writer}
    critique:
      node_type: llm
      output_role: user
      prompt:
        - system: Critique the answer.
      model: {name: writer}
    summary:
      node_type: llm
      output_keys: summary
      prompt:
        - user: "Summarise {question}"
      model: {name: writer}
  edges:
    - {from: START, to: answer}
    - {from: answer, to: critique}
    - from: critique
      condition: task_executor.Again
      path_map: {done: summary, answer: answer}
    - {from: summary, to: END}
output_config:
  output_map:
    id: {from: id}
    messages: {from: messages}
    summary: {from: summary}
"""

TASK_EXECUTOR = """\
class Again:
    def apply(state):
        return "done" if len(state["messages"]) >= 4 else "answer"
"""

Q = "2+2?"
REPLY = {"role": "assistant", "content": Q}  # the mock echoes the last message
CRITICISM = {"role": "user", "content": Q}  # critique's reply, with its output_role

SENT = [
    [{"role": "user", "content": Q}],
    [{"role": "system", "content": "Critique the answer."}, REPLY],
    [{"role": "user", "content": Q}, REPLY, CRITICISM],
    [{"role": "system", "content": "Critique the answer."}, REPLY, CRITICISM, REPLY],
    [{"role": "user", "content": f"Summarise {Q}"}, REPLY, CRITICISM, REPLY, CRITICISM],
]
"""Each request in turn: the node's prompt, then the replies stored so far."""

ROW = {"id": "q1", "messages": [REPLY, CRITICISM] * 2, "summary": Q}
"""`messages` holds only the replies of the nodes without output_keys; summary's is under
its key."""


def _folder(root: Path, config: str = CRITIC_LOOP) -> Path:
    folder = root / "tasks" / "examples" / "critic"
    folder.mkdir(parents=True)
    files = {
        "graph_config.yaml": config,
        "task_executor.py": TASK_EXECUTOR,
        "items.jsonl": json.dumps({"id": "q1", "question": Q}) + "\n",
    }
    for name, text in files.items():
        (folder / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return folder


def _run(task: Path) -> tuple[dict[str, Any], list[list[dict[str, Any]]]]:
    """The output row of a one-record run against the mock, and each request's messages."""
    server = MockServer(log_bodies=True)
    with server.running() as url:
        result = run_task(task, RunOptions(mock=url, overwrite=True))
    assert (result.done, result.failed) == (1, 0)
    folder = task if task.is_dir() else task.parent
    (row,) = [json.loads(line) for line in (folder / "out.jsonl").read_text().splitlines()]
    return row, [entry["body"]["messages"] for entry in server.requests()]


def test_a_critic_loop_is_sent_prompt_then_replies_and_stores_only_replies(
    tmp_path: Path,
) -> None:
    """In a singleturn SyGra graph, each llm node is sent its prompt followed by the replies
    stored so far; `messages` ends with only the replies of the nodes without output_keys."""
    row, sent = _run(_folder(tmp_path) / "graph_config.yaml")
    assert sent == SENT
    assert row == ROW


def test_a_multiturn_sygra_graph_does_not_send_the_history_twice(tmp_path: Path) -> None:
    """`chat_conversation: multiturn` changes nothing for SyGra's llm nodes: the history
    follows the prompt and is not also sent before it."""
    config = CRITIC_LOOP.replace(
        "graph_config:\n", "graph_config:\n  graph_properties: {chat_conversation: multiturn}\n"
    )
    row, sent = _run(_folder(tmp_path, config) / "graph_config.yaml")
    assert sent == SENT
    assert row == ROW


def test_the_converted_task_sends_and_stores_the_same(tmp_path: Path) -> None:
    """`grasp convert sygra` writes the llm nodes' message keys into task.yaml, and the
    converted task is sent and writes exactly what the SyGra file does."""
    _folder(tmp_path / "sygra")
    dest = tmp_path / "out"
    assert main(["convert", "sygra", str(tmp_path / "sygra" / "tasks"), str(dest)]) == 0
    task = dest / "examples" / "critic"
    converted = (task / "task.yaml").read_text(encoding="utf-8")
    nodes = converted.split("summary:\n", 1)
    assert nodes[0].count("append_messages: messages") == 2
    assert nodes[0].count("send_history: false") == 2
    assert nodes[0].count("store_messages: reply") == 2
    assert "store_messages: none" in nodes[1]
    row, sent = _run(task)
    assert sent == SENT
    assert row == ROW
    report = (dest / "CONVERT_REPORT.md").read_text(encoding="utf-8")
    assert "sent less than in SyGra" not in report


@pytest.mark.parametrize(
    ("extra", "stored"),
    [
        ({}, "reply"),
        ({"output_keys": "verdict"}, "none"),
        ({"output_key": "verdict"}, "none"),
        ({"post_process": "task_executor.Keep"}, "reply"),
        ({"output_keys": ["a", "b"], "post_process": "task_executor.Keep"}, "reply"),
        ({"store_messages": "turns", "send_history": True}, "turns"),
    ],
)
def test_sygra_file_defaults_and_grasps_own_defaults(extra: dict[str, Any], stored: str) -> None:
    """In SyGra's file an llm node appends `messages` after the prompt, sends no history
    before it, and stores its reply (nothing with output_keys) unless it says otherwise; in
    GraSP's own file the defaults are unchanged (prompt turns and reply, history first)."""
    base: dict[str, Any] = {"node_type": "llm", "prompt": [{"user": "hi"}], "model": {"name": "m"}}
    sygra = LLMNodeConfig.model_validate({**base, **extra}, context={"dialect": "sygra"})
    assert sygra.append_messages == "messages"
    assert sygra.send_history is extra.get("send_history", False)
    assert sygra.store_messages == stored
    own = LLMNodeConfig.model_validate(base)
    assert (own.append_messages, own.send_history, own.store_messages) == (None, True, "turns")


STRUCTURED = """\
data_config:
  source: {type: disk, file_path: items.jsonl}
  sink: {type: jsonl, file_path: out.jsonl}
graph_config:
  nodes:
    classify:
      node_type: llm
      prompt:
        - user: "Classify {question}"
      output_keys: [category, detail]
      post_process: task_executor.FromJson
      model:
        name: writer
        structured_output:
          schema:
            fields:
              category: {type: str}
              detail: {type: str}
  edges:
    - {from: START, to: classify}
    - {from: classify, to: END}
output_config:
  output_map:
    id: {from: id}
    category: {from: category}
    detail: {from: detail}
    messages: {from: messages, required: false}
"""

FROM_JSON = """\
import json


class FromJson:
    def apply(self, response, state):
        reply = json.loads(response.message.content)  # the reply's JSON text, as in SyGra
        state.update({"category": "c:" + reply["category"], "detail": reply["detail"]})
        return state
"""


def test_a_post_processor_with_output_keys_reads_the_reply(tmp_path: Path) -> None:
    """With output_keys and a post_process (SyGra's structured_output task), the hook reads
    the reply's JSON text as `response.message.content`, and what it returns is stored:
    its keys, and no message (it returned the state's `messages` unchanged)."""
    folder = _folder(tmp_path, STRUCTURED)
    (folder / "task_executor.py").write_text(FROM_JSON, encoding="utf-8")
    row, _sent = _run(folder / "graph_config.yaml")
    assert row["category"].startswith("c:")
    assert isinstance(row["detail"], str)
    assert row.get("messages") in (None, [])
