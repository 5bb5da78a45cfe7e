"""``task_problems``: ``grasp validate``'s findings as data, with file, line, path, node."""

from __future__ import annotations

import shutil
from pathlib import Path

import anyio

import grasp_core
from grasp_core.errors import ConfigError
from grasp_core.runs.problems import problems_of
from tests.conftest import REPO_ROOT, copy_task_yaml, write_task


def test_a_valid_task_has_no_problems(tmp_path: Path) -> None:
    """The one-node copy task checks clean."""
    task = write_task(
        tmp_path,
        copy_task_yaml(),
        {"steps.py": "def copy(state):\n    return 1\n", "data.jsonl": "{}\n"},
    )
    assert anyio.run(lambda: grasp_core.task_problems(task)) == []


def test_a_problem_carries_its_line_path_and_node(tmp_path: Path) -> None:
    """An unknown key in a node: the task file, the key's line, its YAML path, the node."""
    yaml = copy_task_yaml().replace("output_keys: copied", "output_keys: copied\n      colour: red")
    files = {"steps.py": "def copy(state):\n    return 1\n", "data.jsonl": "{}\n"}
    task = write_task(tmp_path, yaml, files)
    [problem] = anyio.run(lambda: grasp_core.task_problems(task))
    assert problem.file == str(task)
    assert problem.line == yaml.splitlines().index("      colour: red") + 1
    assert problem.path == "graph_config.nodes.copy.colour"
    assert problem.node == "copy"
    assert problem.message.startswith("unknown key 'colour'")
    assert problem.to_dict()["node"] == "copy"


def test_every_line_of_a_multi_problem_error_is_one_problem() -> None:
    """An error listing several places gives one problem each; one with no place gives
    one problem holding the whole message."""
    error = ConfigError(
        "invalid task configuration:\n"
        "  t.yaml:4: data_config.sink: expected a mapping\n"
        "  t.yaml:9: graph_config.edges[1].to: unknown node 'x'"
    )
    problems = problems_of(error)
    assert [(p.line, p.path, p.node) for p in problems] == [
        (4, "data_config.sink", None),
        (9, "graph_config.edges[1].to", None),
    ]
    [bare] = problems_of(ConfigError("the models file is missing"))
    assert (bare.file, bare.line, bare.message) == (None, None, "the models file is missing")


def _quickstart(folder: Path, *edits: tuple[str, str]) -> Path:
    """A copy of the quickstart example with each ``(old, new)`` text edit made once."""
    shutil.copytree(
        REPO_ROOT / "examples" / "quickstart", folder, ignore=shutil.ignore_patterns("output")
    )
    task = folder / "task.yaml"
    text = task.read_text(encoding="utf-8")
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    task.write_text(text, encoding="utf-8")
    return task


_TWO_BAD_NODES = (
    ("output_keys: question\n", "output_keys: question\n      temprature: 3\n"),
    (
        "      model:\n        name: judge\n",
        "      colour: red\n      model:\n        name: judge\n",
    ),
)
_BAD_EDGE = ("      to: word_count\n", "      to: word_cont\n")
_BAD_SINK = ("    type: jsonl\n", "    type: jsonll\n")


def test_each_part_of_a_loading_task_reports_its_problems(tmp_path: Path) -> None:
    """Two broken nodes, an edge to an unknown node and an unknown sink type: four
    problems, each on its own line and path (not only the graph's first phase)."""
    task = _quickstart(tmp_path / "q", *_TWO_BAD_NODES, _BAD_EDGE, _BAD_SINK)
    problems = anyio.run(lambda: grasp_core.task_problems(task, mock=True))
    assert sorted((p.path, p.node) for p in problems) == [
        ("data_config.sink.type", None),
        ("graph_config.edges[3].to", None),
        ("graph_config.nodes.ask.temprature", "ask"),
        ("graph_config.nodes.critique.colour", "critique"),
    ]
    lines = task.read_text(encoding="utf-8").splitlines()
    assert {p.path: lines[p.line - 1].strip() for p in problems if p.line} == {
        "data_config.sink.type": "type: jsonll",
        "graph_config.edges[3].to": "to: word_cont",
        "graph_config.nodes.ask.temprature": "temprature: 3",
        "graph_config.nodes.critique.colour": "colour: red",
    }


def test_a_task_that_does_not_load_still_gets_its_sound_parts_checked(tmp_path: Path) -> None:
    """A bad key in output_config stops the task from loading; the nodes and the sink are
    still checked, and each problem is listed once."""
    bad_map = ("      from: answer_words\n", "      form: answer_words\n")
    task = _quickstart(tmp_path / "q", *_TWO_BAD_NODES, _BAD_SINK, bad_map)
    problems = anyio.run(lambda: grasp_core.task_problems(task, mock=True))
    assert sorted(p.path or "" for p in problems) == [
        "data_config.sink.type",
        "graph_config.nodes.ask.temprature",
        "graph_config.nodes.critique.colour",
        "output_config.output_map.answer_words.form",
    ]


def test_a_yaml_syntax_error_is_the_one_problem(tmp_path: Path) -> None:
    """Text that is not YAML: one problem on its line, nothing else is guessed."""
    task = _quickstart(
        tmp_path / "q",
        ("    critique:\n      node_type", "    critique:\n  : : [\n      node_type"),
    )
    [problem] = anyio.run(lambda: grasp_core.task_problems(task, mock=True))
    assert (problem.file, problem.line) == (str(task), 34)  # the line that is not YAML
    assert "fix the YAML syntax" in problem.message
