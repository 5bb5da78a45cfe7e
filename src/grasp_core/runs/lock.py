"""``RunLock``: one run at a time writes a given journal and its sinks."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from grasp_core.engine.storage import cannot_write
from grasp_core.errors import ResumeError, SinkError

__all__ = ["RunLock"]


class RunLock:
    """An exclusive lock on a run's output: two runs never write the same journal and sinks.

    The lock is an ``flock`` on ``NAME.journal.lock``, which holds the process id of the run
    that has it. :meth:`release` deletes the file (a finished, failed or stopped run leaves
    none), while it still holds the lock, and only when the file is still its own. A run
    that took the lock checks that its file is still the one at the path: a file deleted
    by the run before, between this run opening it and locking it, is not a lock, and this
    run takes the lock again on a fresh file. ``flock`` is released by the operating system
    when a process dies, so a killed run (``kill -9``) leaves its file, with no lock on it:
    the next run takes it over.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        import fcntl

        while True:
            fd = self._open()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise ResumeError(
                    f"another grasp run is writing to {self.path.parent} (it holds {self.path}); "
                    "wait for it to finish, or give this run another --output-dir"
                ) from None
            if _is_at(fd, self.path):
                break
            os.close(fd)  # the run before deleted it as it ended: lock a fresh file
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        except OSError as exc:  # a full disk: the lock is not taken, and the file is closed
            os.close(fd)
            raise cannot_write(self.path, exc) from exc
        self._fd = fd

    @staticmethod
    def held(path: Path) -> bool:
        """Whether a live process holds the lock at ``path`` (a look that takes nothing, so
        it never makes a starting run fail: the process id in the file is checked, as a
        lock left by a killed run names a process that is gone)."""
        try:
            pid = int(path.read_text(encoding="utf-8").strip() or "0")
        except (OSError, ValueError):
            return False
        if pid <= 0:
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True  # alive, under another user
        return True

    def release(self) -> None:
        """Delete the lock file if it is still ours, then let another run in; safe to call
        more than once."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            # a folder gone read-only keeps the file, unlocked, as a crash does
            with contextlib.suppress(OSError):
                if _is_at(fd, self.path):
                    self.path.unlink()
        finally:
            os.close(fd)

    def _open(self) -> int:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except (OSError, ValueError) as exc:
            raise SinkError(
                f"cannot create the output folder {str(self.path.parent)!r}: "
                f"{getattr(exc, 'strerror', None) or exc}; check the sink's file_path"
            ) from exc


def _is_at(fd: int, path: Path) -> bool:
    """Whether the open file ``fd`` is the file at ``path`` (not one deleted or replaced)."""
    try:
        at_path = path.stat()
    except OSError:
        return False
    opened = os.fstat(fd)
    return (opened.st_dev, opened.st_ino) == (at_path.st_dev, at_path.st_ino)
