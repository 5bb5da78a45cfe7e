"""``GRASP_DATA_ROOT``: the one folder whose files a process's sources, sinks and media
paths may name (GraSP Studio sets it to its workspace for the tries and runs it starts;
unset, as from a terminal, nothing is confined)."""

from __future__ import annotations

import os
from pathlib import Path

from grasp_core.errors import ConfigError, GraspError

__all__ = ["DATA_ROOT_ENV", "confine_data_path"]

DATA_ROOT_ENV = "GRASP_DATA_ROOT"
"""The variable confining data files (sources, sinks, media in records) to one folder."""


def confine_data_path(path: Path, what: str, *, error: type[GraspError] = ConfigError) -> Path:
    """``path`` unchanged without :data:`DATA_ROOT_ENV`; with it, ``path``'s real location
    (symlinks followed), or ``error`` when that is outside the folder. Open the path
    returned, not ``path``: a symlink swapped in after this check is then never followed."""
    root = os.environ.get(DATA_ROOT_ENV)
    if not root:
        return path
    try:
        real = path.resolve()
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop (3.11)
        raise error(f"{what} {str(path)!r} cannot be used ({exc})") from None
    folder = Path(root).resolve()
    if real != folder and not real.is_relative_to(folder):
        raise error(
            f"{what} {str(path)!r} is outside the folder {DATA_ROOT_ENV} names (GraSP "
            "Studio's workspace); only files inside it are read or written here (copy the "
            "file in, or use `grasp run`)"
        )
    return real
