"""Appended keys (``messages``) have one order per graph, whichever parallel branch finishes
first: by step, then by the node's place in ``graph_config.nodes``; a replay rebuilds it."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import anyio
import pytest

from grasp_core import RunOptions, run_task
from grasp_core.graph.compiled import CompiledGraph
from grasp_core.mock_server import MockServer
from grasp_core.models.catalog import ModelCatalog
from tests.conftest import write_task
from tests.core.graph.test_walker import Trace, build, node, walk

pytestmark = pytest.mark.anyio


class OrderedTrace(Trace):
    """A trace whose branches can wait until another node's run is applied and journaled,
    which forces the order in which parallel branches finish."""

    def __init__(self) -> None:
        super().__init__()
        self.finished: dict[str, anyio.Event] = {}

    def on_done(
        self, _rid: str, node_name: str, it: int, delta: dict[str, Any], routes: dict[str, str]
    ) -> None:
        super().on_done(_rid, node_name, it, delta, routes)
        self.finished.setdefault(node_name, anyio.Event()).set()

    def turn(self, me: str, *, after: str | None = None) -> Callable[..., Any]:
        async def fn(_state: Mapping[str, Any]) -> list[dict[str, str]]:
            if after is not None:
                await self.finished.setdefault(after, anyio.Event()).wait()
            return [{"role": "assistant", "content": me}]

        return fn

    def finish_order(self) -> list[str]:
        return [name for name, _it, _delta, _routes in self.journal]


async def fan_out(trace: OrderedTrace, *, b_first: bool) -> CompiledGraph:
    """START → a, b → join; with ``b_first``, `a` finishes only after `b` is journaled."""
    return await build(
        {
            "a": node(trace.turn("a", after="b" if b_first else None), "messages"),
            "b": node(trace.turn("b", after=None if b_first else "a"), "messages"),
            "join": node(lambda s: [m["content"] for m in s["messages"]], "seen"),
        },
        [
            {"from": "START", "to": "a"},
            {"from": "START", "to": "b"},
            {"from": "a", "to": "join"},
            {"from": "b", "to": "join"},
            {"from": "join", "to": "END"},
        ],
    )


def contents(state: Mapping[str, Any]) -> list[str]:
    return [m["content"] for m in state["messages"]]


@pytest.mark.parametrize("b_first", [False, True])
async def test_parallel_turns_keep_the_graph_order_whichever_branch_finishes_first(
    b_first: bool,
) -> None:
    """Two branches' turns are `a, b` (their order in the graph), in either finishing order."""
    trace = OrderedTrace()
    state = await walk(await fan_out(trace, b_first=b_first), trace)
    assert trace.finish_order()[:2] == (["b", "a"] if b_first else ["a", "b"])
    assert contents(state) == ["a", "b"]
    assert state["seen"] == ["a", "b"]


async def test_a_replay_rebuilds_the_order_from_a_full_or_partial_journal() -> None:
    """Replaying every run, or only the branch that finished first (the other runs again),
    gives the order of the original run."""
    first = OrderedTrace()
    graph = await fan_out(first, b_first=True)
    original = await walk(graph, first)
    journal = {(n, i): {"d": d, "routes": r} for n, i, d, r in first.journal}
    assert contents(await walk(graph, OrderedTrace(), memo=dict(journal))) == ["a", "b"]
    only_b = {key: entry for key, entry in journal.items() if key[0] == "b"}
    replayed = await walk(graph, OrderedTrace(), memo=only_b)
    assert contents(replayed) == contents(original) == ["a", "b"]
    assert replayed["seen"] == ["a", "b"]


async def test_a_longer_branch_orders_by_step_then_graph_order() -> None:
    """START → a → a2 → join and START → b → join: `a` and `b` (step 1), then `a2` (step 2),
    then the join (step 3), even when `b` is the last branch to finish."""
    trace = OrderedTrace()
    graph = await build(
        {
            "a": node(trace.turn("a"), "messages"),
            "a2": node(trace.turn("a2"), "messages"),
            "b": node(trace.turn("b", after="a2"), "messages"),
            "join": node(trace.turn("join"), "messages"),
        },
        [
            {"from": "START", "to": "a"},
            {"from": "START", "to": "b"},
            {"from": "a", "to": "a2"},
            {"from": "a2", "to": "join"},
            {"from": "b", "to": "join"},
            {"from": "join", "to": "END"},
        ],
    )
    state = await walk(graph, trace)
    assert trace.finish_order() == ["a", "a2", "b", "join"]
    assert contents(state) == ["a", "b", "a2", "join"]


async def test_loop_turns_follow_the_iterations_with_parallel_branches_inside() -> None:
    """In a loop whose body fans out, each iteration's turns come after the previous
    iteration's, and inside one the branches keep the graph order."""
    trace = OrderedTrace()

    def again(state: Mapping[str, Any]) -> str:
        return "more" if len(state["messages"]) < 6 else "done"

    graph = await build(
        {
            "head": node(trace.turn("head"), "messages"),
            "left": node(trace.turn("left", after="right"), "messages"),
            "right": node(trace.turn("right"), "messages"),
            "join": node(lambda _s: None, "unused"),
        },
        [
            {"from": "START", "to": "head"},
            {"from": "head", "to": "left"},
            {"from": "head", "to": "right"},
            {"from": "left", "to": "join"},
            {"from": "right", "to": "join"},
            {"from": "join", "condition": again, "path_map": {"more": "head", "done": "END"}},
        ],
    )
    state = await walk(graph, trace)
    assert contents(state) == ["head", "left", "right"] * 2


TASK = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out.jsonl}
graph_config:
  nodes:
    pro:
      node_type: llm
      prompt: [{user: "pro {a}"}]
      model: {name: m}
    con:
      node_type: llm
      prompt: [{user: "con {b}"}]
      model: {name: m}
  edges:
    - {from: START, to: pro}
    - {from: START, to: con}
    - {from: pro, to: END}
    - {from: con, to: END}
"""


def test_sft_turns_do_not_depend_on_backend_latency(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """30 records whose two branches get random latencies (either may be slower): every
    record's `messages` holds `pro`'s turns, then `con`'s."""
    rng = random.Random(7)
    rows = []
    for i in range(30):
        slow, fast = f"[[mock:latency={rng.uniform(0.02, 0.1):.3f}]]", "[[mock:latency=0]]"
        a, b = (slow, fast) if i % 2 else (fast, slow)
        rows.append(json.dumps({"id": i, "a": f"{i} {a}", "b": f"{i} {b}"}) + "\n")
    task = write_task(tmp_path, TASK, {"data.jsonl": "".join(rows)})
    catalog = ModelCatalog().with_mock(mock_server.url)
    result = run_task(task, RunOptions(models=catalog))
    assert (result.done, result.failed) == (30, 0)
    records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert len(records) == 30
    for record in records:
        turns = [m["content"] for m in record["messages"]]
        i = record["id"]
        assert [t.split()[0] for t in turns] == ["pro", "pro", "con", "con"], turns
        assert all(t.split()[1] == str(i) for t in turns), turns
