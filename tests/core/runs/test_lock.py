"""`RunLock` deletes its file when released, only while the file is its own, and a run that
locked a file just deleted by the run before takes the lock again on a fresh one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from grasp_core.errors import ResumeError
from grasp_core.runs import RunLock


def test_release_deletes_the_lock_file(tmp_path: Path) -> None:
    """While held, the file holds the process id; released, it is gone."""
    lock = RunLock(tmp_path / "out" / "run.journal.lock")
    lock.acquire()
    assert lock.path.read_text() == f"{os.getpid()}\n"
    lock.release()
    assert not lock.path.exists()
    lock.release()  # twice is harmless


def test_a_held_lock_refuses_a_second_run(tmp_path: Path) -> None:
    """A second lock on the same path fails at once, naming the file."""
    first, second = RunLock(tmp_path / "a.lock"), RunLock(tmp_path / "a.lock")
    first.acquire()
    with pytest.raises(ResumeError, match="another grasp run is writing"):
        second.acquire()
    first.release()
    second.acquire()
    second.release()


def test_release_leaves_a_file_that_is_not_its_own(tmp_path: Path) -> None:
    """If the lock file was replaced (deleted by hand, then taken by another run), releasing
    the old lock deletes nothing, and the other run keeps its lock."""
    path = tmp_path / "a.lock"
    old, new = RunLock(path), RunLock(path)
    old.acquire()
    path.unlink()
    new.acquire()
    old.release()
    assert path.read_text() == f"{os.getpid()}\n"
    with pytest.raises(ResumeError):
        RunLock(path).acquire()
    new.release()
    assert not path.exists()


def test_a_file_deleted_before_it_was_locked_is_not_a_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run that opened the lock file just before the run holding it deleted it (as it
    ended) locks a fresh file instead, which a third run then sees as held."""
    path = tmp_path / "a.lock"
    lock = RunLock(path)
    opened = lock._open

    def open_then_lose_it() -> int:
        fd = opened()
        if not hasattr(open_then_lose_it, "done"):
            open_then_lose_it.done = True  # type: ignore[attr-defined]
            path.unlink()  # the run before ends between our open and our flock
        return fd

    monkeypatch.setattr(lock, "_open", open_then_lose_it)
    lock.acquire()
    assert path.read_text() == f"{os.getpid()}\n"
    with pytest.raises(ResumeError):
        RunLock(path).acquire()
    lock.release()
    assert not path.exists()
