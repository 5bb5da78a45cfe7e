"""`grasp validate` refuses what `grasp run` would refuse before its first call: an unset
`api_key_env` of a model the task uses, and request parameters of the wrong type."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from grasp_core.cli import main
from tests.conftest import write_task

TASK = """\
data_config:
  num_records: 1
graph_config:
  nodes:
    ask:
      node_type: llm
      prompt: [{user: hello}]
      model: {name: used, parameters: {temperature: 0.2}}
  edges:
    - {from: START, to: ask}
    - {from: ask, to: END}
"""

MODELS = """\
used:
  model: openai/used
  api_key_env: GRASP_VALIDATE_USED_KEY
unused:
  model: openai/unused
  api_key_env: GRASP_VALIDATE_UNUSED_KEY
"""


def grasp(*args: str) -> tuple[int, str, str]:
    """Run ``grasp ARGS`` in this process; return exit code, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def task(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("GRASP_VALIDATE_USED_KEY", raising=False)
    monkeypatch.delenv("GRASP_VALIDATE_UNUSED_KEY", raising=False)
    return write_task(tmp_path, TASK, {"models.yaml": MODELS})


def test_an_unset_key_variable_of_a_used_model_is_one_error_line(task: Path) -> None:
    """The line names the node, the model, its entry in the models file and the variable."""
    code, out, err = grasp("validate", str(task))
    assert (code, out) == (2, "")
    (line,) = err.splitlines()
    assert line.startswith(f"grasp: error: {task}:5: graph_config.nodes.ask: model 'used' (")
    assert f"{task.parent / 'models.yaml'}:1)" in line
    assert "'GRASP_VALIDATE_USED_KEY'" in line
    assert "is not set" in line
    assert "grasp validate --mock" in line


def test_with_the_key_set_or_for_the_mock_the_task_validates(
    task: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A model the task does not use needs no key; `--mock` needs none at all; `grasp
    graph` draws the task without keys."""
    assert grasp("validate", str(task), "--mock")[0] == 0
    assert grasp("graph", str(task))[0] == 0
    monkeypatch.setenv("GRASP_VALIDATE_USED_KEY", "a-key-nobody-sees-1234")
    code, out, err = grasp("validate", str(task))
    assert (code, out, err) == (0, f"{task}: ok (1 nodes, 2 edges)\n", "")


def test_a_parameter_of_the_wrong_type_fails_validate(task: Path) -> None:
    """`temperature: hot` is refused at its line, before any call."""
    task.write_text(TASK.replace("temperature: 0.2", "temperature: hot"), encoding="utf-8")
    code, _out, err = grasp("validate", str(task), "--mock")
    assert code == 2
    assert err == (
        f"grasp: error: {task}:8: graph_config.nodes.ask.model.parameters.temperature: "
        "input should be a valid number (got 'hot')\n"
    )


def test_validate_lists_every_problem_a_line_each(tmp_path: Path) -> None:
    """Two independent mistakes (a node key and the sink's type) are both reported, each on
    its own `file:line: path: message` line, not only the first."""
    task = write_task(
        tmp_path,
        """\
data_config:
  num_records: 1
  sink: {type: jsonll, file_path: out.jsonl}
graph_config:
  nodes:
    ask:
      node_type: llm
      prompt: [{user: hello}]
      model: {name: used}
      bogus_key: 1
  edges:
    - {from: START, to: ask}
    - {from: ask, to: END}
""",
    )
    code, out, err = grasp("validate", str(task), "--mock")
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 2, err
    assert lines[0].startswith("grasp: error: ")
    assert any(":10: graph_config.nodes.ask.bogus_key: unknown key 'bogus_key'" in x for x in lines)
    assert any(":3: data_config.sink.type: unknown sink type 'jsonll'" in x for x in lines)
