"""Lazy re-exports for package roots: ``import grasp_core`` stays fast because a name's
module is imported on first use, not when the package is."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, homes: Mapping[str, Iterable[str]], public: Iterable[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``, whose names live in ``homes``
    (module → the names it defines). A name is cached in the package once imported."""
    home = {name: module for module, names in homes.items() for name in names}
    listed = sorted(public)

    def getattr_(name: str) -> Any:
        module = home.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        importlib.import_module(package).__dict__[name] = value
        return value

    def dir_() -> list[str]:
        return listed

    return getattr_, dir_
