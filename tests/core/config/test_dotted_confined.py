"""``GRASP_CODE_ROOT`` confines dotted paths to that folder's modules and GraSP's (and its
registered plugins') packages: what GraSP Studio relies on for tasks edited in a browser."""

from __future__ import annotations

from pathlib import Path

import pytest

from grasp_core import CODE_ROOT_ENV, PluginError
from grasp_core.config.dotted import resolve_dotted


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A task folder with its own module, and the variable set to the folder above it."""
    task = tmp_path / "task"
    task.mkdir()
    (task / "confined_steps.py").write_text("def double(x):\n    return 2 * x\n")
    monkeypatch.setenv(CODE_ROOT_ENV, str(tmp_path))
    return task


@pytest.mark.parametrize(
    "path",
    ["subprocess.run", "os.system", "json.loads", "grasp_core.config.dotted.os.system"],
)
def test_code_outside_the_root_is_refused(folder: Path, path: str) -> None:
    """The standard library, site-packages, or such a module reached through an attribute
    of GraSP's own: a PluginError naming the module, before anything is called."""
    with pytest.raises(PluginError, match="is not allowed here"):
        resolve_dotted(path, folder, what="lambda")


def test_the_roots_modules_and_grasps_packages_resolve(folder: Path) -> None:
    """A module under the root and GraSP's node classes resolve as without the variable."""
    assert resolve_dotted("confined_steps.double", folder)(4) == 8
    node = resolve_dotted("grasp_nodes.lambda_node.LambdaNode", folder)
    assert node.__name__ == "LambdaNode"


def test_without_the_variable_nothing_is_confined(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``grasp run`` from a terminal: any importable callable, as always."""
    monkeypatch.delenv(CODE_ROOT_ENV)
    assert resolve_dotted("json.loads", folder)("[1]") == [1]


MODULE_WITH_IMPORTS = """
import os
import sys
from os import system as shell

TABLE = {"a": 1}


class Box:
    @classmethod
    def make(cls, x):
        return [x]


def double(x):
    return 2 * x
"""


@pytest.fixture
def importing(folder: Path) -> str:
    """A module that imports ``os`` and ``sys`` in the task folder; its name, unique to the
    test (a module of that name from another test's folder would be refused anyway)."""
    name = f"wide_{folder.parent.name}"
    (folder / f"{name}.py").write_text(MODULE_WITH_IMPORTS)
    return name


@pytest.mark.parametrize(
    "path",
    [
        "sys.stdout.write",
        "sys.modules.clear",
        "os.__all__.remove",
        "builtins.__dict__.update",
        "builtins.eval",
        "M.os",
        "M.os.system",
        "M.shell",
        "M.sys.stdout.write",
        "M.TABLE.update",
        "M.__builtins__",
        "M.double.__globals__",
    ],
)
def test_built_in_methods_and_modules_reached_by_attribute_are_refused(
    folder: Path, importing: str, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A built-in method (``sys.stdout.write``: no ``__module__`` of its own), a built-in
    or frozen module (``sys``, ``builtins``: no file, so never "inside" the task folder the
    process runs in), or anything reached through a module nobody allowed: refused."""
    monkeypatch.chdir(folder)  # the child of a try runs in the task's folder
    assert resolve_dotted(f"{importing}.double", folder)(2) == 4  # the module itself is fine
    with pytest.raises(PluginError, match="is not allowed here"):
        resolve_dotted(path.replace("M.", f"{importing}."), folder, what="lambda")


def test_the_roots_classes_methods_and_values_still_resolve(folder: Path) -> None:
    """What a workspace module defines: a class's bound classmethod, a plain value."""
    (folder / "kept_steps.py").write_text(MODULE_WITH_IMPORTS)
    assert resolve_dotted("kept_steps.Box.make", folder)(3) == [3]
    assert resolve_dotted("kept_steps.TABLE", folder) == {"a": 1}


def test_no_task_code_is_imported_where_it_is_refused(folder: Path) -> None:
    """Inside ``task_code_refused`` (GraSP Studio's requests) a dotted path is a PluginError
    before anything is imported or put on ``sys.path``, and a task loads with its
    post-process steps unresolved."""
    import sys

    from grasp_core import Task, task_code_refused

    (folder / "refused_steps.py").write_text("raise RuntimeError('ran at import')\n")
    (folder / "task.yaml").write_text(
        "graph_config:\n  nodes:\n    n: {node_type: lambda, lambda: refused_steps.f}\n"
        "  edges: [{from: START, to: n}, {from: n, to: END}]\n"
        "post_process:\n  - refused_steps.Step\n"
    )
    path_before = list(sys.path)
    with task_code_refused():
        with pytest.raises(PluginError, match="runs no task code"):
            resolve_dotted("refused_steps.f", folder)
        task = Task.load(folder / "task.yaml")
    assert task.config.post_process is not None
    assert "refused_steps" not in sys.modules
    assert sys.path == path_before
    with pytest.raises(PluginError, match="ran at import"):  # outside it, resolved as always
        Task.load(folder / "task.yaml")
