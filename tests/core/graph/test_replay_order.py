"""Replaying a record from its journal rebuilds the state the run had."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import anyio
import pytest

from tests.core.graph.test_walker import Trace, build, node, walk

pytestmark = pytest.mark.anyio


async def test_replay_rebuilds_parallel_messages_in_journal_order() -> None:
    """Messages appended by parallel branches come back in the order the run made them."""

    async def slow(_s: Mapping[str, Any]) -> list[dict[str, str]]:
        await anyio.sleep(0.05)
        return [{"role": "assistant", "content": "slow"}]

    def fast(_s: Mapping[str, Any]) -> list[dict[str, str]]:
        return [{"role": "assistant", "content": "fast"}]

    graph = await build(
        {
            "slow": node(slow, "messages"),
            "fast": node(fast, "messages"),
            "join": node(lambda s: [m["content"] for m in s["messages"]], "seen"),
        },
        [
            {"from": "START", "to": "slow"},
            {"from": "START", "to": "fast"},
            {"from": "slow", "to": "join"},
            {"from": "fast", "to": "join"},
            {"from": "join", "to": "END"},
        ],
    )
    first = Trace()
    original = await walk(graph, first)
    # a crash after `join` finished but before the output was committed: all three replay
    memo = {(n, i): {"d": d, "routes": r, "s": first.seq[(n, i)]} for n, i, d, r in first.journal}
    replayed = await walk(graph, Trace(), memo=memo)
    assert replayed["messages"] == original["messages"]
    assert replayed["seen"] == [m["content"] for m in replayed["messages"]]
