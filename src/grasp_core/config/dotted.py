"""Resolve dotted paths (`validators.code.check_validity`) to Python objects.

A path resolves against the task's folder first, then ``sys.path``. Task folders are
put at the front of ``sys.path`` (for the life of the process) so a task's own modules
import each other normally. A module cached from *another task's folder* under the same
name is reloaded from this one; modules from the standard library or site-packages are
never evicted, so a task file named like one of them cannot replace it process-wide.

With ``GRASP_CODE_ROOT`` set (GraSP Studio sets it for the tries and runs it starts), a
dotted path may name only code in a module under that folder, in GraSP's own packages or in
a plugin registered by entry point (``grasp.*`` groups): a task edited in a browser cannot
call ``subprocess.run`` or ``os.system``. The module is looked up before it is imported, and
the object found is checked too (a registered module's ``subprocess`` attribute is still
``subprocess``; ``sys.stdout.write`` is a method of an object no such module defines).

Inside :func:`task_code_refused` (GraSP Studio's own request handling) nothing is imported at
all: a dotted path is a ``PluginError``, and loading a task leaves its post-process steps
unresolved; the Studio's child processes resolve them, confined.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import sys
import types
from collections.abc import Iterator
from contextvars import ContextVar
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

from grasp_core.errors import PluginError
from grasp_core.signal_exits import calls_user_code

__all__ = ["CODE_ROOT_ENV", "resolve_dotted", "task_code_refused", "task_code_refused_here"]

CODE_ROOT_ENV = "GRASP_CODE_ROOT"
"""The variable confining dotted paths to one folder's modules and registered plugins."""
_GRASP_PACKAGES = frozenset({"grasp_core", "grasp_nodes", "grasp_io"})

_FROM_TASK_FOLDER: dict[str, Path] = {}
"""Top-level module name → the task folder it was imported from."""
_REFUSED: ContextVar[bool] = ContextVar("grasp_task_code_refused", default=False)


@contextlib.contextmanager
def task_code_refused() -> Iterator[None]:
    """Within this block (and the threads and tasks it starts), no dotted path is imported:
    for a process that reads tasks it did not write and must not run their code."""
    token = _REFUSED.set(True)
    try:
        yield
    finally:
        _REFUSED.reset(token)


def task_code_refused_here() -> bool:
    """Whether the caller runs inside :func:`task_code_refused`."""
    return _REFUSED.get()


def resolve_dotted(
    path: str, base_dir: Path | None, *, what: str = "object", whole_module: bool = False
) -> Any:
    """Import the longest module prefix of ``path`` and walk the rest as attributes; with
    ``whole_module``, ``path`` may name a module itself (SyGra names tool modules so)."""
    if not path or any(not part.isidentifier() for part in path.split(".")):
        raise PluginError(f"{path!r} is not a dotted path (expected `package.module.name`)")
    if _REFUSED.get():
        raise PluginError(f"{what} {path!r} is not imported here: this process runs no task code")
    if base_dir is not None:
        _prefer_folder(base_dir.resolve())
    parts = path.split(".")
    root = os.environ.get(CODE_ROOT_ENV)
    if root:
        _check_allowed(path, parts[0], Path(root), what)
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
            if root and attr.startswith("__"):
                raise _refusal(path, attr, Path(root), what)
            if not hasattr(target, attr):
                raise PluginError(
                    f"cannot find {what} {path!r}: {module_name!r} has no attribute {attr!r}"
                )
            target = getattr(target, attr)
            if root:  # every step: `steps.os.environ` goes through a module of no one allowed
                _check_object(path, target, Path(root), what)
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


# A task module that blocks while it is imported (a connection that hangs at import) must
# not leave a run deaf to Ctrl-C: a stop signal landing in it interrupts the import.
calls_user_code(_import_from.__code__)


def _local_candidate(module_name: str, base_dir: Path) -> bool:
    relative = Path(*module_name.split("."))
    return (base_dir / relative).is_dir() or (base_dir / relative).with_suffix(".py").is_file()


def _check_allowed(path: str, top: str, root: Path, what: str) -> None:
    """Refuse ``path`` unless its top-level module is GraSP's, a registered plugin's, or a
    file under ``root`` (found without importing anything)."""
    if top in _trusted_packages():
        return
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        spec = None
    places = [spec.origin] if spec is not None and spec.origin else []
    if spec is not None and spec.submodule_search_locations:
        places += list(spec.submodule_search_locations)
    if places and all(_inside(place, root) for place in places):
        return
    raise _refusal(path, top, root, what)


def _check_object(path: str, target: Any, root: Path, what: str) -> None:
    """Refuse what ``path`` reached through an allowed module unless it is a module, class or
    function of an allowed module, a method of such a function bound to an allowed object,
    or a plain value (``grasp_nodes.x.subprocess.run`` is ``subprocess.run``;
    ``sys.stdout.write`` a built-in method of an object no allowed module defines)."""
    if not _allowed_object(target, root):
        raise _refusal(path, _owner(target).split(".")[0], root, what)


def _owner(target: Any) -> str:
    """The module ``target`` belongs to, as a refusal names it."""
    if isinstance(target, ModuleType):
        return target.__name__
    owner = getattr(target, "__self__", None)
    if isinstance(owner, ModuleType):
        return owner.__name__
    module = getattr(target, "__module__", None)
    return module if isinstance(module, str) else type(owner or target).__module__


def _allowed_object(target: Any, root: Path) -> bool:
    if isinstance(target, ModuleType):
        return _allowed_module(target.__name__, root)
    if isinstance(target, type | types.FunctionType):
        return _allowed_module(target.__module__, root)
    if isinstance(target, types.MethodType):
        owner = target.__self__
        return _allowed_object(target.__func__, root) and _allowed_object(
            owner if isinstance(owner, type) else type(owner), root
        )
    if isinstance(target, types.BuiltinFunctionType):  # a C function: its module's, or refused
        owner = target.__self__
        return isinstance(owner, ModuleType) and _allowed_module(owner.__name__, root)
    if callable(target):  # a callable instance, a descriptor, a method wrapper
        return _allowed_module(type(target).__module__, root)
    return True  # a plain value (a dict, a number): no code of its own


def _allowed_module(module_name: object, root: Path) -> bool:
    if not isinstance(module_name, str):
        return False
    if module_name.split(".")[0] in _trusted_packages():
        return True
    module_file = getattr(sys.modules.get(module_name), "__file__", None)
    return isinstance(module_file, str) and _inside(module_file, root)


def _refusal(path: str, top: str, root: Path, what: str) -> PluginError:
    return PluginError(
        f"{what} {path!r} is not allowed here: {top!r} is neither a module of the workspace "
        f"({root}) nor a registered GraSP plugin; tasks run from GraSP Studio call only those "
        "(move the code into a module beside the task)"
    )


def _inside(place: str, root: Path) -> bool:
    """Whether the file ``place`` is under ``root`` (``built-in`` or ``frozen``, the origin of
    a module with no file, is nowhere)."""
    return Path(place).is_absolute() and Path(place).resolve().is_relative_to(root.resolve())


@cache
def _trusted_packages() -> frozenset[str]:
    """GraSP's packages and the top-level packages of plugins registered by entry point."""
    groups = [group for group in entry_points().groups if group.startswith("grasp.")]
    plugins = {
        ep.value.split(":")[0].split(".")[0] for group in groups for ep in entry_points(group=group)
    }
    return _GRASP_PACKAGES | plugins
