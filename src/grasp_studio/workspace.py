"""The workspace: the one folder the Studio reads and writes. Every file access goes through
:meth:`Workspace.resolve`, which refuses anything outside it (``..``, absolute paths and
symlinks that lead out alike)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from starlette.exceptions import HTTPException

__all__ = ["TASK_FILES", "Workspace"]

TASK_FILES = ("task.yaml", "graph_config.yaml")
"""What a folder's task file is called (as ``grasp run FOLDER`` looks for it)."""
_SKIPPED_DIRS = {".git", ".venv", "node_modules", "__pycache__", ".grasp"}
_MAX_DEPTH = 4
"""How deep :meth:`Workspace.task_files` looks for task files."""


_SHOWN_LENGTH = 120
"""How much of a path an error message repeats."""


def _shown(relative: str) -> str:
    """``relative`` as an error message shows it: quoted, cut short when it is long."""
    if len(relative) <= _SHOWN_LENGTH:
        return repr(relative)
    return f"{relative[:_SHOWN_LENGTH]!r}... ({len(relative)} characters)"


@dataclass(frozen=True)
class Workspace:
    """A folder of tasks and their runs."""

    root: Path
    mock: bool = False
    """Tries and runs started from the UI call the bundled mock server, not real models."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", self.root.resolve())

    def resolve(self, relative: str) -> Path:
        """``relative`` (a path inside the workspace, ``/``-separated) as an absolute path
        whose real location is inside the workspace; anything else is a 404 (a 400 for a
        path that is not text a file system takes: a NUL byte, a name too long, a folder
        that cannot be entered)."""
        shown = _shown(relative)
        if not relative or "\x00" in relative or "\\" in relative:
            raise HTTPException(400, f"{shown} is not a path inside the workspace")
        candidate = Path(relative)
        if candidate.is_absolute() or ".." in candidate.parts:
            raise HTTPException(404, f"{shown} is outside the workspace")
        try:
            real = (self.root / candidate).resolve()
            real.exists()  # raises what a file system refuses (ENAMETOOLONG, EACCES...)
        except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop (3.11)
            reason = getattr(exc, "strerror", None) or "a symlink loop"
            raise HTTPException(400, f"{shown} cannot be used as a path ({reason})") from None
        if real != self.root and not real.is_relative_to(self.root):
            raise HTTPException(404, f"{shown} is outside the workspace")
        return real

    def contains(self, path: Path) -> bool:
        """Whether ``path``'s real location (symlinks followed) is inside the workspace."""
        try:
            real = path.resolve()
        except (OSError, RuntimeError):
            return False
        return real == self.root or real.is_relative_to(self.root)

    def relative(self, path: Path) -> str:
        """``path`` (inside the workspace) as the ``/``-separated name the API uses."""
        return path.resolve().relative_to(self.root).as_posix()

    def hide_root(self, text: str) -> str:
        """``text`` with the workspace's absolute path left out (paths shown relative to it)."""
        return text.replace(str(self.root) + "/", "").replace(str(self.root), ".")

    def task_files(self) -> list[Path]:
        """Task files in the workspace (``task.yaml`` or ``graph_config.yaml`` in a folder),
        sorted, a few folders deep; hidden and tool folders are skipped."""
        found: list[Path] = []
        self._walk(self.root, 0, found)
        return sorted(found)

    def _walk(self, folder: Path, depth: int, found: list[Path]) -> None:
        if depth > _MAX_DEPTH:
            return
        try:
            entries = sorted(folder.iterdir())
        except OSError:
            return
        for entry in entries:
            if entry.name.startswith(".") or entry.name in _SKIPPED_DIRS:
                continue
            if entry.is_symlink() and not entry.resolve().is_relative_to(self.root):
                continue
            if entry.is_dir():
                self._walk(entry, depth + 1, found)
            elif entry.name in TASK_FILES:
                found.append(entry)
