"""Several sinks at once: every record goes to every sink, each sink commits in the journal
under its alias, and a killed run resumes every sink exactly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from grasp_core import RunOptions, run_task
from grasp_core.errors import ConfigError, ResumeError
from tests.conftest import REPO_ROOT, copy_task_yaml, write_task

SINKS = """
    - {type: jsonl, file_path: out/result.jsonl, alias: lines}
    - {type: parquet, file_path: out/result.parquet, alias: table}
    - {type: hf, file_path: out/result_ds, alias: dataset}
"""
STEPS = """import time

def copy(state):
    time.sleep({pause})
    return {{'copied': state['text']}}
"""


def make_task(folder: Path, n: int, pause: float = 0.0) -> Path:
    data = "".join(json.dumps({"id": f"r{i:03d}", "text": f"t{i}"}) + "\n" for i in range(n))
    yaml = copy_task_yaml("").replace("  sink: ", "  sink:" + SINKS.rstrip())
    return write_task(folder, yaml, {"data.jsonl": data, "steps.py": STEPS.format(pause=pause)})


def sink_ids(folder: Path) -> dict[str, list[str]]:
    import datasets

    lines = (folder / "out/result.jsonl").read_text().splitlines()
    saved = datasets.load_from_disk(str(folder / "out/result_ds"))
    return {
        "lines": [json.loads(line)["id"] for line in lines],
        "table": pq.read_table(folder / "out/result.parquet").column("id").to_pylist(),
        "dataset": list(saved["id"]),
    }


def test_every_record_goes_to_every_sink(tmp_path: Path) -> None:
    """Each sink holds all records; output_paths lists every sink's files; the journal,
    failures and summary files derive from the first sink."""
    task = make_task(tmp_path, 7)
    result = run_task(task, RunOptions(batch_size=3))
    expected = [f"r{i:03d}" for i in range(7)]
    assert {name: sorted(ids) for name, ids in sink_ids(tmp_path).items()} == {
        "lines": expected,
        "table": expected,
        "dataset": expected,
    }
    out = tmp_path / "out"
    assert result.output_paths == [out / "result.jsonl", out / "result.parquet", out / "result_ds"]
    assert list(result.sink_paths) == ["lines", "table", "dataset"]
    assert result.journal_path == out / "result.journal.jsonl"
    assert len(list(result.records())) == 7
    events = [json.loads(line) for line in result.journal_path.read_text().splitlines()]
    committed = [e["tokens"] for e in events if e["e"] == "record_done"]
    assert all(set(tokens) == {"lines", "table", "dataset"} for tokens in committed)


@pytest.mark.parametrize(
    ("sinks", "message"),
    [
        ("[{type: jsonl, file_path: a.jsonl}]", "needs an `alias`"),
        (
            "[{type: jsonl, file_path: a.jsonl, alias: x},"
            " {type: csv, file_path: b.csv, alias: x}]",
            "share the alias 'x'",
        ),
        ("[{type: jsonl, file_path: a.jsonl, alias: failures}]", "'failures' is reserved"),
        (
            "[{type: jsonl, file_path: a.jsonl, alias: x},"
            " {type: jsonl, file_path: a.jsonl, alias: y}]",
            "both write 'a.jsonl'",
        ),
        ("[]", "list of sinks is empty"),
    ],
)
def test_bad_sink_lists_are_config_errors(tmp_path: Path, sinks: str, message: str) -> None:
    """Missing, repeated or reserved aliases and shared files are refused before running."""
    task = write_task(tmp_path, copy_task_yaml(sinks), {"data.jsonl": '{"text": "x"}\n'})
    with pytest.raises(ConfigError, match=message):
        run_task(task)


def test_existing_dataset_folder_is_not_overwritten(tmp_path: Path) -> None:
    """A non-empty folder where an hf sink would write, with no journal, stops the run."""
    task = make_task(tmp_path, 2)
    (tmp_path / "out/result_ds").mkdir(parents=True)
    (tmp_path / "out/result_ds/keep.txt").write_text("mine")
    with pytest.raises(ResumeError, match="result_ds exists and no journal"):
        run_task(task)
    assert (tmp_path / "out/result_ds/keep.txt").read_text() == "mine"


@pytest.mark.slow
def test_sigkill_then_resume_gives_each_sink_every_record_once(tmp_path: Path) -> None:
    """Killed mid-run and resumed: jsonl, parquet and hf outputs hold each record once."""
    n = 60
    task = make_task(tmp_path, n, pause=0.03)
    output = tmp_path / "out/result.jsonl"
    cmd = [sys.executable, "-m", "grasp_core", "run", str(task), "--quiet", "--window", "4"]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if output.exists() and len(output.read_text().splitlines()) >= 12:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert not (tmp_path / "out/result_ds").exists()
    assert 0 < len(output.read_text().splitlines()) < n
    resumed = subprocess.run([*cmd, "--resume"], env=env, capture_output=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr.decode()
    expected = [f"r{i:03d}" for i in range(n)]
    for name, ids in sink_ids(tmp_path).items():
        assert sorted(ids) == expected, name
