"""Mistakes a new user makes in the first hour each get one `grasp: error:` line that says
where and what to do: a port already taken, `grasp tag --tasks judge` with no models, a data
file that is not there, a value of the wrong type, a folder without a task file."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from grasp_core.cli import main
from grasp_core.cli.options import EXIT_ERROR
from tests.conftest import copy_task_yaml, write_task


def one_error(capsys: pytest.CaptureFixture[str]) -> str:
    """The single line a failed command printed (on stderr; nothing on stdout)."""
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "Traceback" not in captured.err
    (line,) = captured.err.splitlines()
    assert line.startswith("grasp: error: ")
    return line.removeprefix("grasp: error: ")


def line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A loopback port something already listens on."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def test_a_taken_port_is_one_line(taken_port: int, capsys: pytest.CaptureFixture[str]) -> None:
    """`grasp mock-server --port N` on a port in use: exit 2, one line naming the address,
    the reason and what to do; no traceback."""
    code = main(["mock-server", "--port", str(taken_port), "--max-seconds", "5"])
    assert code == EXIT_ERROR
    assert one_error(capsys) == (
        f"the mock server cannot listen on 127.0.0.1:{taken_port}: Address already in use; "
        "another server may be running there: choose another port (--port; 0 picks a free one)"
    )


def conversations(folder: Path) -> Path:
    rows = [
        {
            "id": i,
            "conversation": [
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": "hello"},
            ],
        }
        for i in range(3)
    ]
    path = folder / "chats.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("models", "needles"),
    [
        (None, ["no models file was found", "--mock", "--models FILE", "--judge-model NAME"]),
        (
            "writer: {model: openai/gpt-4o-mini}\n",
            ["does not have (it has: writer)", "--judge-model NAME", "--mock"],
        ),
    ],
    ids=["no-models-file", "no-judge-entry"],
)
def test_tag_judge_without_a_judge_model_is_one_hint(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    models: str | None,
    needles: list[str],
) -> None:
    """`grasp tag --tasks judge` with no model for the judge says once how to give it one
    (not once per rubric node), before anything is written."""
    monkeypatch.chdir(tmp_path)
    if models is not None:
        (tmp_path / "models.yaml").write_text(models, encoding="utf-8")
    source = conversations(tmp_path)

    code = main(["tag", str(source), "-o", "tagged.jsonl", "--tasks", "judge"])

    assert code == EXIT_ERROR
    message = one_error(capsys)
    assert message.startswith("--tasks judge calls the model 'judge'")
    assert all(needle in message for needle in needles), message
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["chats.jsonl", *(["models.yaml"] if models else [])]
    )


def test_a_missing_data_file_names_the_task_file_line_and_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A source file that is not there: task file, line and YAML path first, like every
    other mistake in the task file, at validate and at run."""
    task = write_task(tmp_path, copy_task_yaml(), {"steps.py": "def copy(state):\n    return 1\n"})
    line = line_of(task, "source:")
    for command in (["validate", str(task)], ["run", str(task)]):
        assert main(command) == EXIT_ERROR
        assert one_error(capsys).startswith(
            f"{task}:{line}: data_config.source: data file {str(tmp_path / 'data.jsonl')!r} "
            "does not exist"
        )


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            ("output_keys: copied", "output_keys: 42"),
            "graph_config.nodes.copy.output_keys: expected a string or a list (got 42)",
        ),
        (
            ("output_keys: copied", "output_keys: {a: 1}"),
            "graph_config.nodes.copy.output_keys: expected a string or a list (got a mapping)",
        ),
        (
            ("output_keys: copied", "output_keys: [1]"),
            "graph_config.nodes.copy.output_keys[0]: input should be a valid string (got 1)",
        ),
        (
            ("output_keys: copied", "output_keys: ['']"),
            "graph_config.nodes.copy.output_keys[0]: string should have at least 1 character "
            "(got '')",
        ),
        (
            ("sink: {type: jsonl, file_path: out.jsonl}", "sink: 5"),
            "data_config.sink: expected a mapping or a list (got 5)",
        ),
    ],
    ids=["int", "mapping", "list-item", "empty-key", "sink"],
)
def test_a_value_of_the_wrong_type_is_one_line_in_the_house_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], edit: tuple[str, str], expected: str
) -> None:
    """A value that fits no member of a union is one line saying what each expected (or,
    when a list was right, what its item should be), never an internal class name."""
    task = write_task(tmp_path, copy_task_yaml().replace(*edit), {"data.jsonl": ""})
    line = line_of(task, edit[1])
    assert main(["validate", str(task)]) == EXIT_ERROR
    assert one_error(capsys) == f"{task}:{line}: {expected}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("42\n", "<top level>: expected a mapping (got 42)"),
        ("- a\n", "<top level>: expected a mapping (got a list)"),
    ],
)
def test_a_task_file_that_is_not_a_mapping_names_no_class(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    """A task file holding a number or a list: one line, in YAML's words (no `TaskConfig`)."""
    task = tmp_path / "task.yaml"
    task.write_text(text, encoding="utf-8")
    assert main(["validate", str(task)]) == EXIT_ERROR
    message = one_error(capsys)
    assert message == f"{task}: {expected}"
    assert "Config" not in message


def test_a_folder_holding_graph_config_yaml_is_a_task(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`grasp validate DIR` and `grasp run DIR` read DIR/task.yaml, else SyGra's
    DIR/graph_config.yaml; a folder with neither is one line naming both."""
    write_task(
        tmp_path,
        copy_task_yaml(),
        {"data.jsonl": '{"id": 1}\n', "steps.py": "def copy(state):\n    return 1\n"},
    )
    (tmp_path / "task.yaml").rename(tmp_path / "graph_config.yaml")

    assert main(["validate", str(tmp_path)]) == 0
    assert capsys.readouterr().out == f"{tmp_path}: ok (1 nodes, 2 edges)\n"
    assert main(["run", str(tmp_path), "--quiet"]) == 0
    assert (tmp_path / "out.jsonl").read_text().count("\n") == 1

    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["validate", str(empty)]) == EXIT_ERROR
    assert one_error(capsys) == (
        f"{empty}: a folder without task.yaml or graph_config.yaml; pass the task file itself"
    )
