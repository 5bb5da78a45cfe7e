"""A ``SystemExit`` that a signal handler raises inside user code (Ray's workers, and every
driver after ``ray.init``, answer SIGTERM with ``sys.exit``) ends the run and leaves the
record for ``--resume``; only user code's own ``sys.exit`` fails its record."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from grasp_core import RunOptions, run_task

TASK = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out/out.jsonl}
graph_config:
  nodes:
    step:
      node_type: lambda
      lambda: steps.%(lambda)s
      output_keys: copied
  edges:
    - {from: START, to: step}
    - from: step
      condition: steps.%(condition)s
      path_map: {end: END}
"""

STEPS = """
import os, signal
from pathlib import Path

MARK = Path(__file__).parent / "signalled"


def _signal_once(state):
    if state["id"] == "r3" and not MARK.exists():
        MARK.write_text("x")
        os.kill(os.getpid(), signal.SIGTERM)  # the handler runs here, in this frame


async def signalling_step(state):
    _signal_once(state)
    return {"copied": state["id"]}


async def plain_step(state):
    return {"copied": state["id"]}


def signalling_route(state):
    _signal_once(state)
    return "end"


def plain_route(state):
    return "end"
"""

DRIVER = """
import signal, sys
from grasp_core import RunOptions, run_task


def _exit_for(signum):
    sys.exit(7)


def on_sigterm(signum, frame):  # as Ray's: the handler calls a function that exits
    _exit_for(signum)


signal.signal(signal.SIGTERM, on_sigterm)
run_task(sys.argv[1], RunOptions(handle_signals=False, window=1))
print("the run went on after SIGTERM")
"""


@pytest.mark.parametrize(
    ("lambda_name", "condition"),
    [("signalling_step", "plain_route"), ("plain_step", "signalling_route")],
    ids=["in-a-lambda", "in-a-condition"],
)
def test_an_exit_raised_by_a_signal_handler_ends_the_run_and_fails_no_record(
    tmp_path: Path, lambda_name: str, condition: str
) -> None:
    task = tmp_path / "task.yaml"
    task.write_text(TASK % {"lambda": lambda_name, "condition": condition})
    (tmp_path / "steps.py").write_text(STEPS)
    rows = [{"id": f"r{i}", "text": f"t{i}"} for i in range(8)]
    (tmp_path / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)

    stopped = subprocess.run(
        [sys.executable, str(driver), str(task)], capture_output=True, text=True, timeout=120
    )

    assert stopped.returncode == 7, stopped.stderr
    assert "the run went on" not in stopped.stdout
    failures = tmp_path / "out" / "out.failures.jsonl"
    assert not failures.is_file() or failures.read_text() == ""
    journal = (tmp_path / "out" / "out.journal.jsonl").read_text()
    assert "record_failed" not in journal
    result = run_task(task, RunOptions(resume=True))
    assert result.failed == 0
    ids = [json.loads(line)["id"] for line in (tmp_path / "out" / "out.jsonl").open()]
    assert sorted(ids) == sorted(r["id"] for r in rows)


def test_user_code_calling_sys_exit_still_fails_only_its_record(tmp_path: Path) -> None:
    """The other side of the rule: ``sys.exit`` in a lambda, with a SIGTERM handler that
    exits installed, is the lambda's own doing."""
    task = tmp_path / "task.yaml"
    task.write_text(TASK % {"lambda": "exiting_step", "condition": "plain_route"})
    (tmp_path / "steps.py").write_text(
        STEPS + "\nimport sys\n\nasync def exiting_step(state):\n"
        "    if state['id'] == 'r3':\n        sys.exit(5)\n    return {'copied': state['id']}\n"
    )
    rows = [{"id": f"r{i}"} for i in range(5)]
    (tmp_path / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)

    finished = subprocess.run(
        [sys.executable, str(driver), str(task)], capture_output=True, text=True, timeout=120
    )

    assert finished.returncode == 0, finished.stderr
    failures = (tmp_path / "out" / "out.failures.jsonl").read_text().splitlines()
    assert [json.loads(line)["id"] for line in failures] == ["r3"]
    assert "called sys.exit(5)" in failures[0]
