"""``grasp convert sygra``: folders written here in SyGra's shape (a repository root holding
``tasks/examples/<task>``), converted, then validated and run with ``grasp run --mock``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grasp_core.cli.app import main
from grasp_core.config.sygra_python import rewrite_imports

GRAPH_CONFIG = """\
# A SyGra task: answers a question.
data_config:
  source: {type: disk, file_path: questions.jsonl}
  sink: {type: jsonl, file_path: output/answers.jsonl}
graph_config:
  nodes:
    prepare:
      node_type: lambda
      lambda: tasks.examples.qa.task_executor.Prepare  # SyGra's path, from its repo root
      function_type: sync
      suffix: "?"
      output_keys: [question]
    answer:
      node_type: llm
      output_key: answer  # SyGra's singular key
      post_process: tasks.examples.qa.task_executor.AnswerPost
      prompt:
        - user: "{question}"
      model:
        name: writer
        temperature: 0.3  # a request parameter under model
  edges:
    - {from: START, to: prepare}
    - {from: prepare, to: answer}
    - from: answer
      condition: tasks.examples.qa.task_executor.Done
      path_map: {END: END, prepare: prepare}
output_config:
  output_map:
    id: {from: id}
    question: {from: question}
    answer: {from: answer}
"""

TASK_EXECUTOR = """\
from sygra.core.graph.functions.edge_condition import EdgeCondition
from sygra.core.graph.functions.lambda_function import LambdaFunction
from sygra.core.graph.functions.node_processor import NodePostProcessor
from sygra.core.graph.sygra_state import SygraState
from sygra.utils import constants


class Prepare(LambdaFunction):
    def apply(lambda_node_dict, state: SygraState) -> SygraState:
        state["question"] = state["topic"] + lambda_node_dict["suffix"]
        return state


class AnswerPost(NodePostProcessor):
    def apply(self, response):
        return {"answer": response.message.content.strip()}


class Done(EdgeCondition):
    def apply(state: SygraState) -> str:
        return constants.SYGRA_END
"""

MODELS = """\
# SyGra's models
writer:
  model_type: vllm  # served by vLLM
  model_serving_name: qwen
  parameters: {temperature: 0.7}
old:
  model_type: triton
"""


def _sygra_repo(root: Path) -> Path:
    task = root / "tasks" / "examples" / "qa"
    task.mkdir(parents=True)
    (task / "graph_config.yaml").write_text(GRAPH_CONFIG, encoding="utf-8")
    (task / "task_executor.py").write_text(TASK_EXECUTOR, encoding="utf-8")
    (task / "questions.jsonl").write_text('{"topic": "Why is the sky blue"}\n', encoding="utf-8")
    (root / "models.yaml").write_text(MODELS, encoding="utf-8")
    return task


def _convert(src: Path, dest: Path, *extra: str) -> int:
    return main(["convert", "sygra", str(src), str(dest), *extra])


def test_converted_task_runs_with_mock(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A converted SyGra task is a task.yaml in GraSP's spelling that runs with --mock."""
    _sygra_repo(tmp_path / "sygra")
    dest = tmp_path / "out"
    assert _convert(tmp_path / "sygra" / "tasks", dest) == 0, capsys.readouterr()
    task = dest / "examples" / "qa"
    text = (task / "task.yaml").read_text(encoding="utf-8")
    assert not (task / "graph_config.yaml").exists()
    assert "lambda: task_executor.Prepare" in text
    assert "condition: task_executor.Done" in text
    assert "output_keys: answer" in text
    assert "output_key:" not in text
    assert "function_type" not in text
    assert "parameters:" in text
    assert "temperature: 0.3" in text
    assert "from grasp_nodes.sygra_compat import EdgeCondition" in (
        task / "task_executor.py"
    ).read_text(encoding="utf-8")
    assert main(["run", str(task), "--mock", "--overwrite"]) == 0
    rows = [json.loads(line) for line in (task / "output" / "answers.jsonl").open()]
    assert rows == [
        {"id": "0", "question": "Why is the sky blue?", "answer": "Why is the sky blue?"}
    ]


def test_comments_and_order_are_kept(tmp_path: Path) -> None:
    """Comments of graph_config.yaml survive in task.yaml, and keys keep their order."""
    _sygra_repo(tmp_path / "sygra")
    _convert(tmp_path / "sygra", tmp_path / "out")
    text = (tmp_path / "out" / "tasks" / "examples" / "qa" / "task.yaml").read_text()
    assert text.startswith("# A SyGra task: answers a question.\n")
    assert "# SyGra's path, from its repo root" in text
    assert "# a request parameter under model" in text
    assert text.index("data_config") < text.index("graph_config") < text.index("output_config")
    assert text.index("output_keys: answer") < text.index("post_process:")


