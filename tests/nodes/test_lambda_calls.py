"""A lambda node calls its function as ``await fn(...)`` would, without that coroutine: an
``async def`` (or an instance with an async ``__call__``) directly, a plain ``def`` on the
event loop while its placement keeps it there, else in a worker thread; with ``params``, as
``f(params, state)``. The updates, and where the function ran, are the same either way; the
function gets its own plain copy of the state, however the state came."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import pytest

from grasp_core.config.callables import UserCallable
from grasp_core.plugin import NodeContext
from grasp_nodes.lambda_node import LambdaNode

pytestmark = pytest.mark.anyio


def _where() -> str:
    return "loop" if threading.current_thread() is threading.main_thread() else "thread"


def plain(state: Mapping[str, Any]) -> Any:
    return {"out": state["n"] + 1, "where": _where()}


async def coroutine(state: Mapping[str, Any]) -> Any:
    return {"out": state["n"] + 1, "where": _where()}


def with_params(params: Mapping[str, Any], state: Mapping[str, Any]) -> Any:
    return {"out": state["n"] + params["add"], "where": _where()}


class AsyncCall:
    async def __call__(self, state: Mapping[str, Any]) -> Any:
        return {"out": state["n"] + 1, "where": _where()}


@pytest.mark.parametrize(
    ("fn", "run_in", "where"),
    [
        (coroutine, "auto", "loop"),
        (AsyncCall(), "thread", "loop"),
        (plain, "loop", "loop"),
        (plain, "auto", "loop"),
        (plain, "thread", "thread"),
        (with_params, "auto", "loop"),
        (with_params, "thread", "thread"),
    ],
)
async def test_a_lambda_calls_its_function_as_awaiting_it_would(
    fn: Any, run_in: Any, where: str
) -> None:
    """The node's update is the one ``await fn(...)`` gives, run where it would run."""
    callable_ = UserCallable(fn, name="fn", run_in=run_in)
    node = LambdaNode("n", callable_, ["out", "where"], {"add": 5})
    ctx = NodeContext(record_id="r1", node="n", iteration=0)
    update = await node.run({"n": 1}, ctx)
    two = callable_.positional_count() == 2
    args: tuple[Any, ...] = ({"add": 5}, {"n": 1}) if two else ({"n": 1},)
    assert update == await callable_(*args)
    assert update["where"] == where


class _Frozen(Mapping[str, Any]):
    """A mapping that is neither a dict nor a read-only view of one."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Any:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


@pytest.mark.parametrize("view", [MappingProxyType, dict, _Frozen])
async def test_a_lambda_gets_its_own_plain_copy_of_the_state(view: Any) -> None:
    """Whatever mapping the state comes as (the walk's read-only view, a snapshot dict),
    the function gets a plain dict equal to it, which it may change without touching it."""
    seen: list[Any] = []

    def grab(state: dict[str, Any]) -> Any:
        seen.append((type(state), dict(state)))
        state["n"] = -1
        return 0

    data = {"n": 1, "messages": [{"role": "user", "content": "hi"}]}
    node = LambdaNode("n", UserCallable(grab, name="grab", run_in="loop"), ["out"])
    ctx = NodeContext(record_id="r1", node="n", iteration=0)
    assert await node.run(view(data), ctx) == {"out": 0}
    assert seen == [(dict, data)]
    assert data["n"] == 1
