"""Small files written whole: a reader sees the old file or the new one, never half of one,
and no temporary file is left behind. The run's own files (``engine.storage``) report a
failure; caches (litellm's prices a run needs, config models' field docstrings) skip it, since
they only save time."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["replace_quietly", "replace_whole"]


def replace_whole(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` through a temporary file of its own beside it (two
    processes writing at once each rename a complete file); on ``OSError`` the temporary
    file is removed and the error raised."""
    handle, aside = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(aside, path)
    except OSError:
        with contextlib.suppress(OSError):
            Path(aside).unlink(missing_ok=True)
        raise


def replace_quietly(path: Path, text: str) -> None:
    """:func:`replace_whole`, creating the folder; on any ``OSError`` (a read-only folder, a
    full disk) leave things as they were."""
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        replace_whole(path, text)
