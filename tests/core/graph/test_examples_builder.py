"""Every example task gives the same records from YAML and from the Python builder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from grasp_core import Graph, RunOptions, Task, run_task
from grasp_core.mock_server import MockServer
from tests.conftest import REPO_ROOT

EXAMPLES = REPO_ROOT / "examples"
TASKS = sorted(
    p.relative_to(EXAMPLES)
    for p in EXAMPLES.rglob("*.yaml")
    if p.name != "models.yaml" and "output" not in p.parts and "data" not in p.parts
)


def test_every_example_task_is_covered() -> None:
    """The list below is not stale: it finds the shipped examples."""
    assert {str(t) for t in TASKS} >= {
        "quickstart/task.yaml",
        "paper_minimal/task.yaml",
        "paper_code_validation/task.yaml",
        "agent_tools/task.yaml",
        "dpo_pairs/task.yaml",
        "personas/task.yaml",
        "recipes/evol_instruct.yaml",
        "recipes/llm_judge.yaml",
        "recipes/critique_revise.yaml",
    }


@pytest.mark.parametrize("example", TASKS, ids=str)
def test_yaml_and_builder_forms_write_the_same_records(
    tmp_path: Path, mock_server: MockServer, example: Path
) -> None:
    """The builder (via a YAML round trip of its graph) reproduces the YAML task exactly."""
    folder = tmp_path / "example"
    shutil.copytree(EXAMPLES / example.parts[0], folder, ignore=shutil.ignore_patterns("output"))
    task_file = folder / Path(*example.parts[1:])
    yaml_task = Task.load(task_file)
    graph = Graph.from_yaml(Graph.from_yaml(task_file).to_yaml())
    blocks = {
        key: dict(yaml_task.data[key])
        for key in ("data_config", "output_config", "schema_config")
        if key in yaml_task.data
    }
    built = graph.to_task(**blocks, task_dir=task_file.parent, name=yaml_task.name)
    data = yaml_task.config.data_config
    count = 3 if data.source is None and data.num_records is None else None
    runs = []
    for name, task in (("yaml", yaml_task), ("builder", built)):
        options = RunOptions(mock=mock_server.url, output_dir=tmp_path / name, num_records=count)
        result = run_task(task, options)
        assert result.failed == 0, result.failure_reasons
        runs.append(sorted(json.dumps(record, sort_keys=True) for record in result.records()))
    assert runs[0] == runs[1]
    assert runs[0]
