"""Field docstrings of config models (``x: int`` then ``\"\"\"what x is\"\"\"``), read fast.

Every field of a config model is documented by the string under it, and that string becomes
the field's ``description`` (the YAML reference, the JSON schema the Studio shows). pydantic's
``use_attribute_docstrings`` reads them, but on Python < 3.13 it finds each class's source
by walking the call stack with ``inspect.getmodule`` (a ``realpath`` of every module loaded
since the last call) and tokenizing the class again: about 2 ms a model, some 40 ms of a
run's start-up. Here each source file is parsed once
and every class of it is found in that tree, by the line of its ``class`` statement (what
pydantic matches too), so the descriptions are the same ones.
"""

from __future__ import annotations

import ast
import functools
import inspect
import linecache
import os
import sys
from collections.abc import Iterator
from typing import Any

__all__ = ["attribute_docstrings"]


def attribute_docstrings(cls: type) -> dict[str, str]:
    """The docstring under each annotated name in ``cls``'s own body (cleaned as
    ``inspect.cleandoc`` does), or ``{}`` when its source cannot be found.

    Call it while ``cls`` is being created (from ``__pydantic_init_subclass__``): the frame
    running its ``class`` statement says which source, and which class of that name in it."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_globals.get("__name__") == cls.__module__:
            tree = _tree(frame.f_code.co_filename, frame.f_globals)
            node = None if tree is None else _class_at(tree, cls.__name__, frame.f_lineno)
            if node is not None:
                return _docstrings(node.body)
        frame = frame.f_back  # type: ignore[assignment]  # None ends the loop
    return {}


def _tree(filename: str, namespace: dict[str, Any]) -> ast.Module | None:
    """The syntax tree of ``filename``: a file, or what ``linecache`` holds (a notebook
    cell) or gets from the module's loader (a module in a zip file)."""
    try:
        stat = os.stat(filename)
    except OSError:  # not a file: parsed each time, since linecache may learn it later
        return _parse(filename, namespace)
    return _parsed_file(filename, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=64)
def _parsed_file(filename: str, _mtime_ns: int, _size: int) -> ast.Module | None:
    """:func:`_parse`, once per version of a file (a file rewritten in place is parsed
    again)."""
    linecache.checkcache(filename)
    return _parse(filename)


def _parse(filename: str, namespace: dict[str, Any] | None = None) -> ast.Module | None:
    source = "".join(linecache.getlines(filename, namespace))
    if not source:
        return None
    try:
        return ast.parse(source, filename)
    except (SyntaxError, ValueError):
        return None


def _class_at(tree: ast.Module, name: str, line: int) -> ast.ClassDef | None:
    """The class ``name`` whose header (its decorators and ``class`` line) holds ``line``."""
    for node in _classes_named(tree, name):
        if _first_line(node) <= line < node.body[0].lineno:
            return node
    return None


def _classes_named(tree: ast.AST, name: str) -> Iterator[ast.ClassDef]:
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == name:
            yield node


def _first_line(node: ast.ClassDef) -> int:
    """The line of the first decorator, else of ``class`` itself."""
    return min([node.lineno, *(decorator.lineno for decorator in node.decorator_list)])


def _docstrings(body: list[ast.stmt]) -> dict[str, str]:
    """``name → docstring`` for every ``name: type`` directly followed by a string, in
    source order (a name documented twice keeps the later one)."""
    found: dict[str, str] = {}
    _collect(body, found)
    return found


def _collect(statements: list[ast.stmt], found: dict[str, str]) -> None:
    """Add the documented names of ``statements`` to ``found``, going into the statement
    lists of ``if``/``try``/``with``/``for``/``match`` (as pydantic does), not into nested
    classes and functions: their names are not this class's fields."""
    for current, following in zip(statements, [*statements[1:], None], strict=True):
        if not isinstance(current, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in _inner_lists(current):
                _collect(inner, found)
        if (
            isinstance(current, ast.AnnAssign)
            and isinstance(current.target, ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            found[current.target.id] = inspect.cleandoc(following.value.value)


def _inner_lists(node: ast.AST) -> Iterator[list[ast.stmt]]:
    """The statement lists directly inside ``node``, in the order of its fields."""
    for name in node._fields:
        value = getattr(node, name, None)
        if not isinstance(value, list):
            continue
        statements = [item for item in value if isinstance(item, ast.stmt)]
        if statements:
            yield statements
        for item in value:
            if isinstance(item, ast.ExceptHandler | ast.match_case):
                yield item.body
