"""The state keys a SyGra lambda writes, read from its code.

SyGra's lambda node has no ``output_keys``: its function changes the state it gets and
returns all of it, and LangGraph merges every key. GraSP declares each node's keys before the
run (to check what later nodes read), so for a SyGra lambda written without ``output_keys``
they are read from the function's code: the string keys it assigns on its state parameter
(``state["n"] = ...``, ``state["n"] += 1``, ``state.update({"n": ...})``,
``state.setdefault("n", ...)``, ``state["n"].append(...)``) and the keys of a dict literal it
returns. A write GraSP cannot read (a key held in a variable, the state handed to another
function or replaced) gives None: the task must then list ``output_keys``. The dialect
(``graph_config.yaml`` run as it is) and ``grasp convert sygra`` (which writes the keys into
``task.yaml``) both use this.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["callable_writes", "missing_keys_message", "module_writes", "spec_writes"]

_MUTATORS = frozenset(
    {"append", "extend", "insert", "update", "setdefault", "pop", "remove", "clear", "add"}
)
"""Methods that change a state value in place (``state["texts"].append(t)`` writes it)."""

_READERS = frozenset(
    {"isinstance", "len", "print", "str", "repr", "bool", "list", "dict", "sorted", "type"}
)
"""Builtins that only read the state handed to them."""


class _UnreadableError(Exception):
    """A write whose key the code does not spell out."""


def callable_writes(fn: Any) -> list[str] | None:
    """The keys the live function (or method) ``fn`` writes on its state, in order of first
    write; None when they cannot be read from its code."""
    try:
        source = textwrap.dedent(inspect.getsource(fn))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError):
        return None
    func = next(
        (n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)), None
    )
    return _writes(func) if func is not None else None


def module_writes(module: Path, qualname: str) -> list[str] | None:
    """The keys ``qualname`` (a function, or a class whose ``apply`` is the lambda) of the
    Python file ``module`` writes; None when it is not there or they cannot be read."""
    try:
        tree = ast.parse(module.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, SyntaxError):
        return None
    scope: list[ast.stmt] = tree.body
    found: ast.AST | None = None
    for part in qualname.split("."):
        found = next((n for n in scope if getattr(n, "name", None) == part), None)
        if found is None:
            return None
        scope = getattr(found, "body", [])
    if isinstance(found, ast.ClassDef):
        found = next((n for n in found.body if getattr(n, "name", None) == "apply"), None)
    if not isinstance(found, ast.FunctionDef | ast.AsyncFunctionDef):
        return None
    return _writes(found)


def spec_writes(
    spec: str, locate: Callable[[list[str]], Path | None], packages: tuple[str, ...]
) -> list[str] | None:
    """The keys the lambda at the dotted path ``spec`` writes: ``locate`` finds the Python
    file a dotted module path names (None: none), tried with and without a first part in
    ``packages`` (SyGra's package prefix); None when no module holds a lambda whose keys
    can be read."""
    whole = spec.split(".")
    for parts in (whole, whole[1:] if whole[0] in packages else []):
        for cut in range(len(parts) - 1, 0, -1):
            module = locate(parts[:cut])
            keys = module_writes(module, ".".join(parts[cut:])) if module else None
            if keys:
                return keys
    return None


def missing_keys_message(node: str, spec: str) -> str:
    """The line for a SyGra lambda whose written keys cannot be read from its code."""
    return (
        f"lambda node {node!r} has no output_keys, and which state keys {spec!r} writes "
        "cannot be read from its code (a key held in a variable, or the state handed to "
        "another function); add `output_keys: [...]` naming the keys it sets"
    )


def _writes(func: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str] | None:
    """The keys ``func`` writes on its last positional parameter (SyGra's ``state``)."""
    params = [*func.args.posonlyargs, *func.args.args]
    if not params:
        return None
    state = params[-1].arg
    found: list[tuple[int, int, str]] = []
    try:
        for node in ast.walk(func):
            where = getattr(node, "lineno", 0), getattr(node, "col_offset", 0)
            found += [(*where, key) for key in _written(node, state)]
    except _UnreadableError:
        return None
    return list(dict.fromkeys(key for *_, key in sorted(found, key=lambda f: f[:2])))


def _written(node: ast.AST, state: str) -> list[str]:
    """The keys one AST node writes on ``state`` (raises :class:`_UnreadableError`)."""
    if isinstance(node, ast.Subscript) and _is(node.value, state):
        if isinstance(node.ctx, ast.Store):
            return [_key(node.slice)]
        return []
    if isinstance(node, ast.Name) and node.id == state and isinstance(node.ctx, ast.Store):
        raise _UnreadableError  # the state replaced by another object
    if isinstance(node, ast.Return) and isinstance(node.value, ast.Dict):
        return [_key(k) for k in node.value.keys if k is not None]
    if not isinstance(node, ast.Call):
        return []
    reader = isinstance(node.func, ast.Name) and node.func.id in _READERS
    if not reader and any(_is(a, state) for a in (*node.args, *(k.value for k in node.keywords))):
        raise _UnreadableError  # handed to another function, which may write anything
    target = node.func
    if not isinstance(target, ast.Attribute) or target.attr not in _MUTATORS:
        return []
    if _is(target.value, state):
        if target.attr == "update":
            return _update_keys(node)
        return [_key(node.args[0])] if target.attr == "setdefault" and node.args else []
    owner = target.value
    if isinstance(owner, ast.Subscript) and _is(owner.value, state):
        return [_key(owner.slice)]  # state["texts"].append(...)
    return []


def _update_keys(call: ast.Call) -> list[str]:
    keys: list[str] = []
    for arg in call.args:
        if not isinstance(arg, ast.Dict):
            raise _UnreadableError
        keys += [_key(k) for k in arg.keys if k is not None]
    if any(k.arg is None for k in call.keywords):
        raise _UnreadableError
    return keys + [k.arg for k in call.keywords if k.arg is not None]


def _is(node: ast.AST, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name


def _key(node: ast.AST | None) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    raise _UnreadableError
