"""Small cache files (litellm's prices a run needs, config models' field docstrings), written
whole: a reader sees the old file or the new one, never half of one, and a cache that cannot
be written is skipped, since it only saves time."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["replace_quietly"]


def replace_quietly(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` through a temporary file of its own beside it (two
    processes writing at once each rename a complete file); on any ``OSError`` (a read-only
    folder, a full disk) leave things as they were."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, aside = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError:
        return
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(aside, path)
    except OSError:
        Path(aside).unlink(missing_ok=True)
