"""An append-only file whose committed length travels in commit tokens.

A token is ``{"offset": <file size in bytes after the write>, "count": <records>}``.
Restoring truncates the file to the last committed offset, which drops whatever a
crashed run wrote after its last commit: the basis of exactly-once text sinks.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from grasp_core.errors import SinkError
from grasp_core.plugin import CommitToken
from grasp_io._fs import fsync_dir

__all__ = ["AppendFile", "appends_quickly"]


def appends_quickly(sink: object, own_write: Callable[..., Any], *, fsync: bool) -> bool:
    """A file sink's ``quick_writes``: its writes only append to a local file (no fsync),
    so the engine may call them on the event loop. Not for a subclass with a ``write`` of
    its own, which may do anything (set ``quick_writes`` on it to say otherwise)."""
    return not fsync and getattr(type(sink), "write", None) is own_write


class AppendFile:
    """Appends bytes to ``path`` and returns a token for each append.

    ``fsync=True`` forces every append to disk (slower); by default appends reach the
    operating system, which survives a crash of the process but not of the machine.
    """

    def __init__(self, path: Path, *, fsync: bool = False) -> None:
        self.path = path
        self.fsync = fsync
        self._file: BinaryIO | None = None
        self._offset = 0
        self._lock = threading.Lock()

    @property
    def offset(self) -> int:
        """Bytes in the file so far (all committed once their token is journaled)."""
        return self._offset

    def restore(self, committed: list[CommitToken]) -> None:
        """Open the file: empty it when nothing is committed, else cut it back to the last token."""
        with self._lock:
            self._close()
            offset = _committed_offset(committed, self.path) if committed else 0
            try:
                if offset:
                    self._check_size(offset)
                self.path.parent.mkdir(parents=True, exist_ok=True)
                if offset == 0:
                    self._file = self.path.open("wb", buffering=0)
                    if self.fsync:
                        fsync_dir(self.path.parent)
                else:
                    self._file = self.path.open("r+b", buffering=0)
                    self._file.truncate(offset)
                    self._file.seek(offset)
            except SinkError:
                raise
            except OSError as exc:
                raise SinkError(f"cannot open {self.path}: {exc.strerror or exc}") from exc
            self._offset = offset

    def append(self, data: bytes, count: int) -> CommitToken:
        """Append ``data`` (holding ``count`` records) in full or not at all; return its token."""
        with self._lock:
            if self._file is None:
                raise SinkError(f"{self.path} is not open; call restore() before write()")
            try:
                _write_all(self._file, data)
                if self.fsync:
                    os.fsync(self._file.fileno())
            except OSError as exc:
                self._roll_back()
                raise SinkError(  # a run adds what to do (free space, then --resume)
                    f"cannot write to {self.path}: {exc.strerror or exc}; the batch was not written"
                ) from exc
            self._offset += len(data)
            return {"offset": self._offset, "count": count}

    def sync(self) -> None:
        """Force everything appended so far to disk (the run's fsync policy calls this)."""
        with self._lock:
            if self._file is not None:
                try:
                    os.fsync(self._file.fileno())
                except OSError as exc:
                    raise SinkError(f"cannot sync {self.path}: {exc.strerror or exc}") from exc

    def close(self) -> None:
        """Close the file without changing it."""
        with self._lock:
            self._close()

    def _close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def _check_size(self, offset: int) -> None:
        if not self.path.is_file():
            raise SinkError(
                f"{self.path} is missing, but the journal committed {offset} bytes of it; "
                "the output was moved or deleted by hand. put it back to resume, "
                "or start the run afresh"
            )
        size = self.path.stat().st_size
        if size < offset:
            raise SinkError(
                f"{self.path} holds {size} bytes, but the journal committed {offset}; "
                "the output was modified by hand. restore it from a copy to resume, "
                "or start the run afresh"
            )

    def _roll_back(self) -> None:
        """Cut off a partial append so the file ends at the last token again."""
        if self._file is None:
            return
        try:
            self._file.truncate(self._offset)
            self._file.seek(self._offset)
        except OSError:
            self._close()  # the next write reports the file as not open


def _committed_offset(committed: list[CommitToken], path: Path) -> int:
    """Return the offset in the last of ``committed``, checking that it is one."""
    last = committed[-1]
    offset = last.get("offset")
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise SinkError(
            f"commit token {last!r} for {path} has no valid 'offset'; the journal was "
            "written by another sink type, so this run cannot resume into this output"
        )
    return offset


def _write_all(file: BinaryIO, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = file.write(view)
        view = view[written:]
