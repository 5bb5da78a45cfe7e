"""Graph loops and joins: the walker's edge cases found in review."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import anyio
import pytest

from tests.core.graph.test_walker import Trace, build, node, walk

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def test_join_after_conditional_that_loops_waits_for_loop_exit() -> None:
    """A conditional edge that loops must not mark its forward target skipped (failed on HEAD:
    the join ran once per loop iteration)."""
    t = Trace()

    async def gen(s: Mapping[str, Any]) -> int:
        await anyio.sleep(0.02)  # let `side` finish first
        t.ran.append("gen")
        return s.get("n", 0) + 1

    graph = await build(
        {
            "side": node(t.step("side"), "side"),
            "gen": node(gen, "n"),
            "join": node(t.step("join", lambda s: s["n"]), "seen_n"),
        },
        [
            {"from": "START", "to": "side"},
            {"from": "START", "to": "gen"},
            {"from": "side", "to": "join"},
            {
                "from": "gen",
                "condition": lambda s: "done" if s["n"] >= 3 else "again",
                "path_map": {"again": "gen", "done": "join"},
            },
            {"from": "join", "to": "END"},
        ],
    )
    state = await walk(graph, t)
    assert t.ran.count("join") == 1, t.ran
    assert state["seen_n"] == 3


async def test_loop_with_fan_out_runs_join_once() -> None:
    """A back edge must not restart the body while a branch of the last iteration still runs
    (failed on HEAD: the stale branch fired the join, which ran twice)."""
    t = Trace()

    async def slow(s: Mapping[str, Any]) -> int:
        await anyio.sleep(0.05)
        t.ran.append("c")
        return s["n"]

    graph = await build(
        {
            "a": node(t.step("a", lambda s: s.get("n", 0) + 1), "n"),
            "b": node(t.step("b"), "b"),
            "c": node(slow, "c_saw"),
            "j": node(t.step("j", lambda s: s["c_saw"]), "j_saw"),
        },
        [
            {"from": "START", "to": "a"},
            {"from": "a", "to": "b"},
            {"from": "a", "to": "c"},
            {
                "from": "b",
                "condition": lambda s: "done" if s["n"] >= 2 else "again",
                "path_map": {"again": "a", "done": "j"},
            },
            {"from": "c", "to": "j"},
            {"from": "j", "to": "END"},
        ],
    )
    state = await walk(graph, t)
    assert t.ran.count("j") == 1, t.ran
    assert state["j_saw"] == 2


async def test_simple_edge_into_join_is_not_a_back_edge() -> None:
    """A simple edge into a join is forward even when a START shortcut makes its target shallow
    (failed on HEAD: back_edges() took b->c as a back edge and c ran before b)."""
    t = Trace()
    graph = await build(
        {
            "a": node(t.step("a", lambda s: s.get("n", 0) + 1), "n"),
            "b": node(t.step("b"), "b"),
            "c": node(t.step("c", lambda s: s.get("n")), "c_saw"),
        },
        [
            {"from": "START", "to": "a"},
            {"from": "START", "to": "c"},
            {"from": "a", "to": "b"},
            {"from": "b", "to": "c"},
            {
                "from": "c",
                "condition": lambda s: "done" if s.get("n", 0) >= 1 else "again",
                "path_map": {"again": "a", "done": "END"},
            },
        ],
    )
    assert (3, "c") not in graph.back_edges
    state = await walk(graph, t)
    assert t.ran == ["a", "b", "c"], t.ran
    assert state["c_saw"] == 1
