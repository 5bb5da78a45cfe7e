"""Live progress: JSON lines off a terminal, a rich display on one, nothing with --quiet or
from Python unless asked; and the CLI's budget exit code."""

from __future__ import annotations

import json
import os
import pty
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from grasp_core import ModelCatalog, RunOptions, SourceItem, Task, run_task
from grasp_core.runs import RunHooks, TaskRun
from tests.conftest import write_task
from tests.core.cli.test_cli import grasp

TASK = """
data_config:
  num_records: {n}
  sink: {{type: jsonl, file_path: out.jsonl}}
graph_config:
  nodes:
    ask:
      node_type: llm
      output_keys: answer
      prompt: [{{user: "{tag} one two three [[mock:latency=0.02]]"}}]
      model: {{name: m}}
  edges:
    - {{from: START, to: ask}}
    - {{from: ask, to: END}}
"""

MODELS = "m: {model: hosted_vllm/m, cost: {input_per_million: 1, output_per_million: 2}}\n"


def _task(folder: Path, n: int = 20) -> Path:
    return write_task(folder, TASK.format(n=n, tag=folder.name), {"models.yaml": MODELS})


def _progress_lines(stderr: str) -> list[dict[str, Any]]:
    events = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    return [e for e in events if e.get("event") == "progress"]


