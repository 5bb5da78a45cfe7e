"""Resolve dotted paths (`validators.code.check_validity`) to Python objects.

A path resolves against the task's folder first, then ``sys.path``. Task folders are
put at the front of ``sys.path`` (for the life of the process) so a task's own modules
import each other normally. A module cached from *another task's folder* under the same
name is reloaded from this one; modules from the standard library or site-packages are
never evicted, so a task file named like one of them cannot replace it process-wide.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from grasp_core.errors import PluginError

__all__ = ["resolve_dotted"]

_FROM_TASK_FOLDER: dict[str, Path] = {}
"""Top-level module name → the task folder it was imported from."""


def resolve_dotted(
    path: str, base_dir: Path | None, *, what: str = "object", whole_module: bool = False
) -> Any:
    """Import the longest module prefix of ``path`` and walk the rest as attributes; with
    ``whole_module``, ``path`` may name a module itself (SyGra names tool modules so)."""
    if not path or any(not part.isidentifier() for part in path.split(".")):
        raise PluginError(f"{path!r} is not a dotted path (expected `package.module.name`)")
    if base_dir is not None:
        _prefer_folder(base_dir.resolve())
    parts = path.split(".")
    errors: list[str] = []
    for cut in range(len(parts) if whole_module else len(parts) - 1, 0, -1):
        module_name = ".".join(parts[:cut])
        try:
            module = _import_from(module_name, base_dir)
        except ModuleNotFoundError as exc:
            if exc.name is not None and not module_name.startswith(exc.name):
                raise PluginError(
                    f"cannot import {what} {path!r}: module {module_name!r} needs "
                    f"{exc.name!r}, which is not installed"
                ) from exc
            errors.append(module_name)
            continue
        except Exception as exc:
            raise PluginError(
                f"cannot import {what} {path!r}: importing {module_name!r} raised "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        target: Any = module
        for attr in parts[cut:]:
            if not hasattr(target, attr):
                raise PluginError(
                    f"cannot find {what} {path!r}: {module_name!r} has no attribute {attr!r}"
                )
            target = getattr(target, attr)
        return target
    where = f"the task folder {str(base_dir)!r} or " if base_dir is not None else ""
    raise PluginError(
        f"cannot find {what} {path!r}: no module {parts[0]!r} in {where}sys.path; "
        "check the spelling, or add the module's folder to PYTHONPATH"
    )


def _prefer_folder(folder: Path) -> None:
    text = str(folder)
    if text in sys.path:
        sys.path.remove(text)
    sys.path.insert(0, text)
    importlib.invalidate_caches()


def _import_from(module_name: str, base_dir: Path | None) -> ModuleType:
    top = module_name.split(".")[0]
    if base_dir is None or not _local_candidate(module_name, base_dir):
        return importlib.import_module(module_name)
    folder = base_dir.resolve()
    previous = _FROM_TASK_FOLDER.get(top)
    if previous is not None and previous != folder:
        for name in [m for m in sys.modules if m == top or m.startswith(top + ".")]:
            del sys.modules[name]
    module = importlib.import_module(module_name)
    module_file = getattr(module, "__file__", None)
    if module_file is not None and Path(module_file).resolve().is_relative_to(folder):
        _FROM_TASK_FOLDER[top] = folder
    return module


def _local_candidate(module_name: str, base_dir: Path) -> bool:
    relative = Path(*module_name.split("."))
    return (base_dir / relative).is_dir() or (base_dir / relative).with_suffix(".py").is_file()
