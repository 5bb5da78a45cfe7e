"""What a task may reach when the Studio tries, validates or runs it: files inside the
workspace only, and code from the workspace or registered plugins only.

A task file edited in a browser is input the Studio did not write, so before it reads or
runs one it checks that every file the task names — sources, sinks, subgraph files and
folders, the ``models.yaml`` beside it — resolves (symlinks followed) inside the workspace.
Dotted paths (``lambda: steps.clean``) are confined in the child process that tries or runs
the task, through :data:`CODE_ROOT_ENV` (see ``grasp_core``'s dotted-path resolution)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml.error import YAMLError
from starlette.exceptions import HTTPException

import grasp_core
from grasp_studio.workspace import TASK_FILES, Workspace

__all__ = ["CODE_ROOT_ENV", "check_task", "child_env"]

CODE_ROOT_ENV = grasp_core.CODE_ROOT_ENV
"""Set for every try and run the Studio starts: dotted paths resolve only to modules under
that folder (the workspace) and to GraSP's and registered plugins' packages."""
_FILE_KEYS = frozenset(
    {"file_path", "output_file", "error_file", "dir", "cache_dir", "data_files", "output_dir"}
)
"""Config keys whose values are files or folders (sources, sinks, caches)."""
_GRAPH_KEYS = ("graph", "subgraph")
_MAX_NESTING = 8
"""How deep subgraph files may nest (each names its own files, checked in turn)."""
_CODE_SUFFIXES = (".py", ".pth", ".pyc", ".so")
"""What a task never writes: a file Python would import."""


def child_env(ws: Workspace, environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` for a child process started on ``ws``'s tasks: dotted paths confined to
    the workspace's modules, and the files sources, sinks and media paths in records open to
    the workspace's files (checked when opened, after the checks here)."""
    return {**environ, CODE_ROOT_ENV: str(ws.root), grasp_core.DATA_ROOT_ENV: str(ws.root)}


def check_task(ws: Workspace, path: Path) -> None:
    """Refuse (400, one line naming the YAML path) the task at ``path`` when a file it names
    — its subgraph files' files too — is outside the workspace, or it would write a Python
    file; a task that does not load is the caller's usual 400 (``GraspError``). Called in
    the Studio's requests, where loading a task imports none of its code."""
    task = grasp_core.Task.load(path)
    seen = {task.path or path.resolve()}
    _check_files(ws, ws.relative(path), task.data, task.task_dir, seen, 0)


def _check_files(
    ws: Workspace, shown: str, data: Any, task_dir: Path, seen: set[Path], depth: int
) -> None:
    """Check the files ``data`` (a task or subgraph file's YAML, from ``task_dir``) names,
    and the files each subgraph file inside the workspace names in turn."""
    if depth > _MAX_NESTING:
        raise HTTPException(400, f"{shown}: subgraph files nest more than {_MAX_NESTING} deep")
    for where, value in _named_files(data, (), task_dir):
        target = Path(value) if Path(value).is_absolute() else task_dir / value
        if not ws.contains(target):
            raise HTTPException(
                400,
                f"{shown}: {where} = {value!r} is outside the workspace; the Studio reads and "
                "writes only files inside it (copy the file in, or use `grasp run`)",
            )
        if where.startswith("data_config.sink") and target.suffix in _CODE_SUFFIXES:
            raise HTTPException(400, f"{shown}: {where} = {value!r} would write a Python file")
        graph_file = _graph_file(target) if where.endswith(_GRAPH_KEYS) else None
        if graph_file is not None and not ws.contains(graph_file):
            raise HTTPException(400, f"{shown}: {where} = {value!r} is outside the workspace")
        if graph_file is not None and graph_file.resolve() not in seen:
            seen.add(graph_file.resolve())
            inner = _plain_yaml(ws, graph_file)
            _check_files(
                ws, ws.relative(graph_file), inner, graph_file.resolve().parent, seen, depth + 1
            )
    models = task_dir / "models.yaml"
    if (models.is_symlink() or models.exists()) and not ws.contains(models):
        raise HTTPException(400, f"{shown}: models.yaml beside it is outside the workspace")


def _graph_file(target: Path) -> Path | None:
    """The YAML file a subgraph's ``graph`` names (a file, or a folder's task file)."""
    if target.is_dir():
        return next((target / n for n in TASK_FILES if (target / n).is_file()), None)
    return target if target.suffix in (".yaml", ".yml") and target.is_file() else None


def _plain_yaml(ws: Workspace, file: Path) -> Any:
    """``file``'s YAML as plain data (aliases and nesting bounded; nothing resolved)."""
    try:
        text = file.read_text(encoding="utf-8")
        return grasp_core.bounded_yaml().load(text)
    except (OSError, UnicodeDecodeError, YAMLError, grasp_core.GraspError) as exc:
        message = " ".join(str(exc).split())
        raise HTTPException(
            400, f"{ws.relative(file)}: not a readable YAML file ({message})"
        ) from None


def _named_files(data: Any, where: tuple[str, ...], task_dir: Path) -> Iterator[tuple[str, str]]:
    """``(yaml path, file)`` for every file or folder named in ``data``."""
    if isinstance(data, Mapping):
        for key, value in data.items():
            inner = (*where, str(key))
            if key in _FILE_KEYS or (key in _GRAPH_KEYS and isinstance(value, str)):
                for text in value if isinstance(value, list) else [value]:
                    if isinstance(text, str) and text and "://" not in text:
                        graph = key in _GRAPH_KEYS
                        yield ".".join(inner), _graph_target(text, task_dir) if graph else text
            else:
                yield from _named_files(value, inner, task_dir)
    elif isinstance(data, list):
        for index, value in enumerate(data):
            place = (*where[:-1], f"{where[-1]}[{index}]") if where else (f"[{index}]",)
            yield from _named_files(value, place, task_dir)


def _graph_target(spec: str, task_dir: Path) -> str:
    """A subgraph's ``graph``: a file or folder path as written; a dotted one (SyGra's
    ``tasks.recipes.answer``) as the folder it names, looked up from the task's folder and
    the folders above it as ``grasp_core`` does (a Python graph's dotted path names no
    folder, and is confined as code is)."""
    if "/" in spec or spec.endswith((".yaml", ".yml")):
        return spec
    relative = Path(*spec.split("."))
    for base in (task_dir, *task_dir.parents):
        if (base / relative).is_dir():
            return str(base / relative)
    return relative.as_posix()
