"""The layout keeps its rules: import contracts, no circles, small modules, documented
folders, and public names that no subpackage shadows."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

import grasp_core
from tests.conftest import REPO_ROOT

PACKAGES = ("grasp_core", "grasp_nodes", "grasp_io", "grasp_studio")
SRC = REPO_ROOT / "src"
MAX_MODULE_LINES = 400


def test_import_contracts_hold() -> None:
    """import-linter's contracts in pyproject.toml (layers, plugin surface) are all kept."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from importlinter.cli import lint_imports; "
            "raise SystemExit(lint_imports(no_cache=True, no_logo=True))",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan, iterative)."""
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, child = work.pop()
            if child == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            targets = edges.get(node, [])
            if child < len(targets):
                work.append((node, child + 1))
                target = targets[child]
                if target not in index:
                    work.append((target, 0))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return groups


def test_no_import_circles_in_src() -> None:
    """No module of the three packages imports itself back, directly or through others."""
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_circle() -> None:
    """The check above can fail: a two-module circle is found."""
    graph = grimp.ImportGraph()
    for module in ("pkg", "pkg.a", "pkg.b", "pkg.c"):
        graph.add_module(module)
    graph.add_import(importer="pkg.a", imported="pkg.b")
    graph.add_import(importer="pkg.b", imported="pkg.a")
    graph.add_import(importer="pkg.c", imported="pkg.a")
    assert _cycles(graph) == [["pkg.a", "pkg.b"]]


def _source_files() -> list[Path]:
    return sorted(p for root in PACKAGES for p in (SRC / root).rglob("*.py"))


@pytest.mark.parametrize("path", _source_files(), ids=lambda p: str(p.relative_to(SRC)))
def test_every_module_is_small(path: Path) -> None:
    """Each module keeps to one job, about 400 lines at most."""
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{path.relative_to(SRC)} has {lines} lines"


def test_every_test_module_is_small() -> None:
    """Test modules keep to one subject too: the same limit, shared helpers in their own
    modules."""
    tests = SRC.parent / "tests"
    long = {
        str(path.relative_to(tests)): lines
        for path in sorted(tests.rglob("*.py"))
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


def _packages() -> list[str]:
    found = list(PACKAGES)
    for root in PACKAGES:
        package = importlib.import_module(root)
        found += [
            i.name for i in pkgutil.walk_packages(package.__path__, prefix=root + ".") if i.ispkg
        ]
    return sorted(found)


@pytest.mark.parametrize("name", _packages())
def test_every_folder_says_what_lives_there(name: str) -> None:
    """Every package's __init__ has a docstring saying what the folder holds."""
    doc = importlib.import_module(name).__doc__
    assert doc is not None, f"{name}/__init__.py needs a docstring"
    assert len(doc.split()) >= 5, f"{name}/__init__.py: say what lives in the folder"


def test_run_stays_the_function_after_every_subpackage_is_imported() -> None:
    """`grasp_core.run(...)` is the one-call API; no subpackage named `run` shadows it."""
    for name in _packages():
        if name.startswith("grasp_core") and ".executors.ray" not in name:
            importlib.import_module(name)
    assert callable(grasp_core.run)
    assert grasp_core.run.__module__ == "grasp_core.api"


@pytest.mark.parametrize("name", _packages())
def test_no_public_name_is_also_a_submodule(name: str) -> None:
    """A package's exported name never matches one of its submodules, whose import would
    rebind it (``grasp_core.run`` the function vs a ``run/`` folder)."""
    package = importlib.import_module(name)
    submodules = {i.name for i in pkgutil.iter_modules(package.__path__)}
    assert sorted(set(getattr(package, "__all__", ())) & submodules) == []


def test_every_cli_command_module_is_in_the_dispatch_table() -> None:
    """A command is one module in grasp_core/cli/commands plus its line in COMMANDS."""
    from grasp_core.cli import commands
    from grasp_core.cli.app import COMMANDS

    modules = {i.name for i in pkgutil.iter_modules(commands.__path__)}
    assert {m.__name__.rsplit(".", 1)[1] for m in COMMANDS.values()} == modules
    for module in COMMANDS.values():
        assert callable(module.add_command)
        assert callable(module.run_command)


def test_grasp_version_prints_the_installed_version() -> None:
    """`grasp --version` prints the package version and exits 0."""
    from importlib.metadata import version

    done = subprocess.run(
        [sys.executable, "-m", "grasp_core", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0
    assert done.stdout.strip() == f"grasp {version('grasp-sdg')}"
