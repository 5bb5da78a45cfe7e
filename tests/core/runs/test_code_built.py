"""Tasks built in Python: a default name from their content, so two of them in one folder
never share output files, and errors that name ``RunOptions`` fields, not CLI flags."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from grasp_core import END, START, Graph, RunOptions, Task, run_task
from grasp_core.cli import main
from grasp_core.errors import ResumeError


def greet(state: dict[str, object]) -> str:
    return "hello"


def shout(state: dict[str, object]) -> str:
    return "HELLO"


def built(step: object) -> Graph:
    return (
        Graph()
        .add_node("say", "lambda", output_keys="text", **{"lambda": step})
        .add_edge(START, "say")
        .add_edge("say", END)
    )


def test_code_built_tasks_without_a_sink_get_distinct_files(tmp_path: Path) -> None:
    """Two different graphs built in one folder, neither with a sink, write
    output/task-<8 hex>.jsonl each (named from their content); each runs again from its own
    journal, and a task given a name writes output/NAME.jsonl."""
    first = built(greet).to_task(data_config={"num_records": 3}, task_dir=tmp_path)
    second = built(shout).to_task(data_config={"num_records": 2}, task_dir=tmp_path)
    assert first.name != second.name
    assert re.fullmatch(r"task-[0-9a-f]{8}", first.name)
    a = run_task(first, RunOptions())
    b = run_task(second, RunOptions())
    assert a.output_paths == [tmp_path / "output" / f"{first.name}.jsonl"]
    assert b.output_paths == [tmp_path / "output" / f"{second.name}.jsonl"]
    texts = [json.loads(line)["text"] for line in a.output_paths[0].read_text().splitlines()]
    assert texts == ["hello"] * 3
    rebuilt = built(greet).to_task(data_config={"num_records": 3}, task_dir=tmp_path)
    assert rebuilt.name == first.name
    assert run_task(rebuilt, RunOptions(resume=True)).previously_done == 3
    named = Task.from_dict({**first.data}, task_dir=tmp_path, name="greetings")
    assert run_task(named, RunOptions()).output_paths == [tmp_path / "output/greetings.jsonl"]


def test_python_errors_name_runoptions_fields_and_the_cli_names_flags(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Run twice without resume: from Python the refusal names RunOptions(resume=True) and
    RunOptions(overwrite=True); the CLI's names --resume and --overwrite."""
    task = built(greet).to_task(data_config={"num_records": 2}, task_dir=tmp_path)
    run_task(task, RunOptions())
    with pytest.raises(ResumeError, match=r"RunOptions\(resume=True\).*RunOptions\(overwrite"):
        run_task(task, RunOptions())
    (tmp_path / "steps.py").write_text("def say(state):\n    return 'hi'\n")
    (tmp_path / "task.yaml").write_text(
        "data_config: {num_records: 2}\n"
        "graph_config:\n"
        "  nodes: {say: {node_type: lambda, lambda: steps.say, output_keys: text}}\n"
        "  edges: [{from: START, to: say}, {from: say, to: END}]\n"
    )
    assert main(["run", str(tmp_path / "task.yaml"), "--quiet"]) == 0
    assert main(["run", str(tmp_path / "task.yaml"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "Pass --resume to continue it, or --overwrite to start over" in err
    assert "RunOptions" not in err


def test_python_seed_errors_name_the_field(tmp_path: Path) -> None:
    """A resume with another seed is refused in RunOptions terms from Python."""
    task = built(greet).to_task(data_config={"num_records": 1}, task_dir=tmp_path)
    run_task(task, RunOptions(seed=1))
    with pytest.raises(ResumeError, match=r"started with RunOptions\(seed=1\).*Drop seed"):
        run_task(task, RunOptions(seed=2, resume=True))
