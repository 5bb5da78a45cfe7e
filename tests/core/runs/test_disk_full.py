"""A full disk: the run stops with one :class:`OutputWriteError` naming the file, chained to
the OS error, with the lock released, the files and model clients closed and no ``.tmp`` left;
a ``--resume`` once there is space writes every record exactly once.

The disk fills up for real on a small tmpfs where this machine lets the tests mount one; the
in-process tests, which always run, fill a simulated disk at the write boundaries of the sinks
and the journal (a write takes what still fits, then fails with ENOSPC, as a real disk does).
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import anyio
import pytest

import grasp_core.engine.journal as journal_module
import grasp_io.sinks._appender as appender_module
from grasp_core import ModelCatalog, RunOptions, Task, run_task
from grasp_core.errors import OutputWriteError
from grasp_core.protocols import BuildEnv
from grasp_core.runs import RunHooks, RunLock, TaskRun
from tests.conftest import REPO_ROOT, copy_task_yaml, write_task

RECORDS = 40
ALL_IDS = [f"r{i:03d}" for i in range(RECORDS)]
STEPS = 'def copy(state):\n    return "x" * 300 + state["id"]\n'


class SmallDisk:
    """``free`` bytes left for the sinks and the journal together."""

    def __init__(self, free: int) -> None:
        self.free = free

    def _take(self, data: bytes) -> int:
        fit = min(len(data), self.free)
        self.free -= fit
        return fit

    def sink_write(self, file: BinaryIO, data: bytes) -> None:
        fit = self._take(data)
        file.write(data[:fit])
        if fit < len(data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def journal_write(self, fd: int, data: bytes) -> None:
        fit = self._take(data)
        os.write(fd, data[:fit])
        if fit < len(data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


class SharedSpy:
    """Stands for what nodes share (model clients): records whether the run closed it."""

    closed = False

    async def aclose(self) -> None:
        self.closed = True


class WatchShared(RunHooks):
    def __init__(self) -> None:
        self.spy = SharedSpy()

    def env(self, env: BuildEnv) -> BuildEnv:
        env.shared["tests.spy"] = self.spy
        return env


def make_task(folder: Path, sink: str = "{type: jsonl, file_path: out/result.jsonl}") -> Path:
    rows = "".join(json.dumps({"id": f"r{i:03d}"}) + "\n" for i in range(RECORDS))
    return write_task(folder, copy_task_yaml(sink), {"data.jsonl": rows, "steps.py": STEPS})


def output_ids(path: Path) -> list[str]:
    return [json.loads(line)["id"] for line in path.read_text(encoding="utf-8").splitlines()]


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*.tmp"))


@pytest.mark.parametrize("free", [0, 150, 900, 2500, 6000, 11000])
def test_a_full_disk_stops_the_run_cleanly_and_resume_writes_each_record_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, free: int
) -> None:
    """Wherever the space runs out (in a sink's batch or in a journal line), the run raises
    OutputWriteError from the ENOSPC, closes what nodes share and releases its lock; after
    space is freed, a resume in the same process writes every record exactly once."""
    task = make_task(tmp_path)
    disk = SmallDisk(free)
    monkeypatch.setattr(appender_module, "_write_all", disk.sink_write)
    monkeypatch.setattr(journal_module, "_write_all", disk.journal_write)
    hooks = WatchShared()
    run = TaskRun(Task.load(task), RunOptions(), ModelCatalog(), hooks=hooks)

    with pytest.raises(OutputWriteError) as caught:
        anyio.run(run.execute)

    error = caught.value
    assert isinstance(error.__cause__, OSError)
    assert error.__cause__.errno == errno.ENOSPC
    message = str(error)
    assert "no space left on device" in message.lower()
    assert str(tmp_path / "out" / "result.") in message  # names the sink or the journal
    assert "--resume" in message
    assert hooks.spy.closed, "what nodes share (model clients) must be closed"
    assert leftovers(tmp_path) == []
    lock = RunLock(tmp_path / "out/result.journal.lock")
    lock.acquire()  # raises ResumeError while the failed run still holds it
    lock.release()

    disk.free = 10**9  # space is freed
    result = run_task(task, RunOptions(resume=True))
    assert result.done + result.previously_done == RECORDS
    assert result.failed == result.previously_failed == 0
    assert sorted(output_ids(tmp_path / "out/result.jsonl")) == ALL_IDS


def test_a_full_disk_never_fails_a_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The journal filling up while records run (their node results are journaled first)
    stops the run; it does not turn into failed records that a resume would skip."""
    task = make_task(tmp_path)
    disk = SmallDisk(4000)
    monkeypatch.setattr(journal_module, "_write_all", disk.journal_write)

    with pytest.raises(OutputWriteError, match=r"result\.journal\.jsonl"):
        run_task(task, RunOptions(window=4, batch_size=1))

    failures = tmp_path / "out/result.failures.jsonl"
    assert not failures.exists() or failures.read_text(encoding="utf-8") == ""
    disk.free = 10**9
    result = run_task(task, RunOptions(resume=True))
    assert (result.failed, result.previously_failed) == (0, 0)
    assert sorted(output_ids(tmp_path / "out/result.jsonl")) == ALL_IDS


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB tmpfs, mounted for the test; skipped where mounting is not allowed."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if sys.platform != "linux" or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root on Linux")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mount
    finally:
        _unmount(mount)


