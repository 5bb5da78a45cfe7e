"""`grasp run --retry-failures`: the failed records, and only them, run again under
NAME.retry/ beside the output; the run's own files stay as they are."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import write_task
from tests.core.cli.test_cli import grasp, read_jsonl

TASK = """\
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
from pathlib import Path


def check(state):
    if Path(__file__).with_name("broken").exists() and state["n"] % 2:
        raise ValueError(f"odd n={state['n']}")
    return state["n"] // 2
"""


def broken_run(folder: Path) -> Path:
    """A finished run over r0..r3 whose odd records (r1, r3) failed while ``broken``
    existed; ``broken`` is gone afterwards (the cause is fixed)."""
    rows = "".join(f'{{"id": "r{i}", "n": {i}}}\n' for i in range(4))
    task = write_task(folder, TASK, {"steps.py": STEPS, "data.jsonl": rows, "broken": ""})
    done = grasp("run", task, "--quiet", cwd=folder)
    assert done.returncode == 1, done.stderr
    (folder / "broken").unlink()
    return task


def test_retry_failures_runs_only_the_failed_records_under_retry(tmp_path: Path) -> None:
    """The retry writes r1 and r3 under out/result.retry/; the first run's files are
    byte for byte as they were."""
    task = broken_run(tmp_path)
    first = {p: p.read_bytes() for p in (tmp_path / "out").iterdir() if p.is_file()}
    done = grasp("run", task, "--retry-failures", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    retried = tmp_path / "out" / "result.retry" / "out" / "result.jsonl"
    assert [row["id"] for row in read_jsonl(retried)] == ["r1", "r3"]
    assert str(retried) in done.stdout
    assert {p: p.read_bytes() for p in first} == first


def test_retry_failures_refuses_flags_that_narrow_or_continue_a_run(tmp_path: Path) -> None:
    """--resume, --num-records, --start-index and Ray: one line naming them, exit 2, no run."""
    task = broken_run(tmp_path)
    done = grasp("run", task, "--retry-failures", "--resume", "--num-records", "1", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "grasp: error: --retry-failures runs every failed record again, on this machine, "
        "from the start; drop --resume, --num-records"
    ]
    assert not (tmp_path / "out" / "result.retry").exists()


def test_retry_failures_without_failures_says_so(tmp_path: Path) -> None:
    """A run that failed nothing: one line naming its failures file, exit 2."""
    task = broken_run(tmp_path)
    assert grasp("run", task, "--overwrite", "--quiet", cwd=tmp_path).returncode == 0
    done = grasp("run", task, "--retry-failures", cwd=tmp_path)
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert "result.failures.jsonl' lists no failed record to run again" in line
