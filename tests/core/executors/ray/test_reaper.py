"""The local cluster's reaper: every process started under its mark, children of children
included, dies when the driver ends, even by SIGKILL; nothing else is touched."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grasp_core.executors.ray._watchdog import Cluster
from grasp_core.executors.ray.reaper import MARK

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

FAKE_DRIVER = """
import subprocess, sys, time
from grasp_core.executors.ray.reaper import ClusterReaper

with ClusterReaper.start() as reaper:
    with reaper.marking():  # like ray.init: a daemon in its own session, then its child
        subprocess.Popen(
            [sys.executable, "-c", "import subprocess, sys, time; "
             "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']); "
             "time.sleep(600)"],
            start_new_session=True,
        )
    unmarked = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    print(reaper.mark, unmarked.pid, flush=True)
    if sys.argv[1] == "wait":
        time.sleep(600)
"""


def _start_fake_driver(tmp_path: Path, how: str) -> tuple[subprocess.Popen[str], bytes, int]:
    script = tmp_path / "driver.py"
    script.write_text(FAKE_DRIVER, encoding="utf-8")
    driver = subprocess.Popen([sys.executable, str(script), how], stdout=subprocess.PIPE, text=True)
    assert driver.stdout is not None
    mark, unmarked = driver.stdout.readline().split()
    return driver, f"{MARK}={mark}".encode(), int(unmarked)


def marked(mark: bytes) -> list[int]:
    return Cluster(mark).members()


def _wait_until_marked(mark: bytes, count: int) -> None:
    deadline = time.monotonic() + 60
    while len(marked(mark)) != count:
        assert time.monotonic() < deadline, f"marked: {marked(mark)}, expected {count}"
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_sigkilled_driver_takes_every_marked_process_with_it(tmp_path: Path) -> None:
    """kill -9 of the driver: the marked daemon and its child die (the kernel closes the
    watchdog's pipe); a process the driver started unmarked is left alone."""
    driver, mark, unmarked = _start_fake_driver(tmp_path, "wait")
    try:
        _wait_until_marked(mark, 2)  # the daemon and its child, not the watchdog
        driver.send_signal(signal.SIGKILL)
        driver.wait()
        _wait_until_marked(mark, 0)
        assert _alive(unmarked)
    finally:
        driver.kill()
        for pid in [*marked(mark), unmarked]:
            os.kill(pid, signal.SIGKILL)


def test_a_driver_that_ends_normally_leaves_no_marked_process(tmp_path: Path) -> None:
    """At the end of the run the watchdog reaps what the cluster's shutdown left behind,
    before the driver goes on."""
    driver, mark, unmarked = _start_fake_driver(tmp_path, "end")
    try:
        assert driver.wait(timeout=60) == 0
        assert marked(mark) == []  # the driver waited for the watchdog
    finally:
        for pid in [*marked(mark), unmarked]:
            os.kill(pid, signal.SIGKILL)
