"""The public surface: explicit sorted `__all__` everywhere, and a light `import grasp_core`."""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import grasp_core

PACKAGES = ("grasp_core", "grasp_nodes", "grasp_io")
HEAVY = ("litellm", "datasets", "pyarrow", "grasp_nodes", "grasp_io")


def public_modules() -> list[str]:
    """Every module of the three packages whose dotted path has no `_`-prefixed part."""
    found = list(PACKAGES)
    for root in PACKAGES:
        package = importlib.import_module(root)
        found += [i.name for i in pkgutil.walk_packages(package.__path__, prefix=root + ".")]
    return sorted(n for n in found if not any(p.startswith("_") for p in n.split(".")))


def isort_key(name: str) -> tuple[int, str]:
    """Ruff's RUF022 order: CONSTANTS, then Classes, then everything else."""
    if name.isupper():
        return (0, name)
    return (1, name) if name[:1].isupper() else (2, name)


def imported_after(statement: str) -> list[str]:
    """Which of HEAVY a fresh interpreter has imported after running ``statement``."""
    code = f"{statement}\nimport json, sys\nprint(json.dumps(sorted(m for m in {HEAVY!r} "
    code += "if m in sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    loaded: list[str] = json.loads(done.stdout)
    return loaded


MODULES = public_modules()


def test_the_walk_reaches_every_subpackage() -> None:
    """The pkgutil walk sees nested modules, so the `__all__` check covers them too."""
    assert {"grasp_core.graph.compile", "grasp_nodes.llm", "grasp_io.sinks.jsonl"} <= set(MODULES)


@pytest.mark.parametrize("root", PACKAGES)
def test_every_source_folder_is_a_regular_package(root: str) -> None:
    """Every folder of Python source has an `__init__.py`, so tools that walk packages see it."""
    folder = Path(importlib.import_module(root).__path__[0])
    folders = {f.parent for f in folder.rglob("*.py") if "__pycache__" not in f.parts}
    assert sorted(str(f) for f in folders if not (f / "__init__.py").is_file()) == []


@pytest.mark.parametrize("module_name", MODULES)
def test_public_module_defines_a_sorted_all(module_name: str) -> None:
    """Each public module lists its API in `__all__`, sorted the way ruff (RUF022) sorts it."""
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None)
    assert names is not None, f"{module_name} has no __all__"
    assert list(names) == sorted(names, key=isort_key), f"{module_name}.__all__ is not sorted"
    missing = [name for name in names if not hasattr(module, name)]
    assert missing == [], f"{module_name}.__all__ names undefined {missing}"


def test_import_grasp_core_stays_light() -> None:
    """`import grasp_core` loads no model client, data library or plugin package."""
    assert imported_after("import grasp_core") == []


def test_import_cli_does_not_load_litellm() -> None:
    """The CLI module imports its heavy dependencies inside commands, not at import."""
    assert "litellm" not in imported_after("import grasp_core.cli")


def test_core_public_names_do_not_pull_in_plugins() -> None:
    """Resolving every name of `grasp_core.__all__` still leaves litellm and plugins unloaded."""
    statement = "import grasp_core\nfor name in grasp_core.__all__: getattr(grasp_core, name)"
    loaded = imported_after(statement)
    assert not {"litellm", "grasp_nodes", "grasp_io"} & set(loaded)


def test_every_name_in_grasp_core_all_resolves() -> None:
    """Each name in `grasp_core.__all__` resolves to a real object, and `dir()` lists them."""
    for name in grasp_core.__all__:
        assert getattr(grasp_core, name) is not None, name
    assert set(grasp_core.__all__) <= set(dir(grasp_core))
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        _ = grasp_core.not_a_name  # type: ignore[attr-defined]
