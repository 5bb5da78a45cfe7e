"""How ``grasp run`` ends when it cannot go on: a full disk (exit code 4, one line), and
SIGINT or SIGTERM at any point of start-up or of the run (exit code 130 and the command that
resumes, never a traceback); in every case ``--resume`` then writes each record once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import grasp_io.sinks._appender as appender_module
from grasp_core.cli import main
from grasp_core.cli.options import EXIT_INTERRUPTED, EXIT_OUTPUT
from tests.conftest import REPO_ROOT, copy_task_yaml, write_task
from tests.core.runs.test_disk_full import SmallDisk

RECORDS = 60
ALL_IDS = [f"r{i:03d}" for i in range(RECORDS)]

HELD_STEPS = """
import os

import anyio


async def copy(state):
    # The first run (HOLD set) can never finish: half its records wait until the run is
    # stopped, so a signal always finds work left, wherever it lands.
    if os.environ.get("HOLD") and int(state["id"][1:]) >= 30:
        await anyio.sleep(3600)
    return state["id"]
"""


BLOCKED_THREAD_STEPS = """
import os
import time


def copy(state):
    # Placed in worker threads (run_in: thread); the held ones block one past the stop.
    if os.environ.get("HOLD") and int(state["id"][1:]) >= 30:
        time.sleep(3600)
    return state["id"]
"""


def make_task(folder: Path, steps: str) -> Path:
    rows = "".join(json.dumps({"id": i}) + "\n" for i in ALL_IDS)
    return write_task(folder, copy_task_yaml(), {"data.jsonl": rows, "steps.py": steps})


def output_ids(path: Path) -> list[str]:
    return sorted(json.loads(line)["id"] for line in path.read_text(encoding="utf-8").splitlines())


def test_a_full_disk_exits_4_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The sink running out of space: exit code 4 and one line naming the file, the reason
    and --resume; no traceback."""
    task = make_task(tmp_path, 'def copy(state):\n    return "x" * 500\n')
    monkeypatch.setattr(appender_module, "_write_all", SmallDisk(2000).sink_write)

    assert main(["run", str(task), "--quiet"]) == EXIT_OUTPUT

    err = capsys.readouterr().err
    assert err.splitlines() == [
        f"grasp: error: cannot write to {tmp_path / 'out.jsonl'}: No space left on device; "
        "the batch was not written; free disk space, then run again with --resume "
        "(records committed so far are kept)"
    ]


