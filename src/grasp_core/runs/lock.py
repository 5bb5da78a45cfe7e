"""``RunLock``: one run at a time writes a given journal and its sinks."""

from __future__ import annotations

import os
from pathlib import Path

from grasp_core.engine.storage import cannot_write
from grasp_core.errors import ResumeError, SinkError

__all__ = ["RunLock"]


class RunLock:
    """An exclusive lock on a run's output: two runs never write the same journal and sinks.

    ``flock`` is released by the operating system when the process dies, so a killed run
    leaves no stale lock. The lock file stays (unlinking it would race with a new run).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        import fcntl

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except (OSError, ValueError) as exc:
            raise SinkError(
                f"cannot create the output folder {str(self.path.parent)!r}: "
                f"{getattr(exc, 'strerror', None) or exc}; check the sink's file_path"
            ) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ResumeError(
                f"another grasp run is writing to {self.path.parent} (it holds {self.path}); "
                "wait for it to finish, or give this run another --output-dir"
            ) from None
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        except OSError as exc:  # a full disk: the lock is not taken, and the file is closed
            os.close(fd)
            raise cannot_write(self.path, exc) from exc
        self._fd = fd

    def release(self) -> None:
        """Let another run in; safe to call more than once."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
