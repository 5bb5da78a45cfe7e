"""A task written in SyGra's dialect (its file name, keys and hook conventions) runs
unchanged against the mock server, with SyGra's meaning for each key."""

from __future__ import annotations

import json
from pathlib import Path

from grasp_core import RunOptions, run_task
from grasp_core.mock_server import MockServer
from tests.conftest import write_task

GRAPH_CONFIG = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out.jsonl}
graph_config:
  graph_properties:
    retry_chat_injection: {required: "yes", retry_prompt_injection: "no"}
  nodes:
    pick:
      node_type: weighted_sampler
      attributes:
        tone:
          values:
            column: [formal, casual]
            source: {type: disk, file_path: tones.jsonl}
    prepare:
      node_type: lambda
      lambda: task_executor.Prepare
      function_type: sync
      suffix: "?!"
      output_keys: [question]
    ask:
      node_type: llm
      output_key: answer
      input_key: messages
      chat_history: true
      pre_process: task_executor.AskPre
      post_process: task_executor.AskPost
      prompt:
        - user: "{question} in a {tone} tone"
      model:
        name: m
        temperature: 0.1
        max_tokens: 200
    calc:
      node_type: llm
      output_keys: [calc_text]
      tools: [tools_mod.add, tools_mod.Toolbox, tools_lc]
      tool_choice: {type: function, function: {name: add}}
      prompt:
        - user: "add two numbers"
      model: {name: m}
  edges:
    - {from: START, to: pick}
    - {from: pick, to: prepare}
    - {from: prepare, to: ask}
    - {from: ask, to: calc}
    - from: calc
      condition: task_executor.Done
      path_map: {END: END, prepare: prepare}
output_config:
  output_map:
    id: {from: id}
    question: {from: question}
    tone: {from: tone}
    answer: {from: answer}
    shout: {from: shout}
    calls: {from: tool_calls}
    absent: {from: never_written}
  oasst_mapper: {required: "no", type: sft, intermediate_writing: "yes"}
"""

TASK_EXECUTOR = '''
class Prepare:
    """SyGra's lambda: called on the class with the node's settings, returns the state."""

    def apply(lambda_node_dict, state):
        state["question"] = state["q"] + lambda_node_dict["suffix"]
        return state


class AskPre:
    def apply(self, state):
        state["shout"] = state["q"].upper()
        return state


class AskPost:
    """A post-processor that reads the reply as a message object, without the state."""

    def apply(self, response):
        return {"answer": "reply: " + response.message.content}


class Done:
    def apply(state):
        return "__end__"
'''

TOOLS_MOD = '''
class _Wrapped:
    """Shaped like a LangChain tool made by `@tool` (LangChain is not installed)."""

    def __init__(self, fn):
        self.func = fn
        self.coroutine = None
        self.name = fn.__name__
        self.description = fn.__doc__
        self.args_schema = None


def tool(fn):
    return _Wrapped(fn)


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


class Toolbox:
    @tool
    def subtract(a: float, b: float) -> float:
        """Subtract b from a."""
        return a - b
'''

TOOLS_LC = '''
from tools_mod import tool


@tool
def multiply(a: float, b: float) -> float:
    """Multiply two numbers."""
    return a * b
'''

MODELS = """
m:
  model: openai/m
  api_base: http://127.0.0.1:1/v1
"""


def sygra_task(folder: Path) -> Path:
    write_task(
        folder,
        "",
        {
            "graph_config.yaml": GRAPH_CONFIG,
            "task_executor.py": TASK_EXECUTOR,
            "tools_mod.py": TOOLS_MOD,
            "tools_lc.py": TOOLS_LC,
            "models.yaml": MODELS,
            "data.jsonl": '{"q": "why"}\n{"q": "how"}\n',
            "tones.jsonl": '{"formal": "stern", "casual": "chill"}\n',
        },
    )
    (folder / "task.yaml").unlink()
    return folder / "graph_config.yaml"


def test_a_sygra_task_runs_with_sygras_meaning(tmp_path: Path, mock_server: MockServer) -> None:
    """SyGra's keys and hooks work: lambda settings, whole-state hooks, a one-argument
    post-processor, `__end__`, tools by module/class/@tool, ids and absent fields."""
    result = run_task(sygra_task(tmp_path / "demo"), RunOptions(mock=mock_server.url))
    assert result.failed == 0, result.failure_reasons
    rows = [json.loads(line) for line in (tmp_path / "demo" / "out.jsonl").read_text().splitlines()]
    by_question = {row["question"]: row for row in rows}
    assert set(by_question) == {"why?!", "how?!"}
    why = by_question["why?!"]
    assert why["shout"] == "WHY"
    assert why["tone"] in ("stern", "chill")
    assert why["answer"] == f"reply: why?! in a {why['tone']} tone"
    assert why["absent"] is None
    assert [call["function"]["name"] for call in why["calls"]] == ["add"]
    assert set(json.loads(why["calls"][0]["function"]["arguments"])) == {"a", "b"}
    assert len({row["id"] for row in rows}) == 2
    assert all(row["id"] is not None for row in rows)
