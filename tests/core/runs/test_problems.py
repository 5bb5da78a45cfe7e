"""``task_problems``: ``grasp validate``'s findings as data, with file, line, path, node."""

from __future__ import annotations

from pathlib import Path

import anyio

import grasp_core
from grasp_core.errors import ConfigError
from grasp_core.runs.problems import problems_of
from tests.conftest import copy_task_yaml, write_task


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
    task = write_task(tmp_path, yaml, {"steps.py": "def copy(state):\n    return 1\n"})
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