def test_json_progress_lines_off_a_terminal(tmp_path: Path, mock_url: str) -> None:
    """Without a terminal, progress is structlog JSON lines with counts, tokens and backend
    load; the last one is final and counts every record."""
    task = _task(tmp_path)
    done = grasp(
        "run", task, "--mock-url", mock_url, "--window", "2", "--progress-every", "0.05",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = _progress_lines(done.stderr)
    assert len(lines) >= 3
    assert [line["final"] for line in lines] == [False] * (len(lines) - 1) + [True]
    last = lines[-1]
    assert (last["done"], last["failed"], last["in_flight"], last["total"]) == (20, 0, 0, 20)
    assert last["prompt_tokens"] > 0
    assert last["cost_usd"] > 0
    assert last["backends"]["m"]["limit"] >= 1
    dones = [line["done"] for line in lines]
    assert dones == sorted(dones)
    assert dones[0] < 20


def test_quiet_prints_no_progress_and_no_summary(tmp_path: Path, mock_url: str) -> None:
    """--quiet silences both the summary and the progress reports."""
    done = grasp("run", _task(tmp_path, 3), "--mock-url", mock_url, "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert _progress_lines(done.stderr) == []


def test_python_runs_show_progress_only_when_asked(
    tmp_path: Path, mock_url: str, capfd: pytest.CaptureFixture[str]
) -> None:
    """run_task prints nothing by default; progress="json" writes JSON lines to stderr."""
    task = _task(tmp_path, 3)
    run_task(task, RunOptions(mock=mock_url))
    assert capfd.readouterr().err == ""
    run_task(task, RunOptions(mock=mock_url, overwrite=True, progress="json"))
    lines = _progress_lines(capfd.readouterr().err)
    assert lines
    assert lines[-1]["done"] == 3
    assert lines[-1]["final"] is True


def test_budget_exit_code_and_resume_with_a_higher_cap(tmp_path: Path, mock_url: str) -> None:
    """Reaching --max-tokens exits 3 with the resume command; a higher cap finishes (exit 0)
    and the output holds every record once."""
    task = _task(tmp_path)
    args = ("run", task, "--mock-url", mock_url, "--window", "2", "--quiet")
    stopped = grasp(*args, "--max-tokens", "30", cwd=tmp_path)
    assert stopped.returncode == 3, stopped.stderr
    assert "budget reached" in stopped.stderr
    assert "--resume" in stopped.stderr
    finished = grasp(*args, "--resume", "--max-tokens", "100000", cwd=tmp_path)
    assert finished.returncode == 0, finished.stderr
    ids = [json.loads(line)["id"] for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert sorted(ids, key=int) == [str(i) for i in range(20)]


def _run_in_pty(argv: list[str], cwd: Path, timeout: float = 60) -> tuple[int, str]:
    """Run ``argv`` with a pseudo-terminal as its stdin, stdout and stderr."""
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        os.chdir(cwd)
        os.environ.pop("GRASP_MODELS", None)
        os.environ["COLUMNS"] = "120"
        os.execv(sys.executable, [sys.executable, *argv])
    output = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), output.decode(errors="replace")


def test_rich_progress_on_a_terminal(tmp_path: Path, mock_url: str) -> None:
    """On a terminal the live display shows records, counts, tokens and the backend; the
    summary table follows."""
    task = _task(tmp_path, 12)
    argv = ["-m", "grasp_core", "run", str(task), "--mock-url", mock_url, "--window", "2"]
    code, output = _run_in_pty(argv, tmp_path)
    assert code == 0, output
    assert "records" in output
    assert "12/12" in output
    assert "done 12" in output
    assert "backend m" in output
    assert "tokens" in output
    assert "model calls by model" in output
    assert '"event": "progress"' not in output


@pytest.mark.parametrize("every", [-1.0, 0.0, 0.001, float("nan"), float("inf")])
def test_a_nonsense_progress_interval_is_a_config_error(every: float) -> None:
    from grasp_core import ConfigError, RunOptions

    with pytest.raises(ConfigError, match="--progress-every must be at least"):
        RunOptions(progress_every=every)


class TotalFirst(RunHooks):
    """Hands the engine its records only once the progress total is counted, so the run
    cannot end before its total is known, however fast or loaded the machine is."""

    def __init__(self) -> None:
        self.run: TaskRun | None = None

    def items(self, items: Iterator[SourceItem], *, data_less: bool) -> Iterator[SourceItem]:
        def after_the_count() -> Iterator[SourceItem]:
            assert self.run is not None
            while self.run.monitor.total.counting:  # read in a worker thread: it may wait
                time.sleep(0.005)
            yield from items

        return after_the_count()


def _counted_run(folder: Path, source: dict[str, Any], **options: Any) -> None:
    """Run a one-lambda task over ``source``, with JSON progress on stderr."""
    task = Task.from_dict(
        {
            "data_config": {"source": source, "sink": {"type": "jsonl", "file_path": "o.jsonl"}},
            "graph_config": {
                "nodes": {"n": {"node_type": "lambda", "lambda": len, "output_keys": "x"}},
                "edges": [{"from": "START", "to": "n"}, {"from": "n", "to": "END"}],
            },
        },
        task_dir=folder,
    )
    hooks = TotalFirst()
    run = TaskRun(task, RunOptions(progress="json", **options), ModelCatalog(), hooks=hooks)
    hooks.run = run
    anyio.run(run.execute)


def test_a_file_sources_progress_carries_its_total(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """A JSONL source's total is its lines, less what skip_records drops, within the
    start/limit window: the progress events carry it (and an ETA once records finish)."""
    lines = "".join(json.dumps({"id": f"r{i}"}) + "\n" for i in range(12))
    (tmp_path / "in.jsonl").write_text(lines, encoding="utf-8")
    skip = {"transform": "skip_records", "params": {"count": {"from_start": 2}}}
    source = {"type": "disk", "file_path": "in.jsonl", "transformations": [skip]}
    _counted_run(tmp_path, source, start_index=1, num_records=50)
    last = _progress_lines(capfd.readouterr().err)[-1]
    assert (last["final"], last["done"], last["total"]) == (True, 9, 9)
    assert last["eta_s"] == 0


def test_an_uncountable_sources_total_stays_unknown(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """A CSV source cannot be counted cheaply: every event says total null, not a guess."""
    (tmp_path / "in.csv").write_text("q\n1\n2\n3\n", encoding="utf-8")
    _counted_run(tmp_path, {"type": "disk", "file_path": "in.csv"})
    lines = _progress_lines(capfd.readouterr().err)
    assert lines[-1]["done"] == 3
    assert {line["total"] for line in lines} == {None}
