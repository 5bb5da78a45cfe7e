"""Torture: a run interrupted many times at random points (SIGKILL anywhere, or SIGINT) and
resumed each time ends exactly like an uninterrupted one, and never repeats a journaled call.

The task (see ``benchmarks/torture.py``) has a loop around an inline subgraph, a fan-out
whose branches (one a subgraph from a file) join again, and seven llm nodes. Last, the exit
status of a run that was killed and resumed after one of its records failed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from benchmarks.torture import torture

from tests.conftest import REPO_ROOT, write_task

pytestmark = pytest.mark.slow


def assert_exactly_once(result: dict[str, Any], records: int) -> None:
    assert result["reference_records"] == records
    assert result["lost"] == 0
    assert result["duplicated"] == 0
    assert result["extra"] == result["mismatched"] == 0
    assert result["equal_to_reference"]
    assert result["repeated_journaled_calls"] == 0, result["repeated_examples"]
    assert result["prompts_not_in_reference"] == result["reference_prompts_never_sent"] == 0
    assert result["failures_lines"] == 0
    assert result["requests"] >= result["reference_requests"]


def test_sigkill_at_random_points_loses_duplicates_and_repeats_nothing(tmp_path: Path) -> None:
    """20 SIGKILLs (during start-up, mid-run, and right after sink and journal writes), each
    followed by --resume: the output equals the reference and no journaled call is re-sent."""
    result = torture(kills=20, records=150, seed=11, workdir=tmp_path)
    # A kill aimed near the end may find the run already finished (more often on a loaded
    # machine), so how many landed is not the rule; that some did keeps the test meaningful.
    assert 1 <= result["kills"] <= 20
    assert result["exit_codes"] == {-signal.SIGKILL: result["kills"], 0: 1}
    assert_exactly_once(result, 150)


def test_sigint_stops_cleanly_each_time_and_resumes_exactly_once(tmp_path: Path) -> None:
    """Four SIGINTs at random points of the work: each run exits 130 naming --resume, and
    the resumed output equals the reference with no journaled call re-sent."""
    result = torture(kills=4, records=150, seed=5, workdir=tmp_path, sig=signal.SIGINT)
    assert result["exit_codes"] == {130: 4, 0: 1}
    assert result["stops_without_resume_hint"] == 0
    assert_exactly_once(result, 150)


DIE_ONCE = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out/result.jsonl}
graph_config:
  nodes:
    check:
      node_type: lambda
      lambda: steps.check
      run_in: thread  # r09 waits for the writer: on the event loop it would hold it up
      output_keys: checked
  edges:
    - {from: START, to: check}
    - {from: check, to: END}
"""

STEPS = """
import os
import signal
import time
from pathlib import Path


def check(state):
    if state["id"] == "r01":
        raise ValueError("r01 is a bad record")
    journal = os.environ.get("KILL_ONCE_FAILURE_IS_JOURNALED")
    if state["id"] == "r09" and journal:
        deadline = time.monotonic() + 20
        path = Path(journal)
        while not path.exists() or b"record_failed" not in path.read_bytes():
            if time.monotonic() > deadline:
                raise TimeoutError("r01's failure was never journaled")
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGKILL)
    return "ok"
"""


def test_exit_code_after_a_kill_and_resume_still_reports_earlier_failures(
    tmp_path: Path,
) -> None:
    """A dataset with a failed record exits 1 whether or not the run was killed and resumed
    on the way (uninterrupted it exits 1; killed once after the failure was journaled and
    resumed, the resume must exit 1 too)."""
    data = "".join(f'{{"id": "r{i:02d}"}}\n' for i in range(20))
    files = {"data.jsonl": data, "steps.py": STEPS}
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "src")}

    def grasp(task: Path, *extra: str, **more_env: str) -> int:
        cmd = [sys.executable, "-m", "grasp_core", "run", str(task), "--quiet", *extra]
        return subprocess.run(cmd, env={**env, **more_env}, timeout=60).returncode

    whole = write_task(tmp_path / "whole", DIE_ONCE, files)
    assert grasp(whole) == 1, "control: the uninterrupted run has a failed record"

    task = write_task(tmp_path / "killed", DIE_ONCE, files)
    journal = str(tmp_path / "killed/out/result.journal.jsonl")
    assert grasp(task, KILL_ONCE_FAILURE_IS_JOURNALED=journal) == -signal.SIGKILL
    resumed = grasp(task, "--resume")
    failures = (tmp_path / "killed/out/result.failures.jsonl").read_text().splitlines()
    assert len(failures) == 1, "the failed record is in the dataset"
    summary = json.loads((tmp_path / "killed/out/result.summary.json").read_text())
    assert resumed == 1, f"resume exited {resumed}; its summary says failed={summary['failed']}"
