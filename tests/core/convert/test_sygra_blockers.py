"""What blocked SyGra's own tasks after ``grasp convert sygra --models``: fixtures written here
in SyGra's shape (a repository root with ``tasks/examples/<task>`` and a models file)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grasp_core.cli.app import main
from grasp_core.config.sygra_python import rewrite_imports
from tests.core.convert.test_sygra_convert import GRAPH_CONFIG, TASK_EXECUTOR

MODELS_WITH_MEDIA = """\
writer:
  model_type: vllm
  model_serving_name: qwen
  parameters: {temperature: 0.7}
transcribe:
  model: gpt-4o-transcribe
  input_type: audio  # a speech-to-text entry, as SyGra's models file has
  model_type: azure_openai
  api_version: 2025-03-01-preview
  parameters:
    language: en
    response_format: json
    temperature: 0
"""


def test_a_transcription_entry_asking_for_json_does_not_block_the_tasks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A SyGra transcription entry with ``response_format: json`` loads (GraSP keeps the
    transcription's text), so the models file copied beside every task lets them run."""
    task = tmp_path / "sygra" / "tasks" / "examples" / "qa"
    task.mkdir(parents=True)
    (task / "graph_config.yaml").write_text(GRAPH_CONFIG, encoding="utf-8")
    (task / "task_executor.py").write_text(TASK_EXECUTOR, encoding="utf-8")
    (task / "questions.jsonl").write_text('{"topic": "Why is the sky blue"}\n', encoding="utf-8")
    models = tmp_path / "sygra" / "models.yaml"
    models.write_text(MODELS_WITH_MEDIA, encoding="utf-8")
    dest = tmp_path / "out"
    code = main(
        ["convert", "sygra", str(tmp_path / "sygra" / "tasks"), str(dest), "--models", str(models)]
    )
    assert code == 0, capsys.readouterr()
    converted = dest / "examples" / "qa"
    assert "transcribe:" in (converted / "models.yaml").read_text(encoding="utf-8")
    assert main(["run", str(converted), "--mock", "--overwrite"]) == 0
    rows = [json.loads(line) for line in (converted / "output" / "answers.jsonl").open()]
    assert [row["answer"] for row in rows] == ["Why is the sky blue?"]


CHAT_TASK = """\
data_config:
  source:
    type: disk
    file_path: topics.jsonl
    transformations:
      - transform: grasp.processors.data_transform.RenameFieldsTransform  # older spelling
        params: {mapping: {subject: topic}, overwrite: false}
  sink: {type: jsonl, file_path: output/chat.jsonl}
graph_config:
  nodes:
    ask:
      node_type: llm
      prompt:  # no output_key: SyGra adds the reply to `messages`, where CountTurns reads it
        - user: "{topic}"
      model: {name: writer}
    count:
      node_type: lambda
      lambda: tasks.examples.chat.task_executor.CountTurns
      output_keys: [turns, last]
  edges:
    - {from: START, to: ask}
    - {from: ask, to: count}
    - from: count
      condition: tasks.examples.shared.conditions.EnoughTurns
      path_map: {END: END, ask: ask}
output_config:
  output_map:
    topic: {from: topic}
    turns: {from: turns}
    last: {from: last}
"""

CHAT_EXECUTOR = """\
from langchain_core.messages import AIMessage
from core.graph.functions.lambda_function import LambdaFunction
from core.graph.grasp_state import GraspState


class CountTurns(LambdaFunction):
    def apply(lambda_node_dict, state: GraspState) -> GraspState:
        replies = [m for m in state["messages"] if m.type == "ai"]
        state["turns"] = len(replies)
        state["last"] = AIMessage(content=replies[-1].content.upper()).content
        return state
"""

SHARED_CONDITIONS = """\
from langgraph.graph import END
from core.graph.functions.edge_condition import EdgeCondition
from logger.logger_config import logger


class EnoughTurns(EdgeCondition):
    def apply(state):
        logger.info("checking")
        if state["turns"] >= 2 and state["messages"][-1].type == "ai":
            return END
        return "ask"
"""


