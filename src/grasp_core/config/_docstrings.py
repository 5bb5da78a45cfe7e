"""Field docstrings of config models (``x: int`` then ``\"\"\"what x is\"\"\"``), read fast.

Every field of a config model is documented by the string under it, and that string becomes
the field's ``description`` (the YAML reference, the JSON schema the Studio shows). pydantic's
``use_attribute_docstrings`` reads them, but on Python < 3.13 it finds each class's source
by walking the call stack with ``inspect.getmodule`` (a ``realpath`` of every module loaded
since the last call) and tokenizing the class again: about 2 ms a model, some 40 ms of a
run's start-up. Here each source file is parsed once
and every class of it is found in that tree, by the line of its ``class`` statement (what
pydantic matches too), so the descriptions are the same ones.

What a file's parse found (each class's name, lines and docstrings) is kept beside its
bytecode (``__pycache__/NAME.cpython-311.docstrings.json``, under ``PYTHONPYCACHEPREFIX``
when set), stamped with the file's modification time and size, and written only where
bytecode is (not with ``PYTHONDONTWRITEBYTECODE``): a new process reads that instead of
parsing the file again (some 20 ms of a run's start-up).
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import inspect
import json
import linecache
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from grasp_core._cache_files import replace_quietly

__all__ = ["attribute_docstrings", "body_docstrings"]

_Classes = list[tuple[str, int, int, dict[str, str]]]
"""Every class of a file, in ``ast.walk`` order: its name, the line of its header (its first
decorator, else ``class``), the first line of its body, and its fields' docstrings."""
_FORMAT = 1
"""The cache files' layout; another number makes every file be parsed again."""


def attribute_docstrings(cls: type) -> dict[str, str]:
    """The docstring under each annotated name in ``cls``'s own body (cleaned as
    ``inspect.cleandoc`` does), or ``{}`` when its source cannot be found.

    Call it while ``cls`` is being created (from ``__pydantic_init_subclass__``): the frame
    running its ``class`` statement says which source, and which class of that name in it."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_globals.get("__name__") == cls.__module__:
            line = frame.f_lineno
            for name, header, body, docs in _classes(frame.f_code.co_filename, frame.f_globals):
                if name == cls.__name__ and header <= line < body:
                    return dict(docs)
        frame = frame.f_back  # type: ignore[assignment]  # None ends the loop
    return {}


def _classes(filename: str, namespace: dict[str, Any]) -> _Classes:
    """The classes of ``filename``: a file, or what ``linecache`` holds (a notebook cell) or
    gets from the module's loader (a module in a zip file)."""
    try:
        stat = os.stat(filename)
    except OSError:  # not a file: parsed each time, since linecache may learn it later
        return _summary(_parse(filename, namespace))
    return _file_classes(filename, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=64)
def _file_classes(filename: str, mtime_ns: int, size: int) -> _Classes:
    """The classes of a file, once per version of it (a file rewritten in place is read
    again): from its cache file when that was written for this version, else parsed (and
    the cache file written)."""
    stamp = [_FORMAT, mtime_ns, size]
    cache_file = _cache_file(filename)
    cached = None if cache_file is None else _read(cache_file, stamp)
    if cached is not None:
        return cached
    linecache.checkcache(filename)
    tree = _parse(filename)
    classes = _summary(tree)
    if tree is not None and cache_file is not None and not sys.dont_write_bytecode:
        replace_quietly(cache_file, json.dumps({"stamp": stamp, "classes": classes}))
    return classes


def _cache_file(filename: str) -> Path | None:
    """Where the file's bytecode goes, with ``.docstrings.json`` for ``.pyc``."""
    try:
        compiled = importlib.util.cache_from_source(filename)
    except (NotImplementedError, ValueError):  # no cache tag, or an odd name
        return None
    return Path(compiled).with_suffix(".docstrings.json")


def _read(cache_file: Path, stamp: list[int]) -> _Classes | None:
    """The classes a cache file holds, when it was written for ``stamp`` (else ``None``)."""
    try:
        content = json.loads(cache_file.read_bytes())
        if not isinstance(content, dict) or content.get("stamp") != stamp:
            return None
        return [
            (str(name), int(header), int(body), {str(k): str(v) for k, v in docs.items()})
            for name, header, body, docs in content["classes"]
        ]
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None


def _parse(filename: str, namespace: dict[str, Any] | None = None) -> ast.Module | None:
    source = "".join(linecache.getlines(filename, namespace))
    if not source:
        return None
    try:
        return ast.parse(source, filename)
    except (SyntaxError, ValueError):
        return None


def _summary(tree: ast.Module | None) -> _Classes:
    """What :func:`attribute_docstrings` needs of each class of ``tree``."""
    if tree is None:
        return []
    return [
        (node.name, _first_line(node), node.body[0].lineno, body_docstrings(node.body))
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
    ]


def _first_line(node: ast.ClassDef) -> int:
    """The line of the first decorator, else of ``class`` itself."""
    return min([node.lineno, *(decorator.lineno for decorator in node.decorator_list)])


def body_docstrings(body: list[ast.stmt]) -> dict[str, str]:
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
