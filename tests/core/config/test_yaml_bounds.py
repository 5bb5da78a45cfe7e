"""YAML aliases and nesting are bounded: an alias bomb is refused at its line, not expanded.

The bombs run in a child process with a capped address space: before the bound existed they
expanded until memory ran out, and they must never take the test machine down with them.
"""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest

from grasp_core.config._yaml_bounds import MAX_ALIASED_VALUES, MAX_DEPTH
from grasp_core.config.yaml_source import parse_yaml
from grasp_core.errors import ConfigError
from grasp_core.models.catalog import ModelCatalog

_MEMORY_CAP = 2 * 1024**3
"""Address space for the child: ample for `grasp validate`, far below 9**10 copied values."""
_HANG_GUARD = 300.0
"""Seconds before the child is deemed hung: a guard against a hang, not a timing check."""


def billion_laughs(prefix: str = "") -> str:
    """Ten levels of nine aliases to the level below (9**10 values once expanded)."""
    lines = [f"{prefix}a0: &a0 [" + ", ".join(['"lol"'] * 9) + "]"]
    lines += [f"{prefix}a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * 9) + "]" for n in range(1, 10)]
    return "\n".join(lines) + "\n"


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (_MEMORY_CAP, _MEMORY_CAP))


def grasp_capped(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``grasp ARGS`` in a child process whose address space is capped."""
    return subprocess.run(
        [sys.executable, "-m", "grasp_core", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=_HANG_GUARD,
        preexec_fn=_cap_memory,
        check=False,
    )


def test_an_alias_bomb_task_is_refused_at_the_alias_that_crosses_the_bound(
    tmp_path: Path,
) -> None:
    """`grasp validate` on a billion-laughs task exits 2 with one line naming file and line."""
    path = tmp_path / "task.yaml"
    path.write_text(billion_laughs(), encoding="utf-8")
    done = grasp_capped("validate", str(path), cwd=tmp_path)
    assert (done.returncode, done.stdout) == (2, "")
    # 9 + 9*10 + 9*91 values are copied by lines 2-4; line 5's aliases cross 10,000.
    assert done.stderr == (
        f"grasp: error: {path}:5: the alias *a3 brings the values copied through aliases past "
        f"{MAX_ALIASED_VALUES:,} (aliases of aliases multiply); write the values out, or "
        "reuse fewer of them\n"
    )


def test_an_alias_bomb_in_the_models_file_is_refused(tmp_path: Path) -> None:
    """The models file is read by the same bounded reader: `grasp run` refuses the bomb."""
    (tmp_path / "task.yaml").write_text(
        "graph_config:\n  nodes: {n: {node_type: lambda, lambda: m.f, output_keys: x}}\n"
        "  edges: [{from: START, to: n}, {from: n, to: END}]\n",
        encoding="utf-8",
    )
    models = tmp_path / "models.yaml"
    models.write_text(billion_laughs("x_"), encoding="utf-8")
    done = grasp_capped("run", "task.yaml", "--models", str(models), cwd=tmp_path)
    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"grasp: error: {models}:5: the alias *a3 brings the values ")


def test_ordinary_anchors_and_merges_load_as_plain_data() -> None:
    """Shared settings merged into many nodes and a list reused a few times still load."""
    nodes = "".join(f"  n{i}: {{<<: *base, output_keys: k{i}, tags: *tags}}\n" for i in range(200))
    document = parse_yaml(
        "base: &base {node_type: lambda, lambda: m.f, retry: {max_attempts: 3}}\n"
        "tags: &tags [a, b, c]\nnodes:\n" + nodes
    )
    assert document.data["nodes"]["n199"] == {
        "node_type": "lambda",
        "lambda": "m.f",
        "retry": {"max_attempts": 3},
        "output_keys": "k199",
        "tags": ["a", "b", "c"],
    }
    assert document.line_of(("nodes", "n199", "tags")) == 203


def test_aliases_up_to_the_bound_load() -> None:
    """Aliases that copy exactly MAX_ALIASED_VALUES values in all are within the bound."""
    item = "[" + ", ".join(["x"] * 99) + "]"  # 100 values with the list itself
    uses = ", ".join(["*a"] * (MAX_ALIASED_VALUES // 100))
    document = parse_yaml(f"a: &a {item}\nb: [{uses}]\n")
    assert len(document.data["b"]) == MAX_ALIASED_VALUES // 100
    with pytest.raises(ConfigError, match=r"^<string>:2: the alias \*a brings"):
        parse_yaml(f"a: &a {item}\nb: [{uses}, *a]\n")


def test_an_alias_inside_the_value_it_names_is_refused() -> None:
    """A recursive alias would expand forever: refused at its line, not a RecursionError."""
    with pytest.raises(ConfigError) as info:
        parse_yaml("ok: 1\nloop: &a\n  - 1\n  - *a\n", source="t.yaml")
    assert str(info.value) == (
        "t.yaml:4: the alias *a is inside the value it names, so it would repeat without "
        "end; point it at a value defined before it"
    )


def test_nesting_is_bounded_including_what_aliases_bring_in() -> None:
    """Nesting past MAX_DEPTH levels, directly or through an alias, is one clear error."""
    lists = MAX_DEPTH - 2  # under the top mapping, above the scalar
    assert parse_yaml(f"a: {'[' * lists}1{']' * lists}\n").data["a"] is not None
    with pytest.raises(ConfigError, match=rf"^t.yaml:2: nested more than {MAX_DEPTH} levels"):
        parse_yaml(f"ok: 1\na: {'[' * (lists + 1)}1{']' * (lists + 1)}\n", source="t.yaml")
    half = MAX_DEPTH // 2 + 1
    with pytest.raises(ConfigError, match=r"^t.yaml:2: the alias \*a nests the file more than"):
        parse_yaml(
            f"a: &a {'[' * half}1{']' * half}\nb: {'[' * half}*a{']' * half}\n", source="t.yaml"
        )


def test_a_bounded_models_file_loads(tmp_path: Path) -> None:
    """A models file sharing settings through `<<: *defaults` loads as before."""
    path = tmp_path / "models.yaml"
    path.write_text(
        "a: &defaults {model: openai/a, max_retries: 1}\n"
        "b: {<<: *defaults, model: openai/b}\nc: {<<: *defaults, model: openai/c}\n",
        encoding="utf-8",
    )
    catalog = ModelCatalog.load(path)
    assert [(spec.model, spec.max_retries) for spec in catalog.specs.values()] == [
        ("openai/a", 1),
        ("openai/b", 1),
        ("openai/c", 1),
    ]
