"""``grasp convert sygra``: a task's ``TaskExecutor`` class as keys of its task file.

SyGra runs a task through ``tasks.<task>.task_executor.TaskExecutor`` when the folder has
one, a subclass of its ``BaseTaskExecutor``; the methods such a class overrides that act on
records are written where GraSP calls them, on the compatibility base class
(``grasp_nodes.sygra_compat.BaseTaskExecutor``) the converted module now imports:

- ``init_dataset()`` (the dataset, built in code) → a ``python`` source calling it; it
  replaces ``data_config.source`` as it does in SyGra;
- ``input_record_generator(record)`` → the last of the source's ``transformations``;
- ``output_record_generator(state)`` → ``output_config.generator`` (None drops the record); it
  replaces ``output_map`` as it does in SyGra.

A method that calls ``super()`` (SyGra's own code, which GraSP does not have), an
``__init__`` (GraSP builds the class with no arguments) and every other override
(``execute``, ``init_graph``...) are listed as not converted, with the task converted still.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

__all__ = ["EXECUTOR_BASES", "convert_executor"]

EXECUTOR_BASES = ("BaseTaskExecutor", "DefaultTaskExecutor")
_MODULE = "task_executor"
_CLASS = "TaskExecutor"
_PATH = f"{_MODULE}.{_CLASS}"
_HOOKS = ("init_dataset", "input_record_generator", "output_record_generator")


def convert_executor(task_dir: Path, tree: Any, name: str) -> tuple[list[str], list[str]]:
    """Write the record hooks of ``task_dir``'s ``TaskExecutor`` into the round-trip task
    ``tree`` (a mapping, changed in place). Returns (notes, problems), one line each;
    ``name`` is the task file, for them."""
    module = task_dir / f"{_MODULE}.py"
    if not module.is_file() or not isinstance(tree, dict):
        return [], []
    try:
        found = _executor(ast.parse(module.read_text(encoding="utf-8")))
    except SyntaxError:
        return [], []  # the Python conversion reports it
    if found is None:
        return [], []
    where = f"{task_dir.name}/{_MODULE}.py:{found.lineno}"
    notes: list[str] = []
    problems: list[str] = []
    methods = {
        n.name: n for n in found.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    for method, node in methods.items():
        if method in _HOOKS and _calls_super(node):
            problems.append(
                f"{where}: {_CLASS}.{method} calls super(), SyGra's own code: not converted; "
                "write the whole method, or move it into the task file by hand"
            )
        elif method not in _HOOKS:
            why = (
                "GraSP builds the class with no arguments"
                if method == "__init__"
                else "GraSP never calls it"
            )
            problems.append(f"{where}: {_CLASS}.{method} is not converted ({why})")
    hooks = {m for m in _HOOKS if m in methods and not _calls_super(methods[m])}
    data = tree.get("data_config")
    if "init_dataset" in hooks:
        if not isinstance(data, dict):
            ordered: Any = tree  # a ruamel CommentedMap: data_config goes first, as SyGra's
            ordered.insert(0, "data_config", {})
            data = tree["data_config"]
        replaced = "source" in data
        data["source"] = {"type": "python", "function": f"{_PATH}.init_dataset"}
        notes.append(
            f"{name}: {_CLASS}.init_dataset is now data_config.source (`type: python`)"
            + (", replacing the source it overrode" if replaced else "")
        )
    source = data.get("source") if isinstance(data, dict) else None
    if "input_record_generator" in hooks and isinstance(source, dict):
        steps = source.setdefault("transformations", [])
        steps.append({"transform": _PATH, "params": {}})
        notes.append(f"{name}: {_CLASS}.input_record_generator is now the source's last transform")
    if "output_record_generator" in hooks:
        output = tree.get("output_config")
        if not isinstance(output, dict):
            tree["output_config"] = {}
            output = tree["output_config"]
        dropped = output.pop("output_map", None) is not None
        output["generator"] = _PATH
        notes.append(
            f"{name}: {_CLASS}.output_record_generator is now output_config.generator"
            + (", replacing output_map (which it overrode)" if dropped else "")
        )
    return notes, problems


def _executor(module: ast.Module) -> ast.ClassDef | None:
    for node in module.body:
        if isinstance(node, ast.ClassDef) and node.name == _CLASS:
            bases = {getattr(b, "id", getattr(b, "attr", None)) for b in node.bases}
            if bases & set(EXECUTOR_BASES):
                return node
    return None


def _calls_super(node: ast.AST) -> bool:
    return any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "super"
        for n in ast.walk(node)
    )
