"""to_yaml writes only callables that import back to themselves; others are refused."""

from __future__ import annotations

import functools
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from grasp_core.errors import ConfigError
from grasp_core.graph.builder import END, START, Graph


class Router:
    def __init__(self, limit: int) -> None:
        self.limit = limit

    def __call__(self, state: dict[str, Any]) -> str:
        return "done" if state.get("n", 0) >= self.limit else "again"

    def route(self, state: dict[str, Any]) -> str:
        return self(state)


def route(state: dict[str, Any], limit: int) -> str:
    return "done" if state.get("n", 0) >= limit else "again"


def bump(state: dict[str, Any]) -> int:
    return state.get("n", 0) + 1


ROUTER = Router(3)


def graph_with(condition: Any) -> Graph:
    return (
        Graph()
        .add_node("step", "lambda", **{"lambda": bump}, output_keys="n")
        .add_edge(START, "step")
        .add_conditional_edge("step", condition, {"again": "step", "done": END})
    )


def test_callable_instance_is_refused() -> None:
    """A callable instance has no dotted path, so to_yaml refuses it."""
    graph = graph_with(ROUTER)
    with pytest.raises(ConfigError):
        graph.to_yaml()


def test_partial_is_refused() -> None:
    """A functools.partial would lose its bound arguments, so to_yaml refuses it."""
    graph = graph_with(functools.partial(route, limit=3))
    with pytest.raises(ConfigError):
        graph.to_yaml()


def test_bound_method_is_refused() -> None:
    """A bound method would lose its instance, so to_yaml refuses it."""
    graph = graph_with(ROUTER.route)
    with pytest.raises(ConfigError):
        graph.to_yaml()


def test_function_of_the_running_script_gets_a_hint(tmp_path: Path) -> None:
    """A function defined in the script being run (__main__) cannot be named in YAML: the
    error names it and says to move it into a module (importing the script would rerun it)."""
    script = tmp_path / "build.py"
    script.write_text(
        "from grasp_core import END, START, Graph\n"
        "def bump(state):\n"
        "    return 1\n"
        "graph = Graph().add_node('b', 'lambda', output_keys='n', **{'lambda': bump})\n"
        "print(graph.add_edge(START, 'b').add_edge('b', END).to_yaml())\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert "graph_config.nodes.b.lambda: 'bump' is defined in the script being run" in last
    assert "move it into a module beside the task (such as steps.py)" in last