def _unmount(mount: Path) -> None:
    """Unmount ``mount``; a process of the machine still leaving it (busy) is waited for a
    while, then the mount is detached lazily (it goes once the last user leaves)."""
    for _ in range(50):
        if subprocess.run(["umount", str(mount)], capture_output=True).returncode == 0:
            return
        time.sleep(0.2)
    subprocess.run(["umount", "-l", str(mount)], check=True)


def fill(disk: Path, *, leave: int) -> Path:
    """Fill ``disk`` up, then give back ``leave`` bytes; returns the filler to delete."""
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as out:
        try:
            while out.write(b"\1" * 4096):
                pass
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
    os.truncate(filler, max(0, filler.stat().st_size - leave))
    return filler


def read_ids(path: Path) -> list[str]:
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return [str(i) for i in pq.read_table(path).column("id").to_pylist()]
    return output_ids(path)


@pytest.mark.parametrize("sink", ["jsonl", "parquet"])
def test_a_real_full_disk_exits_4_with_one_line_and_resume_finishes(
    tmp_path: Path, small_disk: Path, sink: str
) -> None:
    """On a tmpfs that fills up: exit code 4 and one line on stderr (the file, "no space left
    on device", --resume), no traceback, no .tmp left; freeing space then --resume exits 0
    with every record written once."""
    out = small_disk / "out"
    target = out / f"result.{sink}"
    task = make_task(tmp_path / "task", sink=f"{{type: {sink}, file_path: {target}}}")
    filler = fill(small_disk, leave=12 * 1024)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "src")}

    def grasp(*extra: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "grasp_core", "run", str(task), "--quiet", *extra]
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)

    full = grasp()
    assert full.returncode == 4, full.stderr
    lines = full.stderr.splitlines()
    assert len(lines) == 1, full.stderr
    assert lines[0].startswith("grasp: error: cannot write")
    assert str(out / "result.") in lines[0]
    assert "no space left on device" in lines[0].lower()
    assert "--resume" in lines[0]
    assert leftovers(small_disk) == []

    filler.unlink()
    resumed = grasp("--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert sorted(read_ids(target)) == ALL_IDS
    assert leftovers(small_disk) == []


def test_writing_a_run_file_leaves_no_tmp_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The summary and metrics files are written through a temporary file; when the write
    fails, the temporary file is removed and the error names the file."""
    from grasp_core.engine.storage import write_atomically

    target = tmp_path / "result.metrics.json"

    def full(*_args: Any, **_kwargs: Any) -> None:  # the disk fills before the rename
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(OutputWriteError, match=r"cannot write .*result\.metrics\.json: no space"):
        write_atomically(target, json.dumps({"records": {"done": 1}}))
    assert sorted(p.name for p in tmp_path.iterdir()) == []
