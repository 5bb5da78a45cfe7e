"""to_yaml writes only callables that import back to themselves; others are refused."""

from __future__ import annotations

import functools
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
