"""Graph semantics for one record: joins, skips, loops, fan-out, replay from the journal."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import anyio
import pytest

from grasp_core.config import GraphConfig
from grasp_core.errors import RecordError
from grasp_core.graph.compile import compile_graph
from grasp_core.graph.compiled import CompiledGraph
from grasp_core.graph.walker import walk_record
from grasp_core.models.backends import BackendPool
from grasp_core.models.catalog import ModelCatalog
from grasp_core.observe.metrics import RunMetrics
from grasp_core.protocols import BuildEnv

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def node(fn: Callable[..., Any], *keys: str, inline: bool = True) -> dict[str, Any]:
    return {"node_type": "lambda", "lambda": fn, "output_keys": list(keys), "inline": inline}


async def build(nodes: dict[str, Any], edges: list[dict[str, Any]], **props: Any) -> CompiledGraph:
    catalog = ModelCatalog()
    env = BuildEnv(Path.cwd(), catalog, BackendPool(catalog), RunMetrics())
    config = GraphConfig.model_validate({"nodes": nodes, "edges": edges, **props})
    return compile_graph(config, env)


class Trace:
    """Records which nodes ran, in order, and the journal callbacks."""

    def __init__(self) -> None:
        self.ran: list[str] = []
        self.journal: list[tuple[str, int, dict[str, Any], dict[str, str]]] = []

    def step(self, name: str, value: Any = True) -> Callable[[Mapping[str, Any]], Any]:
        def fn(state: Mapping[str, Any]) -> Any:
            self.ran.append(name)
            return value(state) if callable(value) else value

        return fn

    def on_done(
        self, _rid: str, node_name: str, it: int, delta: dict[str, Any], routes: dict[str, str]
    ) -> None:
        self.journal.append((node_name, it, delta, routes))


async def walk(
    graph: CompiledGraph,
    trace: Trace,
    state: dict[str, Any] | None = None,
    memo: dict[tuple[str, int], Any] | None = None,
) -> dict[str, Any]:
    return await walk_record(
        graph, "r1", state or {}, metrics=RunMetrics(), on_node_done=trace.on_done, memo=memo
    )


async def test_chain_runs_in_order_and_passes_state() -> None:
    """Each node sees what earlier nodes wrote."""
    t = Trace()
    graph = await build(
        {"a": node(t.step("a", 1), "x"), "b": node(t.step("b", lambda s: s["x"] + 1), "y")},
        [{"from": "START", "to": "a"}, {"from": "a", "to": "b"}, {"from": "b", "to": "END"}],
    )
    state = await walk(graph, t)
    assert t.ran == ["a", "b"]
    assert state == {"x": 1, "y": 2}


async def test_fan_out_branches_run_concurrently() -> None:
    """Two branches from one node overlap in time (each waits for the other to start)."""
    started = {"left": anyio.Event(), "right": anyio.Event()}

    def branch(me: str, other: str) -> Callable[[Mapping[str, Any]], Any]:
        async def fn(_state: Mapping[str, Any]) -> str:
            started[me].set()
            with anyio.fail_after(5):
                await started[other].wait()
            return me

        return fn

    graph = await build(
        {"left": node(branch("left", "right"), "l"), "right": node(branch("right", "left"), "r")},
        [
            {"from": "START", "to": "left"},
            {"from": "START", "to": "right"},
            {"from": "left", "to": "END"},
            {"from": "right", "to": "END"},
        ],
    )
    state = await walk(graph, Trace())
    assert state == {"l": "left", "r": "right"}


async def test_join_waits_for_every_active_predecessor() -> None:
    """A fan-in node runs once, after both branches finished."""
    t = Trace()
    graph = await build(
        {
            "a": node(t.step("a"), "a"),
            "b": node(t.step("b"), "b"),
            "join": node(t.step("join", lambda s: s["a"] and s["b"]), "both"),
        },
        [
            {"from": "START", "to": "a"},
            {"from": "START", "to": "b"},
            {"from": "a", "to": "join"},
            {"from": "b", "to": "join"},
            {"from": "join", "to": "END"},
        ],
    )
    state = await walk(graph, t)
    assert t.ran.count("join") == 1
    assert t.ran[-1] == "join"
    assert state["both"] is True


async def test_skipped_branch_does_not_block_the_join() -> None:
    """A branch not taken is skipped, the skip propagates, and the join still runs."""
    t = Trace()
    graph = await build(
        {
            "route": node(t.step("route"), "routed"),
            "left": node(t.step("left"), "l"),
            "left2": node(t.step("left2"), "l2"),
            "right": node(t.step("right"), "r"),
            "join": node(t.step("join"), "j"),
        },
        [
            {"from": "START", "to": "route"},
            {
                "from": "route",
                "condition": lambda s: "go_right",
                "path_map": {"go_left": "left", "go_right": "right"},
            },
            {"from": "left", "to": "left2"},
            {"from": "left2", "to": "join"},
            {"from": "right", "to": "join"},
            {"from": "join", "to": "END"},
        ],
    )
    await walk(graph, t)
    assert t.ran == ["route", "right", "join"]


async def test_loop_runs_until_condition_routes_to_end() -> None:
    """A conditional edge back to an earlier node repeats it; iterations are numbered."""
    t = Trace()
    graph = await build(
        {
            "gen": node(t.step("gen", lambda s: s.get("n", 0) + 1), "n"),
            "check": node(t.step("check", lambda s: s["n"] >= 3), "ok"),
        },
        [
            {"from": "START", "to": "gen"},
            {"from": "gen", "to": "check"},
            {
                "from": "check",
                "condition": lambda s: "done" if s["ok"] else "again",
                "path_map": {"done": "END", "again": "gen"},
            },
        ],
    )
    state = await walk(graph, t)
    assert state["n"] == 3
    assert t.ran == ["gen", "check"] * 3
    assert [(n, i) for n, i, _, _ in t.journal] == [
        ("gen", 0),
        ("check", 0),
        ("gen", 1),
        ("check", 1),
        ("gen", 2),
        ("check", 2),
    ]


async def test_loop_inside_a_join_keeps_the_outside_branch() -> None:
    """When a loop body re-runs, a join inside it still counts the branch outside the loop."""
    t = Trace()
    graph = await build(
        {
            "side": node(t.step("side"), "side"),
            "gen": node(t.step("gen", lambda s: s.get("n", 0) + 1), "n"),
            "join": node(t.step("join"), "joined"),
        },
        [
            {"from": "START", "to": "side"},
            {"from": "START", "to": "gen"},
            {"from": "side", "to": "join"},
            {"from": "gen", "to": "join"},
            {
                "from": "join",
                "condition": lambda s: "end" if s["n"] >= 2 else "loop",
                "path_map": {"end": "END", "loop": "gen"},
            },
        ],
    )
    state = await walk(graph, t)
    assert state["n"] == 2
    assert t.ran.count("side") == 1
    assert t.ran.count("join") == 2


async def test_endless_loop_fails_at_the_recursion_limit() -> None:
    """A loop that never exits fails the record with a message naming the limit."""
    graph = await build(
        {"spin": node(lambda s: 1, "x")},
        [
            {"from": "START", "to": "spin"},
            {
                "from": "spin",
                "condition": lambda s: "again",
                "path_map": {"again": "spin", "stop": "END"},
            },
        ],
        recursion_limit=5,
    )
    with pytest.raises(RecordError, match=r"recursion_limit=5") as info:
        await walk(graph, Trace())
    assert info.value.node == "spin"


async def test_condition_label_outside_path_map_fails_the_record() -> None:
    """A condition returning an unknown label is a record error naming the label."""
    graph = await build(
        {"a": node(lambda s: 1, "x")},
        [
            {"from": "START", "to": "a"},
            {"from": "a", "condition": lambda s: "nowhere", "path_map": {"end": "END"}},
        ],
    )
    with pytest.raises(RecordError, match=r"returned 'nowhere'"):
        await walk(graph, Trace())


@pytest.mark.parametrize("source", ["START", "a"])
async def test_sys_exit_in_a_condition_fails_the_record(source: str) -> None:
    """sys.exit() in an edge condition (out of START or a node) fails the record like any
    exception in user code; it never escapes the walk to end the run."""

    def exits(_state: Mapping[str, Any]) -> str:
        sys.exit(3)

    routed = {"from": source, "condition": exits, "path_map": {"end": "END", "a": "a"}}
    edges = [routed, {"from": "a", "to": "END"}]
    if source == "a":
        edges = [{"from": "START", "to": "a"}, routed]
    graph = await build({"a": node(lambda s: 1, "x")}, edges)
    with pytest.raises(RecordError, match=r"record 'r1', node '.*': SystemExit: 3") as info:
        await walk(graph, Trace())
    assert info.value.node == source


async def test_node_exception_fails_the_record_with_node_name() -> None:
    """An exception in user code becomes a RecordError naming the node and the record."""

    def boom(_state: Mapping[str, Any]) -> None:
        raise ValueError("bad input")

    graph = await build(
        {"a": node(boom, "x", inline=False)},
        [{"from": "START", "to": "a"}, {"from": "a", "to": "END"}],
    )
    with pytest.raises(RecordError, match=r"record 'r1', node 'a': ValueError: bad input"):
        await walk(graph, Trace())


async def test_journal_replay_skips_finished_nodes() -> None:
    """Node runs found in the memo are replayed from their delta, not run again."""
    t = Trace()
    graph = await build(
        {
            "gen": node(t.step("gen", lambda s: s.get("n", 0) + 1), "n"),
            "check": node(t.step("check", lambda s: s["n"] >= 2), "ok"),
        },
        [
            {"from": "START", "to": "gen"},
            {"from": "gen", "to": "check"},
            {
                "from": "check",
                "condition": lambda s: "done" if s["ok"] else "again",
                "path_map": {"done": "END", "again": "gen"},
            },
        ],
    )
    memo = {
        ("gen", 0): {"d": {"n": 1}, "routes": {}},
        ("check", 0): {"d": {"ok": False}, "routes": {"2": "again"}},
    }
    state = await walk(graph, t, memo=memo)
    assert t.ran == ["gen", "check"]
    assert state == {"n": 2, "ok": True}
    assert [(n, i) for n, i, _, _ in t.journal] == [("gen", 1), ("check", 1)]


async def test_messages_from_parallel_branches_are_appended() -> None:
    """`messages` is appended by every writer, never overwritten."""
    graph = await build(
        {
            "a": node(lambda s: [{"role": "assistant", "content": "a"}], "messages"),
            "b": node(lambda s: [{"role": "assistant", "content": "b"}], "messages"),
        },
        [
            {"from": "START", "to": "a"},
            {"from": "START", "to": "b"},
            {"from": "a", "to": "END"},
            {"from": "b", "to": "END"},
        ],
    )
    state = await walk(graph, Trace(), state={"messages": [{"role": "user", "content": "q"}]})
    contents = [m["content"] for m in state["messages"]]
    assert contents[0] == "q"
    assert sorted(contents[1:]) == ["a", "b"]
