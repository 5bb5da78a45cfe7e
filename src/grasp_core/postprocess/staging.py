"""The files of one post-process, written in a staging folder beside their targets and moved
into place together once every step finished.

A post-process killed half-way leaves only the staging folder (``NAME.curating``), which the
next one clears before it starts again from the beginning: the curated output, the removal
report and the steps' files are never seen half-written, and the dataset being curated is
only read.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from grasp_core.engine.storage import cannot_write

__all__ = ["Staging"]


class Staging:
    """A staging folder and the final path of each file staged in it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._targets: dict[Path, Path] = {}

    @classmethod
    def fresh(cls, folder: Path) -> Staging:
        """An empty staging folder: what a killed post-process left there is removed."""
        try:
            _remove(folder)
            folder.mkdir(parents=True)
        except OSError as exc:
            raise cannot_write(folder, exc) from exc
        return cls(folder)

    def path(self, target: Path) -> Path:
        """Where to write what becomes ``target`` on :meth:`commit`."""
        staged = self.folder / target.name
        self._targets[target] = staged
        return staged

    def commit(self) -> list[Path]:
        """Move every staged file or folder onto its target, remove targets that were not
        written this time (an older curated output when no record was kept), then the
        staging folder; return the targets that exist now."""
        written: list[Path] = []
        for target, staged in self._targets.items():
            try:
                if staged.exists():
                    if target.is_dir() and not target.is_symlink():
                        shutil.rmtree(target)  # os.replace cannot put a folder over a full one
                    os.replace(staged, target)
                    written.append(target)
                else:
                    _remove(target)
            except OSError as exc:
                raise cannot_write(target, exc) from exc
        self.discard()
        return written

    def discard(self) -> None:
        """Remove the staging folder and what it holds (best effort)."""
        shutil.rmtree(self.folder, ignore_errors=True)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
