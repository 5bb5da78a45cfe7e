"""A node run's fast paths give exactly what the general ones give: a node without hooks or
timeout, awaited directly, returns the update, failures and metrics of a staged run; a node
that says its updates are fresh JSON data has them kept as returned (and only then); the
walk's cheap ``NodeContext`` is the dataclass's own; ``json_safe``'s loop over plain values
gives pydantic's result."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from grasp_core.config.callables import UserCallable
from grasp_core.errors import NodeError
from grasp_core.graph.compiled import CompiledNode
from grasp_core.graph.node_call import call_node
from grasp_core.graph.state import json_safe
from grasp_core.observe.metrics import RunMetrics
from grasp_core.protocols import NodeContext, new_node_context

pytestmark = pytest.mark.anyio


class _Point(BaseModel):
    x: int


class _Returns:
    """A node returning what ``make(state)`` makes (or raising what it raises)."""

    name = "n"
    output_keys = ("out",)

    def __init__(self, make: Any) -> None:
        self.make = make
        self.returned: list[Any] = []

    async def run(self, state: Mapping[str, Any], ctx: NodeContext) -> Mapping[str, Any]:
        value = self.make(state)
        self.returned.append(value)
        return value  # type: ignore[no-any-return]


class _Fresh(_Returns):
    fresh_updates = True


def _ctx() -> NodeContext:
    return NodeContext(record_id="r1", node="n", iteration=0)


async def _outcome(compiled: CompiledNode) -> tuple[Any, tuple[int, int]]:
    """The update (or the error's type and message) and the node's (runs, failures)."""
    metrics = RunMetrics()
    try:
        result: Any = await call_node(compiled, {"a": 1}, _ctx(), metrics=metrics, snapshot=False)
    except Exception as exc:
        result = (type(exc).__name__, str(exc))
    stats = metrics.node("n")
    return result, (stats.runs, stats.failures)


def _exits(*_args: Any) -> Any:
    sys.exit(3)


def _raises(_state: Mapping[str, Any]) -> Any:
    raise ValueError("bad")


@pytest.mark.parametrize(
    "make",
    [
        lambda s: {"out": s["a"] + 1},
        lambda s: {"out": (1, 2), "p": _Point(x=3)},  # copied as JSON-safe data
        lambda s: MappingProxyType({"out": "text"}),
        lambda s: {"out": object()},  # cannot be stored
        _raises,
        _exits,
    ],
)
async def test_a_direct_run_gives_the_staged_runs_update_failures_and_metrics(make: Any) -> None:
    """A node without hooks or timeout is awaited directly; a timeout sends the same node
    through the staged run, with the same result, message and counts."""
    direct = CompiledNode(name="n", node=_Returns(make), node_type="lambda")
    staged = CompiledNode(name="n", node=_Returns(make), node_type="lambda", timeout=60)
    assert direct.direct
    assert not staged.direct
    assert await _outcome(direct) == await _outcome(staged)


async def test_sys_exit_names_the_hook_or_the_node_that_called_it() -> None:
    """The message of a ``sys.exit`` says which stage called it, on either path."""
    hook = UserCallable(_exits, name="hook", run_in="loop")
    node = _Returns(lambda s: {"out": 1})
    pre = CompiledNode(name="n", node=node, node_type="lambda", pre_process=hook)
    post = CompiledNode(name="n", node=node, node_type="lambda", post_process=hook)
    direct = CompiledNode(name="n", node=_Returns(_exits), node_type="lambda")
    for compiled, whose in [(pre, "pre_process"), (post, "post_process"), (direct, "lambda")]:
        with pytest.raises(NodeError, match=f"{whose}.* called sys.exit\\(3\\)"):
            await call_node(compiled, {}, _ctx(), metrics=RunMetrics(), snapshot=True)


async def test_fresh_updates_are_kept_as_returned_and_only_then() -> None:
    """A node with ``fresh_updates`` has its dict kept as it is; without the flag, with a
    hook, or for an update that is not a dict, the update is an equal JSON-safe copy."""

    def make(_state: Mapping[str, Any]) -> Any:
        return {"out": [1, {"k": "v"}], "n": None}

    keep = UserCallable(lambda update, _state: update, name="keep", run_in="loop")
    proxy = _Fresh(lambda s: MappingProxyType(make(s)))
    cases = [  # (the node run, whether it counts as fresh, whether its update is kept)
        (CompiledNode(name="n", node=_Fresh(make), node_type="x"), True, True),
        (CompiledNode(name="n", node=_Returns(make), node_type="x"), False, False),
        (CompiledNode(name="n", node=_Fresh(make), node_type="x", post_process=keep), False, False),
        (CompiledNode(name="n", node=proxy, node_type="x"), True, False),
    ]
    for compiled, fresh, kept in cases:
        assert compiled.fresh is fresh
        update = await call_node(compiled, {}, _ctx(), metrics=RunMetrics(), snapshot=False)
        assert update == make({})
        assert type(update) is dict
        returned = compiled.node.returned[-1]  # type: ignore[attr-defined]
        assert (update is returned) is kept


def test_the_walks_node_context_is_the_dataclasss_own() -> None:
    """``new_node_context`` sets every field, in declaration order, of a frozen context equal
    to (and hashing as) the one the dataclass's constructor makes."""
    names = [field.name for field in dataclasses.fields(NodeContext)]

    async def inner(graph: Any, state: dict[str, Any], prefix: str) -> dict[str, Any]:
        return state

    cases: list[tuple[Any, ...]] = [
        ("r1", "a", 0, False, None, 0, None),
        ("r\u00e9", "outer@1.b", 4, True, 3, 17, inner),
    ]
    for values in cases:
        made = new_node_context(*values)
        expected = NodeContext(**dict(zip(names, values, strict=True)))
        assert type(made) is NodeContext
        assert made == expected
        assert hash(made) == hash(expected)
        assert repr(made) == repr(expected)
        assert [getattr(made, name) for name in names] == list(values)
        assert made.rng_seed() == expected.rng_seed()
        with pytest.raises(dataclasses.FrozenInstanceError):
            made.node = "other"  # type: ignore[misc]


_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=4)
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=8,
)


@given(st.dictionaries(st.text(max_size=3), st.one_of(_scalars, _values), max_size=5))
def test_json_safe_gives_pydantics_result_as_a_new_dict(data: dict[str, Any]) -> None:
    """Plain values are copied by the loop, anything else by pydantic: the same data, in a
    new dict either way."""
    result = json_safe(data)
    assert result == to_jsonable_python(data)
    assert result is not data
