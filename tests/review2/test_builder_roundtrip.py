"""Graph.to_yaml writes callables that have no importable dotted path as broken or
meaning-changing dotted paths instead of refusing them."""

from __future__ import annotations

import functools
from typing import Any

import pytest

from grasp_core.builder import END, START, Graph
from grasp_core.errors import ConfigError


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


@pytest.mark.xfail(
    strict=True,
    reason="bug: a callable instance has no __qualname__, so _dotted writes '<module>.' "
    "(an unloadable path) instead of raising ConfigError",
)
def test_callable_instance_is_refused() -> None:
    graph = graph_with(ROUTER)
    with pytest.raises(ConfigError):
        text = graph.to_yaml()
        print(text)


@pytest.mark.xfail(
    strict=True,
    reason="bug: functools.partial is written as 'functools.' and its bound arguments are lost",
)
def test_partial_is_refused() -> None:
    graph = graph_with(functools.partial(route, limit=3))
    with pytest.raises(ConfigError):
        graph.to_yaml()


@pytest.mark.xfail(
    strict=True,
    reason="bug: a bound method is written as 'module.Class.method' (the unbound function); "
    "the instance and its attributes are lost, so the YAML means something else",
)
def test_bound_method_is_refused() -> None:
    graph = graph_with(ROUTER.route)
    with pytest.raises(ConfigError):
        graph.to_yaml()
