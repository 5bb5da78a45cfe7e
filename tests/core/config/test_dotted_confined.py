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
