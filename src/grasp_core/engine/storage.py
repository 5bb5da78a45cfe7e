"""A run's files on a full or read-only disk.

Whatever hits it — a sink, the journal, the lock, the summary — the user needs the same
thing: which file, why, and that committed records are safe, so freeing space (or making the
folder writable) and running again with ``--resume`` finishes the rest. This module turns
the operating system's error into that one :class:`OutputWriteError`, and writes small files
whole or not at all (no ``.tmp`` left behind).
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from grasp_core._cache_files import replace_whole
from grasp_core.errors import GraspError, OutputWriteError, SinkError

__all__ = ["as_output_error", "cannot_write", "write_atomically"]

_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
_NOT_WRITABLE = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})


def cannot_write(path: Path, cause: OSError) -> OutputWriteError:
    """The error for ``path`` that could not be written because of ``cause``."""
    return _with_hint(f"cannot write {path}: {_reason(cause)}", cause)


def as_output_error(exc: Exception, folder: Path) -> tuple[OutputWriteError, OSError] | None:
    """``exc`` as an :class:`OutputWriteError` with the OS error to chain it to, when a full
    or read-only disk caused it; None for anything else (a source's error, a bad value).

    A sink's :class:`SinkError` keeps its message (it names the file); a bare ``OSError``
    names its file, else the run's output ``folder``."""
    if isinstance(exc, OutputWriteError) or (
        isinstance(exc, GraspError) and not isinstance(exc, SinkError)
    ):
        return None
    cause = _storage_cause(exc)
    if cause is None:
        return None
    if isinstance(exc, SinkError):
        return _with_hint(str(exc), cause), cause
    where = Path(os.fsdecode(cause.filename)) if cause.filename else folder
    return cannot_write(where, cause), cause


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file beside it, renamed over ``path``
    only once it is complete; on failure nothing is left behind and
    :class:`OutputWriteError` is raised."""
    try:
        replace_whole(path, text)
    except OSError as exc:
        raise cannot_write(path, exc) from exc


def _storage_cause(exc: BaseException) -> OSError | None:
    """The error, ``exc`` itself or one it was raised from, that says the disk is full or
    the file is not writable."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in _NO_SPACE | _NOT_WRITABLE:
            return seen
        seen = seen.__cause__
    return None


def _reason(cause: OSError) -> str:
    code = cause.errno
    text = cause.strerror or (os.strerror(code) if code is not None else str(cause))
    return text[:1].lower() + text[1:]


def _with_hint(message: str, cause: OSError) -> OutputWriteError:
    fix = "free disk space" if cause.errno in _NO_SPACE else "make it writable"
    return OutputWriteError(
        f"{message}; {fix}, then run again with --resume (records committed so far are kept)"
    )
