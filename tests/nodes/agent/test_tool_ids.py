"""Agent edge cases, driven by a scripted fake client (no transport internals)."""

from __future__ import annotations

from typing import Any

import pytest

from grasp_core.protocols import NodeContext
from grasp_nodes.agent import AgentNode, AgentNodeConfig
from grasp_nodes.agent.tools import tool_from_callable
from grasp_nodes.clients import ChatResult

pytestmark = pytest.mark.anyio


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


class Scripted:
    def __init__(self, replies: list[Any]) -> None:
        self.replies = list(replies)
        self.sent: list[list[dict[str, Any]]] = []

    async def chat(self, messages: list[dict[str, Any]], parameters: Any, **kw: Any) -> Any:
        self.sent.append([dict(m) for m in messages])
        return self.replies.pop(0)


def call(id_: str | None, a: int, b: int) -> dict[str, Any]:
    return {
        "id": id_,
        "type": "function",
        "function": {"name": "add", "arguments": f'{{"a": {a}, "b": {b}}}'},
    }


def agent(client: Scripted) -> AgentNode:
    config = AgentNodeConfig.model_validate(
        {
            "node_type": "agent",
            "prompt": [{"user": "q"}],
            "model": {"name": "m"},
            "tools": [add],
            "output_keys": "answer",
        }
    )
    return AgentNode("agent", config, client, [tool_from_callable(add)])  # type: ignore[arg-type]


async def test_duplicate_tool_call_ids_get_distinct_tool_messages() -> None:
    """Repeated tool-call ids are renamed so each tool message answers one call."""
    client = Scripted(
        [
            ChatResult("", "m", tool_calls=[call("call_0", 1, 2), call("call_0", 10, 20)]),
            ChatResult("done", "m"),
        ]
    )
    node = agent(client)
    out = await node.run({}, NodeContext(record_id="r", node="agent", iteration=0))
    assistant = next(m for m in out["answer_transcript"] if m.get("tool_calls"))
    tools = [m for m in out["answer_transcript"] if m["role"] == "tool"]
    ids = [c["id"] for c in assistant["tool_calls"]]
    assert len(set(ids)) == 2, ids
    assert [m["tool_call_id"] for m in tools] == ids