def start_held_run(task: Path) -> subprocess.Popen[bytes]:
    """``grasp run`` whose records cannot all finish, started with SIGINT and SIGTERM blocked.

    A signal sent before Python runs GraSP's first line could only meet the interpreter's
    defaults (which no program can change); blocked, it waits, as it would for a launcher
    that blocked them, and reaches grasp once its handlers are in. So a signal sent at any
    moment after this returns is one that grasp must handle."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "src"), "HOLD": "1"}
    cmd = [sys.executable, "-m", "grasp_core", "run", str(task), "--quiet"]
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


def stop_then_resume(
    task: Path, sig: signal.Signals, wait: Callable[[subprocess.Popen[bytes]], None]
) -> None:
    """Start a held run of ``task``, send ``sig`` once ``wait`` returns, and check the stop:
    exit 130 with the resume command and no traceback; then --resume writes every record
    once."""
    process = start_held_run(task)
    try:
        wait(process)
        process.send_signal(sig)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    text = stderr.decode()
    assert process.returncode == EXIT_INTERRUPTED, text
    assert "Traceback" not in text
    assert f"grasp run {task} --resume" in text
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "src")}
    cmd = [sys.executable, "-m", "grasp_core", "run", str(task), "--quiet", "--resume"]
    resumed = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert output_ids(task.parent / "out.jsonl") == ALL_IDS


def until_blocking(folder: Path) -> Callable[[subprocess.Popen[bytes]], None]:
    """A wait for :func:`stop_then_resume`: until the run's code writes ``blocking`` in
    ``folder`` (and then blocks)."""

    def wait(process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + 60
        while not (folder / "blocking").is_file():
            assert process.poll() is None, process.communicate()[1].decode()
            assert time.monotonic() < deadline, "the run never reached the blocking code"
            time.sleep(0.01)

    return wait


def wait_for(moment: str, output: Path, deadline: float) -> None:
    """``spawned``: at once; ``0.05s``, ``0.3s``: after that long; ``committed``: once the
    first record is in the output."""
    if moment.endswith("s"):
        time.sleep(float(moment[:-1]))
    while moment == "committed" and not (output.is_file() and output.stat().st_size):
        assert time.monotonic() < deadline, "no record was committed"
        time.sleep(0.01)


@pytest.mark.slow
@pytest.mark.parametrize("moment", ["spawned", "0.05s", "0.3s", "committed"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_stop_signal_at_any_point_exits_130_and_resume_writes_each_record_once(
    tmp_path: Path, sig: signal.Signals, moment: str
) -> None:
    """SIGINT or SIGTERM right after spawning, during start-up or mid-run: exit code 130,
    the command that resumes, no traceback; then --resume writes every record exactly once."""
    task = make_task(tmp_path, HELD_STEPS)
    deadline = time.monotonic() + 60
    stop_then_resume(task, sig, lambda _: wait_for(moment, tmp_path / "out.jsonl", deadline))


@pytest.mark.slow
def test_a_stop_ends_the_process_while_user_code_blocks_a_worker_thread(tmp_path: Path) -> None:
    """A lambda stuck in its worker thread cannot keep the process alive after Ctrl-C: the
    run stops, says how to resume, and the process exits 130 (it does not wait an hour for
    the thread at interpreter shutdown)."""
    task = make_task(tmp_path, BLOCKED_THREAD_STEPS)
    placed_in_threads = task.read_text().replace(
        "output_keys: copied", "output_keys: copied\n      run_in: thread"
    )
    task.write_text(placed_in_threads)
    output = tmp_path / "out.jsonl"
    process = start_held_run(task)
    try:
        wait_for("committed", output, time.monotonic() + 60)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    text = stderr.decode()
    assert process.returncode == EXIT_INTERRUPTED, text
    assert f"grasp run {task} --resume" in text


BLOCKED_LOOP_STEPS = """
import os
import time
from pathlib import Path


def copy(state):
    # On the event loop (run_in: loop, or auto after fast first calls): the held record
    # blocks the loop itself, so the run cannot poll a noted signal until it returns.
    if os.environ.get("HOLD") and state["id"] == "r040":
        (Path(__file__).parent / "blocking").write_text("x")
        time.sleep(3600)
    return state["id"]
"""


@pytest.mark.slow
@pytest.mark.parametrize("run_in", ["loop", "auto"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_stop_interrupts_a_plain_function_that_blocks_the_event_loop(
    tmp_path: Path, sig: signal.Signals, run_in: str
) -> None:
    """A plain function run on the loop that blocks (a sleep, a hung socket) is interrupted
    by Ctrl-C or SIGTERM: exit 130 with the resume command, and --resume writes every
    record once."""
    task = make_task(tmp_path, BLOCKED_LOOP_STEPS)
    task.write_text(
        task.read_text().replace(
            "output_keys: copied", f"output_keys: copied\n      run_in: {run_in}"
        )
    )
    stop_then_resume(task, sig, until_blocking(tmp_path))


BLOCKED_IMPORT_STEPS = """
import os
import time
from pathlib import Path

if os.environ.get("HOLD"):  # a connection that hangs while the module is imported
    (Path(__file__).parent / "blocking").write_text("x")
    time.sleep(3600)


def copy(state):
    return state["id"]
"""


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_stop_interrupts_a_task_module_that_blocks_while_imported(
    tmp_path: Path, sig: signal.Signals
) -> None:
    """The run imports the task's module as it compiles the graph; one that never finishes
    importing is interrupted by Ctrl-C or SIGTERM (it used to be noted and never acted on:
    only SIGKILL ended the process). Exit 130 with the resume command; --resume writes every
    record once."""
    task = make_task(tmp_path, BLOCKED_IMPORT_STEPS)
    stop_then_resume(task, sig, until_blocking(tmp_path))
