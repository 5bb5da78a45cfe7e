"""The `grasp` command line, run as a real subprocess: exit codes, messages, files written."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT, write_task

EXAMPLES = REPO_ROOT / "examples"

FAILING_TASK = """\
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out/result.jsonl}
graph_config:
  nodes:
    check: {node_type: lambda, lambda: steps.check, output_keys: half}
  edges:
    - {from: START, to: check}
    - {from: check, to: END}
"""

STEPS = """\
def check(state):
    if state["n"] % 2:
        raise ValueError(f"odd n={state['n']}")
    return state["n"] // 2
"""


def grasp(
    *args: str | Path, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m grasp_core ARGS`` and capture its output."""
    base = {k: v for k, v in os.environ.items() if k != "GRASP_MODELS"}
    return subprocess.run(
        [sys.executable, "-m", "grasp_core", *map(str, args)],
        cwd=cwd,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def failing_task(folder: Path) -> Path:
    """A task over r0..r3 whose lambda fails the records with odd ``n`` (r1, r3)."""
    rows = "".join(json.dumps({"id": f"r{i}", "n": i}) + "\n" for i in range(4))
    return write_task(folder, FAILING_TASK, {"steps.py": STEPS, "data.jsonl": rows})


def test_help_lists_the_commands(tmp_path: Path) -> None:
    """`grasp --help` shows run, validate and mock-server."""
    done = grasp("--help", cwd=tmp_path)
    assert done.returncode == 0
    for command in ("run", "validate", "mock-server"):
        assert command in done.stdout


def test_validate_accepts_a_good_example(tmp_path: Path) -> None:
    """`grasp validate` on a shipped example prints ok with the graph's size and exits 0."""
    task = EXAMPLES / "paper_code_validation" / "task.yaml"
    done = grasp("validate", task, cwd=tmp_path, env={"MISTRAL_API_KEY": "unused"})
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.strip() == f"{task}: ok (2 nodes, 3 edges)"


@pytest.mark.parametrize(
    ("good", "bad", "needle"),
    [
        ("    - {from: check, to: END}", "    - {from: check, too: END}", "too:"),
        ("    check: {", "    check: node_type: {", "check: node_type"),
        ("    - {from: check, to: END}", "    - {from: chek, to: END}", "chek"),
    ],
    ids=["key-typo", "yaml-syntax", "unknown-node"],
)
def test_validate_reports_a_bad_task_in_one_line(
    tmp_path: Path, good: str, bad: str, needle: str
) -> None:
    """A bad task gives one `grasp: error:` line naming file:line, exit 2, no traceback."""
    files = {"steps.py": STEPS, "data.jsonl": '{"n": 2}\n'}  # one problem, not two
    task = write_task(tmp_path, FAILING_TASK.replace(good, bad), files)
    line = next(i for i, text in enumerate(task.read_text().splitlines(), 1) if needle in text)
    done = grasp("validate", "task.yaml", cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    (message,) = done.stderr.splitlines()
    assert message.startswith(f"grasp: error: task.yaml:{line}: ")


def test_run_example_against_the_mock(tmp_path: Path) -> None:
    """`grasp run --mock` on the code-validation example writes its 5 records and exits 0."""
    example = tmp_path / "example"
    shutil.copytree(EXAMPLES / "paper_code_validation", example)
    shutil.rmtree(example / "output", ignore_errors=True)
    out = tmp_path / "run"

    done = grasp("run", example / "task.yaml", "--mock", "--output-dir", out, cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    records = read_jsonl(out / "output" / "validated_output.jsonl")
    assert sorted(r["id"] for r in records) == [1, 2, 3, 4, 5]
    assert all(set(r) == {"id", "solution", "validity"} for r in records)
    assert read_jsonl(out / "output" / "validated_output.failures.jsonl") == []
    assert "written          5" in done.stdout
    assert not (example / "output").exists()


def test_failed_records_exit_1_and_land_in_the_failures_file(tmp_path: Path) -> None:
    """Records that fail make the run exit 1 and are written with id, node and reason."""
    failing_task(tmp_path)
    done = grasp("run", "task.yaml", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    written = read_jsonl(tmp_path / "out" / "result.jsonl")
    assert sorted((r["id"], r["half"]) for r in written) == [("r0", 0), ("r2", 1)]
    failures = sorted(read_jsonl(tmp_path / "out" / "result.failures.jsonl"), key=lambda f: f["id"])
    assert [(f["id"], f["node"]) for f in failures] == [("r1", "check"), ("r3", "check")]
    assert all("ValueError: odd n=" in f["reason"] for f in failures)
    assert "failed           2" in done.stdout


@pytest.mark.parametrize(("budget", "code"), [("2", 0), ("0.5", 0), ("1", 1), ("0.25", 1)])
def test_allowed_failures_sets_the_exit_code(tmp_path: Path, budget: str, code: int) -> None:
    """Failures within --allowed-failures (a count, or a fraction below 1) exit 0."""
    failing_task(tmp_path)
    done = grasp("run", "task.yaml", "--allowed-failures", budget, cwd=tmp_path)
    assert done.returncode == code, done.stderr
    assert len(read_jsonl(tmp_path / "out" / "result.failures.jsonl")) == 2


def test_second_run_needs_resume_or_overwrite(tmp_path: Path) -> None:
    """Running a task again over its own output is refused, naming --resume and --overwrite."""
    failing_task(tmp_path)
    assert grasp("run", "task.yaml", "--quiet", cwd=tmp_path).returncode == 1
    first = (tmp_path / "out" / "result.jsonl").read_text()

    again = grasp("run", "task.yaml", cwd=tmp_path)

    assert again.returncode == 2
    assert "Traceback" not in again.stderr
    (message,) = again.stderr.splitlines()
    assert message.startswith("grasp: error: ")
    assert "--resume" in message
    assert "--overwrite" in message
    assert (tmp_path / "out" / "result.jsonl").read_text() == first
    assert grasp("run", "task.yaml", "--overwrite", "--quiet", cwd=tmp_path).returncode == 1
