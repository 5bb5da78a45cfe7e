"""A chain runs as a plain loop over its nodes, with exactly the general walk's results:
the same final state, journal calls (delta, routes, order), appended keys' order, replay
from a memo, failures and recursion limit."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from grasp_core.errors import RecordError
from grasp_core.graph import chain as chain_module
from grasp_core.graph.compiled import CompiledGraph
from grasp_core.graph.record_walk import RecordWalk
from grasp_core.graph.walker import _GraphWalk, walk_record
from grasp_core.observe.metrics import RunMetrics
from tests.core.graph.test_walker import Trace, build, node

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _edges(*names: str) -> list[dict[str, Any]]:
    path = ["START", *names, "END"]
    return [{"from": a, "to": b} for a, b in itertools.pairwise(path)]


async def _both(
    graph: CompiledGraph,
    make_trace: Callable[[], Trace],
    state: dict[str, Any],
    memo: dict[tuple[str, int], Any] | None = None,
) -> list[tuple[Any, Trace, RunMetrics]]:
    """The chain loop's outcome and the general walk's on the same graph and input: (final
    state or the error's (type, message, node), trace, metrics)."""
    outcomes: list[tuple[Any, Trace, RunMetrics]] = []
    for general in (False, True):
        trace, metrics = make_trace(), RunMetrics()
        walk = RecordWalk(
            graph,
            "r1",
            dict(state),
            metrics=metrics,
            on_node_done=trace.on_done,
            memo=dict(memo or {}),
            seed=0,
            flush=None,
            prefix="",
            inner=walk_record,
        )
        try:
            if general:
                result: Any = await _GraphWalk(walk).run()
            else:
                assert graph.chain is not None
                result = await chain_module.walk_chain(walk, graph.chain)
        except RecordError as exc:
            result = (type(exc).__name__, str(exc), exc.node)
        outcomes.append((result, trace, metrics))
    return outcomes


def _counts(metrics: RunMetrics) -> dict[str, tuple[int, int, int]]:
    return {name: (s.runs, s.failures, s.replayed) for name, s in metrics.nodes.items()}


def _same(outcomes: list[tuple[Any, Trace, RunMetrics]]) -> Any:
    (chained, chain_trace, chain_metrics), (general, trace, metrics) = outcomes
    assert chained == general
    assert chain_trace.ran == trace.ran
    assert chain_trace.journal == trace.journal
    assert _counts(chain_metrics) == _counts(metrics)
    return chained


async def test_a_linear_graph_is_a_chain_and_others_are_not() -> None:
    """``chain`` lists the nodes of a linear graph in order; a fan-out, a condition or a
    loop leaves it None (the general walk runs those)."""
    t = Trace()
    linear = await build(
        {"b": node(t.step("b"), "y"), "a": node(t.step("a"), "x")}, _edges("a", "b")
    )
    assert linear.chain == ("a", "b")
    fan = await build(
        {"a": node(t.step("a"), "x"), "b": node(t.step("b"), "y")},
        [
            {"from": "START", "to": "a"},
            {"from": "START", "to": "b"},
            {"from": "a", "to": "END"},
            {"from": "b", "to": "END"},
        ],
    )
    assert fan.chain is None
    routed = await build(
        {"a": node(t.step("a"), "x"), "b": node(t.step("b"), "y")},
        [
            {"from": "START", "to": "a"},
            {"from": "a", "condition": lambda s: "go", "path_map": {"go": "b", "stop": "END"}},
            {"from": "b", "to": "END"},
        ],
    )
    assert routed.chain is None


async def test_chain_gives_the_general_walks_state_journal_and_message_order() -> None:
    """State, journal lines and the appended ``messages`` (after the record's own) match."""

    def say(text: str) -> Callable[[Mapping[str, Any]], Any]:
        return lambda s: [{"role": "assistant", "content": f"{text}:{len(s['messages'])}"}]

    graph = await build(
        {
            "a": node(say("a"), "messages"),
            "b": node(lambda s: s["x"] * 2, "y"),
            "c": node(say("c"), "messages"),
        },
        _edges("a", "b", "c"),
    )
    state = {"x": 4, "messages": [{"role": "user", "content": "hi"}]}
    final = _same(await _both(graph, Trace, state))
    assert [m["content"] for m in final["messages"]] == ["hi", "a:1", "c:2"]
    assert final["y"] == 8


async def test_chain_replays_the_memo_as_the_general_walk_does() -> None:
    """Journaled runs are applied without running their node, and counted as replayed."""
    calls: list[str] = []

    def step(name: str, value: Any) -> Callable[[Mapping[str, Any]], Any]:
        def fn(_state: Mapping[str, Any]) -> Any:
            calls.append(name)
            return value

        return fn

    graph = await build(
        {"a": node(step("a", 1), "x"), "b": node(step("b", 2), "y")}, _edges("a", "b")
    )
    memo = {("a", 0): {"d": {"x": 10, "messages": ["m"]}, "routes": {}}}
    final = _same(await _both(graph, Trace, {}, memo))
    assert final == {"x": 10, "y": 2, "messages": ["m"]}
    assert calls == ["b", "b"]


@pytest.mark.parametrize(
    "fail",
    [
        lambda s: 1 / 0,
        lambda s: sys.exit(3),
        lambda s: s["missing"],
    ],
)
async def test_chain_fails_a_record_as_the_general_walk_does(
    fail: Callable[[Mapping[str, Any]], Any],
) -> None:
    """A node's exception (``sys.exit`` included) fails the record with the same error,
    message and node, after the same journaled runs."""
    graph = await build(
        {"a": node(lambda s: 1, "x"), "b": node(fail, "y"), "c": node(lambda s: 3, "z")},
        _edges("a", "b", "c"),
    )
    outcome = _same(await _both(graph, Trace, {}))
    assert outcome[0] == "NodeError"
    assert outcome[2] == "b"


async def test_chain_stops_at_the_recursion_limit_as_the_general_walk_does() -> None:
    """A chain longer than ``recursion_limit`` fails at the same node with the same message."""
    names = [f"n{i}" for i in range(4)]
    graph = await build(
        {name: node(lambda s: 1, name) for name in names}, _edges(*names), recursion_limit=3
    )
    outcome = _same(await _both(graph, Trace, {}))
    assert outcome[2] == "n3"
    assert "recursion_limit=3" in outcome[1]


async def test_bad_messages_in_the_record_fail_before_any_node() -> None:
    """A record whose ``messages`` is not a list fails before the chain's first node."""
    t = Trace()
    graph = await build({"a": node(t.step("a"), "x")}, _edges("a"))
    with pytest.raises(RecordError, match="must be a list of role messages"):
        await walk_record(
            graph, "r1", {"messages": "hi"}, metrics=RunMetrics(), on_node_done=t.on_done
        )
    assert t.ran == []
