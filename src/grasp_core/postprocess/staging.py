"""The files of one post-process, written in a staging folder beside their targets and moved
into place as one set once every step finished.

A post-process killed half-way leaves only the staging folder (``NAME.curating``), which the
next one clears before it starts again from the beginning: the dataset being curated is only
read. Moving several files cannot be one atomic rename, so the commit is decided first: the
list of moves (``.grasp-commit.json``) is written into the staging folder, atomically, and only then
are the files moved. A kill between two moves leaves that list behind, and whatever opens
the staging folder next (the next post-process) finishes the moves before anything else, so
the curated output, the removal report and the steps' files are never left from two
different post-processes once a post-process has started again.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from grasp_core.engine.storage import cannot_write
from grasp_core.logs import get_logger

__all__ = ["MANIFEST", "Staging"]

MANIFEST = ".grasp-commit.json"
"""The decided moves, in the staging folder, while a commit is under way."""
_log = get_logger(__name__)


class Staging:
    """A staging folder and the final path of each file staged in it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._targets: dict[Path, Path] = {}

    @classmethod
    def fresh(cls, folder: Path) -> Staging:
        """An empty staging folder. A commit a kill interrupted is finished first; anything
        else a killed post-process left there is removed."""
        try:
            if (folder / MANIFEST).is_file():
                _roll_forward(folder)
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
        staging folder; return the targets that exist now. The moves are recorded first
        (:data:`MANIFEST`), so an interrupted commit is finished by the next :meth:`fresh`."""
        decided = {staged.name: staged.exists() for staged in self._targets.values()}
        moves: list[dict[str, Any]] = [
            {"staged": staged.name, "target": str(target), "move": decided[staged.name]}
            for target, staged in self._targets.items()
        ]
        manifest = self.folder / MANIFEST
        try:
            _write_atomically(manifest, json.dumps({"moves": moves}))
        except OSError as exc:
            raise cannot_write(manifest, exc) from exc
        _apply(self.folder, moves)
        shutil.rmtree(self.folder, ignore_errors=True)
        return [target for target, staged in self._targets.items() if decided[staged.name]]

    def discard(self) -> None:
        """Remove the staging folder and what it holds (best effort); a commit under way
        (its list of moves written) is kept, for the next :meth:`fresh` to finish."""
        if (self.folder / MANIFEST).is_file():
            _log.warning(
                "the post-process stopped while moving its files into place; the next one "
                "finishes the moves first",
                staging=str(self.folder),
            )
            return
        shutil.rmtree(self.folder, ignore_errors=True)


def _apply(folder: Path, moves: list[dict[str, Any]]) -> None:
    """Do the recorded moves; a move already done (its staged file gone) is skipped, so
    applying them again after an interruption finishes the job."""
    for move in moves:
        staged, target = folder / str(move["staged"]), Path(move["target"])
        try:
            if not move["move"]:
                _remove(target)
            elif staged.exists() or staged.is_symlink():
                if target.is_dir() and not target.is_symlink():
                    shutil.rmtree(target)  # os.replace cannot put a folder over a full one
                os.replace(staged, target)
        except OSError as exc:
            raise cannot_write(target, exc) from exc


def _roll_forward(folder: Path) -> None:
    """Finish the commit a kill interrupted (its manifest is complete: it was written by
    rename)."""
    moves = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))["moves"]
    _log.warning("finishing the moves of an interrupted post-process", staging=str(folder))
    _apply(folder, moves)


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