def test_report_lists_what_was_not_converted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Unmapped SyGra imports, refused models and refused node keys are reported by file,
    and a task whose file cannot be converted gets no task.yaml."""
    task = _sygra_repo(tmp_path / "sygra")
    (task / "helpers.py").write_text("from sygra.core.eval import metrics\n", encoding="utf-8")
    bad = task.parent / "bad"
    bad.mkdir()
    (bad / "graph_config.yaml").write_text(
        GRAPH_CONFIG.replace("name: writer", "name: writer\n        provider: openai"),
        encoding="utf-8",
    )
    dest = tmp_path / "out"
    code = _convert(tmp_path / "sygra", dest, "--models", str(tmp_path / "sygra" / "models.yaml"))
    printed = capsys.readouterr().out
    report = (dest / "CONVERT_REPORT.md").read_text(encoding="utf-8")
    assert code == 1
    assert printed == report
    assert "tasks/examples/qa/helpers.py:1: `from sygra.core.eval import ...`" in report
    assert "model.provider" in report
    assert "tasks/examples/bad/graph_config.yaml:" in report
    assert "SyGra model 'old' has model_type 'triton'" in report
    assert not (dest / "tasks" / "examples" / "bad" / "task.yaml").exists()
    models = (dest / "tasks" / "examples" / "qa" / "models.yaml").read_text(encoding="utf-8")
    assert "# served by vLLM" in models
    assert "old:" not in models


def test_second_run_refuses_then_is_idempotent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Converting into a non-empty folder needs --overwrite; with it the output is the same."""
    _sygra_repo(tmp_path / "sygra")
    dest = tmp_path / "out"
    assert _convert(tmp_path / "sygra", dest) == 0
    first = {p: p.read_bytes() for p in dest.rglob("*") if p.is_file()}
    assert _convert(tmp_path / "sygra", dest) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert _convert(tmp_path / "sygra", dest, "--overwrite") == 0
    assert {p: p.read_bytes() for p in dest.rglob("*") if p.is_file()} == first


def test_module_outside_the_task_folder_is_copied_in(tmp_path: Path) -> None:
    """A dotted path to a module of the tree outside the task's folder names a copy of it in
    the converted task's ``_sygra_shared`` folder (GraSP resolves from the task's folder)."""
    task = _sygra_repo(tmp_path / "sygra")
    shared = task.parent / "shared.py"
    shared.write_text("class Prepare:\n    pass\n", encoding="utf-8")
    text = GRAPH_CONFIG.replace(
        "tasks.examples.qa.task_executor.Prepare", "tasks.examples.shared.Prepare"
    )
    (task / "graph_config.yaml").write_text(text, encoding="utf-8")
    dest = tmp_path / "out"
    _convert(tmp_path / "sygra", dest)
    converted = dest / "tasks" / "examples" / "qa"
    assert "lambda: _sygra_shared.tasks.examples.shared.Prepare" in (
        converted / "task.yaml"
    ).read_text(encoding="utf-8")
    copy = converted / "_sygra_shared" / "tasks" / "examples" / "shared.py"
    assert copy.read_text(encoding="utf-8") == shared.read_text(encoding="utf-8")


RECIPE = """\
graph_config:
  nodes:
    reply:
      node_type: llm
      output_key: reply
      prompt:
        - user: "{topic}"
      model: {name: writer, max_tokens: 50}
  edges:
    - {from: START, to: reply}
    - {from: reply, to: END}
"""

USES_RECIPE = """\
data_config:
  source: {type: disk, file_path: questions.jsonl}
  sink: {type: jsonl, file_path: output/replies.jsonl}
graph_config:
  nodes:
    inner:
      node_type: subgraph
      subgraph: tasks.recipes.reply  # a folder, from SyGra's root
  edges:
    - {from: START, to: inner}
    - {from: inner, to: END}
output_config:
  output_map:
    reply: {from: reply}
"""


def test_subgraph_folder_becomes_a_graph_path(tmp_path: Path) -> None:
    """`subgraph: tasks.recipes.x` (a folder from SyGra's root) becomes `graph:` naming the
    converted folder's task.yaml from the task's folder, and the task runs."""
    root = tmp_path / "sygra"
    recipe, task = root / "tasks" / "recipes" / "reply", root / "tasks" / "examples" / "uses"
    recipe.mkdir(parents=True)
    task.mkdir(parents=True)
    (recipe / "graph_config.yaml").write_text(RECIPE, encoding="utf-8")
    (task / "graph_config.yaml").write_text(USES_RECIPE, encoding="utf-8")
    (task / "questions.jsonl").write_text('{"topic": "tides"}\n', encoding="utf-8")
    dest = tmp_path / "out"
    assert _convert(root / "tasks", dest) == 0
    text = (dest / "examples" / "uses" / "task.yaml").read_text(encoding="utf-8")
    assert "graph: ../../recipes/reply/task.yaml # a folder, from SyGra's root" in text
    report = (dest / "CONVERT_REPORT.md").read_text(encoding="utf-8")
    assert "## Converted subgraphs (no data_config: not run alone)\n\n- `recipes/reply`" in report
    assert main(["run", str(dest / "examples" / "uses"), "--mock", "--overwrite"]) == 0
    rows = (dest / "examples" / "uses" / "output" / "replies.jsonl").read_text(encoding="utf-8")
    assert json.loads(rows) == {"reply": "tides"}


def test_multiline_and_aliased_imports_are_rewritten() -> None:
    """A parenthesised import over several lines, with aliases, becomes one compat import;
    a SyGra import the compat module lacks is kept and reported with its line."""
    source = (
        "import os\n"
        "from sygra.core.graph.functions.node_processor import (\n"
        "    NodePreProcessor as Pre,\n"
        "    NodePostProcessor,\n"
        ")\n"
        "from sygra.core.graph.graph_builder import GraphBuilder\n"
    )
    text, problems = rewrite_imports(source, name="t.py")
    assert text == (
        "import os\n"
        "from grasp_nodes.sygra_compat import NodePreProcessor as Pre, NodePostProcessor\n"
        "from sygra.core.graph.graph_builder import GraphBuilder\n"
    )
    assert len(problems) == 1
    assert problems[0].startswith("t.py:6: `from sygra.core.graph.graph_builder import ...`")
