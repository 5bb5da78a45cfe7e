"""A record's walk leaves no reference cycle behind: everything it made is freed as the
record ends, not by the cyclic garbage collector (which a rerun from the cache would run
dozens of times per thousand records, scanning the whole heap now and then)."""

from __future__ import annotations

import gc
import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from grasp_core.graph.walker import walk_record
from grasp_core.observe.metrics import RunMetrics
from tests.core.graph.test_walker import build, node

pytestmark = pytest.mark.anyio

RECORDS = 200


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def collector_off() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _chain() -> list[dict[str, Any]]:
    path = ["START", "a", "b", "END"]
    return [{"from": x, "to": y} for x, y in itertools.pairwise(path)]


def _fan() -> list[dict[str, Any]]:
    return [
        {"from": "START", "to": "a"},
        {"from": "START", "to": "b"},
        {"from": "a", "to": "END"},
        {"from": "b", "to": "END"},
    ]


@pytest.mark.parametrize("edges", [_chain, _fan], ids=["chain", "fan-out"])
@pytest.mark.usefixtures("collector_off")
async def test_walked_records_leave_nothing_for_the_cyclic_collector(edges: Any) -> None:
    graph = await build(
        {
            "a": node(lambda s: [{"role": "assistant", "content": "hi"}], "messages"),
            "b": node(lambda s: s["x"] * 2, "y"),
        },
        edges(),
    )
    metrics = RunMetrics()
    journal: list[Any] = []
    gc.collect()  # what building the graph left
    for i in range(RECORDS):
        state = await walk_record(
            graph,
            f"r{i}",
            {"x": i, "messages": [{"role": "user", "content": "q"}]},
            metrics=metrics,
            on_node_done=lambda *line: journal.append(line[0]),
            memo={},
            seed=0,
            flush=None,
        )
        assert state["y"] == 2 * i
    assert len(journal) == 2 * RECORDS
    left = gc.collect()
    assert left < RECORDS // 4, f"{left} objects in reference cycles after {RECORDS} records"
