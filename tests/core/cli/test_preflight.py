"""Mistakes that would fail every record after its model calls are refused before the first
call, by `grasp validate` and at the start of `grasp run`: a prompt variable nothing
provides, a row format whose field the output lacks, a row format with list columns
written to a CSV sink. A refused run sends no request and leaves no file behind."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from grasp_core.cli import main
from grasp_core.mock_server import MockServer
from tests.conftest import REPO_ROOT

QUICKSTART = REPO_ROOT / "examples" / "quickstart"


def grasp(*args: str) -> tuple[int, str, str]:
    """Run ``grasp ARGS`` in this process; return exit code, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def mock() -> Iterator[MockServer]:
    """A mock server of this test's own, so its request log holds this test's calls only."""
    server = MockServer()
    with server.running():
        yield server


def quickstart(tmp_path: Path, old: str = "", new: str = "") -> Path:
    """A copy of the quickstart example (without outputs), with ``old`` replaced by ``new``
    in its task file; returns the task file."""
    folder = tmp_path / "quickstart"
    shutil.copytree(QUICKSTART, folder, ignore=shutil.ignore_patterns("output", "__pycache__"))
    task = folder / "task.yaml"
    text = task.read_text(encoding="utf-8")
    assert old in text
    task.write_text(text.replace(old, new, 1), encoding="utf-8")
    return task


def line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


def refused_run(task: Path, mock: MockServer, *flags: str) -> str:
    """Run the task against ``mock``; assert exit 2, no request, nothing written; return
    the one error line."""
    code, out, err = grasp("run", str(task), "--mock-url", mock.url, "--quiet", *flags)
    assert (code, out) == (2, "")
    assert "Traceback" not in err
    (line,) = err.splitlines()
    assert mock.requests() == []
    assert not (task.parent / "output").exists()
    return line


def test_a_misspelt_prompt_variable_is_refused_before_any_call(
    tmp_path: Path, mock: MockServer
) -> None:
    """`{questoin}` in the quickstart: validate and run both give one line naming file, line,
    prompt path and `did you mean {question}`; the run sends nothing to the mock."""
    task = quickstart(tmp_path, '- user: "{question}"', '- user: "{questoin}"')
    line = line_of(task, "{questoin}")
    expected = (
        f"grasp: error: {task}:{line}: graph_config.nodes.answer.prompt[1]: {{questoin}} is "
        "not in the record's state when node 'answer' runs (did you mean {question}?)"
    )
    code, out, err = grasp("validate", str(task), "--mock")
    assert (code, out) == (2, "")
    (message,) = err.splitlines()
    assert message.startswith(expected)
    assert refused_run(task, mock).startswith(expected)


def test_a_corrected_task_then_runs_without_overwrite(tmp_path: Path, mock: MockServer) -> None:
    """The refused run left no journal, so the fixed task runs as a first run."""
    task = quickstart(tmp_path, '- user: "{question}"', '- user: "{questoin}"')
    refused_run(task, mock)
    task.write_text(task.read_text().replace("{questoin}", "{question}"), encoding="utf-8")
    code, _out, err = grasp("run", str(task), "--mock-url", mock.url, "--quiet")
    assert code == 0, err
    assert len(mock.requests()) == 3 * 12  # ask, answer and critique for 12 topics


def test_an_output_map_key_nothing_writes_is_refused(tmp_path: Path) -> None:
    """`from: anwser` in the output map fails validate at its line, with did-you-mean."""
    task = quickstart(tmp_path, "      from: answer\n", "      from: anwser\n")
    code, _out, err = grasp("validate", str(task), "--mock")
    assert code == 2
    (message,) = err.splitlines()
    line = line_of(task, "from: anwser")
    assert message.startswith(
        f"grasp: error: {task}:{line}: output_config.output_map.answer.from: 'anwser' is not "
        "in the record's state when the graph ends (did you mean 'answer'?)"
    )


@pytest.mark.parametrize("flags", [("--format", "sft"), ("--format", "dpo"), ("--oasst",)])
def test_a_conversation_format_without_a_conversation_is_refused(
    tmp_path: Path, mock: MockServer, flags: tuple[str, ...]
) -> None:
    """The quickstart's output has no `conversation`: `--format sft|dpo` and `--oasst` are
    refused at the output map, with the mapping that would give one."""
    task = quickstart(tmp_path)
    line = refused_run(task, mock, *flags)
    where = f"grasp: error: {task}:{line_of(task, '  output_map:')}: output_config.output_map: "
    assert line.startswith(where + " ".join(flags) + " writes rows from each record's ")
    assert "'conversation' field, which this task's output records do not have" in line
    assert "`conversation: {from: messages}`" in line


def test_sft_rows_to_a_csv_sink_are_refused(tmp_path: Path, mock: MockServer) -> None:
    """A CSV cell would hold `messages` as JSON text: refused at the sink's type, naming the
    sinks that keep lists."""
    task = quickstart(
        tmp_path, "  output_map:\n", "  output_map:\n    conversation: {from: messages}\n"
    )
    text = task.read_text().replace(
        "type: jsonl\n    file_path: output/qa.jsonl", "type: csv\n    file_path: output/qa.csv"
    )
    task.write_text(text, encoding="utf-8")
    line = refused_run(task, mock, "--format", "sft")
    assert line.startswith(
        f"grasp: error: {task}:{line_of(task, 'type: csv')}: data_config.sink.type: a csv sink "
        "writes lists and dicts as JSON text, and the rows of --format sft hold them in "
        "'messages'"
    )
    assert "Write these rows to a jsonl, parquet or hf sink" in line


def test_a_mapped_conversation_gives_sft_rows(tmp_path: Path, mock: MockServer) -> None:
    """With `conversation: {from: messages}` the quickstart writes one sft row per record,
    its turns in order (the positive side of the refusals above)."""
    task = quickstart(
        tmp_path, "  output_map:\n", "  output_map:\n    conversation: {from: messages}\n"
    )
    code, _out, err = grasp("run", str(task), "--mock-url", mock.url, "--quiet", "--format", "sft")
    assert code == 0, err
    rows = [json.loads(line) for line in (task.parent / "output" / "qa.jsonl").open()]
    assert len(rows) == 12
    assert all(set(row) == {"messages"} for row in rows)
    roles = [m["role"] for m in rows[0]["messages"]]
    assert roles == ["user", "assistant"] * 3
