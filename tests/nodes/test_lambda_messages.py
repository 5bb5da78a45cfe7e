"""A lambda reads the state's ``messages`` as message objects (``.content``, ``.type``), as
SyGra's lambdas do, however the state came; a state without messages gets none added, and
the node's state is never changed."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import pytest

from grasp_core.config.callables import UserCallable
from grasp_core.plugin import NodeContext
from grasp_nodes.lambda_node import LambdaNode

pytestmark = pytest.mark.anyio

CTX = NodeContext(record_id="r1", node="n", iteration=0)


def seen(state: Mapping[str, Any]) -> Any:
    messages = state.get("messages")
    if messages is None:
        return sorted(state)
    return [(m.type, m.content) for m in messages]


@pytest.mark.parametrize("view", [dict, MappingProxyType])
@pytest.mark.parametrize("run_in", ["auto", "thread"])
async def test_a_lambda_reads_messages_as_message_objects(view: Any, run_in: Any) -> None:
    """With messages: ``(type, content)`` pairs; without: the state's keys, none added."""
    node = LambdaNode("n", UserCallable(seen, name="seen", run_in=run_in), ["out"])
    state = {"id": "r1", "messages": [{"role": "user", "content": "hi"}]}
    out = await node.run(view(state), CTX)
    assert out == {"out": [("human", "hi")]}
    assert type(state["messages"][0]) is dict
    assert await node.run(view({"id": "r1", "x": 1}), CTX) == {"out": ["id", "x"]}