def test_hooks_in_sygra_s_oldest_layout_run_after_conversion(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Imports from SyGra's root (core..., logger...), LangChain's messages and LangGraph's END
    point at the compat module; hooks read state messages as message objects (``.type``,
    ``.content``); a module of another folder is copied in; ``grasp.processors`` transforms
    are the built-in ones."""
    root = tmp_path / "sygra"
    task = root / "tasks" / "examples" / "chat"
    task.mkdir(parents=True)
    (task / "graph_config.yaml").write_text(CHAT_TASK, encoding="utf-8")
    (task / "task_executor.py").write_text(CHAT_EXECUTOR, encoding="utf-8")
    (task / "topics.jsonl").write_text('{"subject": "tides"}\n', encoding="utf-8")
    (root / "tasks" / "examples" / "shared").mkdir()
    (root / "tasks" / "examples" / "shared" / "conditions.py").write_text(
        SHARED_CONDITIONS, encoding="utf-8"
    )
    models = root / "models.yaml"
    models.write_text(MODELS_WITH_MEDIA, encoding="utf-8")
    dest = tmp_path / "out"
    code = main(["convert", "sygra", str(root / "tasks"), str(dest), "--models", str(models)])
    assert code == 0, capsys.readouterr()
    converted = dest / "examples" / "chat"
    text = (converted / "task.yaml").read_text(encoding="utf-8")
    assert "condition: _sygra_shared.examples.shared.conditions.EnoughTurns" in text
    assert (converted / "_sygra_shared" / "examples" / "shared" / "conditions.py").is_file()
    assert main(["run", str(converted), "--mock", "--overwrite"]) == 0
    rows = [json.loads(line) for line in (converted / "output" / "chat.jsonl").open()]
    assert rows == [{"topic": "tides", "turns": 2, "last": "TIDES"}]


def test_imports_from_sygra_s_root_and_langchain_point_at_the_compat_module() -> None:
    """``core...``, ``utils`` and LangChain/LangGraph names the compat module gives are
    rewritten; a module of the task's own named ``utils`` and other LangChain names are left
    alone, and a BaseTaskExecutor subclass (which GraSP never calls) is reported."""
    source = (
        "from langchain_core.messages import AIMessage, HumanMessage\n"
        "from langchain_core.tools import tool\n"
        "from langchain_core.prompts import ChatPromptTemplate\n"
        "from core.base_task_executor import BaseTaskExecutor\n"
        "from utils import utils, constants\n"
        "\n"
        "class TaskExecutor(BaseTaskExecutor):\n"
        "    pass\n"
    )
    text, problems = rewrite_imports(source, name="t.py")
    assert text.splitlines()[:5] == [
        "from grasp_nodes.sygra_compat import AIMessage, HumanMessage",
        "from grasp_nodes.sygra_compat import tool",
        "from langchain_core.prompts import ChatPromptTemplate",
        "from grasp_nodes.sygra_compat import BaseTaskExecutor",
        "from grasp_nodes.sygra_compat import utils, constants",
    ]
    assert len(problems) == 1
    assert problems[0].startswith("t.py:7: class TaskExecutor extends SyGra's BaseTaskExecutor")
    own, problems = rewrite_imports(
        "from utils import constants\n", name="t.py", local=frozenset({"utils"})
    )
    assert (own, problems) == ("from utils import constants\n", [])


TRANSFORM_TASK = """\
data_config:
  source:
    type: disk
    file_path: chats.jsonl
    transformations:
      - transform: tasks.examples.firsts.data_transform.FirstUserTurn
        params: {field: first}
      - transform: tasks.examples.firsts.data_transform.DropEmpty
        params: {}
  sink: {type: jsonl, file_path: output/firsts.jsonl}
graph_config:
  nodes:
    echo:
      node_type: llm
      output_key: reply
      prompt:
        - user: "{first}"
      model: {name: writer}
  edges:
    - {from: START, to: echo}
    - {from: echo, to: END}
output_config:
  output_map:
    id: {from: id}
    first: {from: first}
    reply: {from: reply}
"""

TRANSFORMS = """\
from grasp.processors.data_transform import DataTransform


class FirstUserTurn(DataTransform):
    def transform(self, data, params):
        out = []
        for record in data:
            users = [m["content"] for m in record["conversation"] if m["role"] == "user"]
            out.append({**record, params["field"]: users[0] if users else ""})
        return out


class DropEmpty(DataTransform):
    def transform(self, data, params):
        return [record for record in data if record["first"]]
"""


def test_custom_transforms_in_sygra_s_contract_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A ``DataTransform`` subclass with ``transform(self, data, params)`` named by its dotted
    path gets every record and its params; a 1:1 result keeps ids, a shorter one takes each
    record's ``id``."""
    root = tmp_path / "sygra"
    task = root / "tasks" / "examples" / "firsts"
    task.mkdir(parents=True)
    (task / "graph_config.yaml").write_text(TRANSFORM_TASK, encoding="utf-8")
    (task / "data_transform.py").write_text(TRANSFORMS, encoding="utf-8")
    chats = [
        {"id": "c1", "conversation": [{"role": "user", "content": "hello"}]},
        {"id": "c2", "conversation": [{"role": "assistant", "content": "no user"}]},
        {"id": "c3", "conversation": [{"role": "user", "content": "tides"}]},
    ]
    (task / "chats.jsonl").write_text("".join(json.dumps(c) + "\n" for c in chats))
    dest = tmp_path / "out"
    assert main(["convert", "sygra", str(root / "tasks"), str(dest)]) == 0, capsys.readouterr()
    converted = dest / "examples" / "firsts"
    assert main(["run", str(converted), "--mock", "--overwrite"]) == 0
    rows = [json.loads(line) for line in (converted / "output" / "firsts.jsonl").open()]
    assert sorted(rows, key=lambda r: r["id"]) == [
        {"id": "c1", "first": "hello", "reply": "hello"},
        {"id": "c3", "first": "tides", "reply": "tides"},
    ]
