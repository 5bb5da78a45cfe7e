"""The response cache's key: every part of a request changes it, the call's place in its
record changes it in `record` mode only, and calls outside a node run are cached only by
content."""

from __future__ import annotations

import contextvars
from typing import Any

from grasp_core.models.cache_key import CacheMode, enter_node_run, request_key

BASE: dict[str, Any] = {
    "route": "openai/m",
    "api_base": "http://host/v1",
    "api_version": None,
    "messages": [{"role": "user", "content": "hi"}],
    "params": {"temperature": 0.5},
}


def _key(mode: CacheMode = "record", **changes: Any) -> str | None:
    return request_key(**{**BASE, **changes}, mode=mode)


def _in_node_run(record: str, node: str, iteration: int, *calls: dict[str, Any]) -> list[Any]:
    def run() -> list[Any]:
        enter_node_run(record, node, iteration)
        return [_key(**call) for call in calls]

    return contextvars.copy_context().run(run)


def test_every_part_of_the_request_changes_the_key() -> None:
    """Route, endpoint, API version, messages, parameters, tools and schema all count."""
    changes = [
        {},
        {"route": "openai/other"},
        {"api_base": "http://elsewhere/v1"},
        {"api_version": "2024-10-21"},
        {"messages": [{"role": "user", "content": "hi!"}]},
        {"params": {"temperature": 0.6}},
        {"params": {"temperature": 0.5, "tools": [{"type": "function"}]}},
        {"params": {"temperature": 0.5, "response_format": {"type": "json_object"}}},
    ]
    keys = {_key("content", **change) for change in changes}
    assert len(keys) == len(changes)
    assert _key("content") == _key("content", params={"temperature": 0.5})


def test_record_mode_tells_records_nodes_iterations_and_repeats_apart() -> None:
    """The same request from another record, node, iteration, or again in one node run, is
    another key; the same place in a rerun is the same key."""
    first = _in_node_run("r1", "ask", 0, {}, {})
    assert first[0] != first[1]  # the second identical call of one node run
    assert _in_node_run("r1", "ask", 0, {}, {}) == first
    others = [
        _in_node_run("r2", "ask", 0, {})[0],
        _in_node_run("r1", "other", 0, {})[0],
        _in_node_run("r1", "ask", 1, {})[0],
    ]
    assert len({first[0], first[1], *others}) == 5


def test_content_mode_drops_the_identity_and_off_has_no_key() -> None:
    """`content` keys only the request; `off` and `record` outside a node run give None."""
    inside = contextvars.copy_context().run(
        lambda: (enter_node_run("r1", "ask", 0), _key("content"))[1]
    )
    assert inside == _key("content")
    assert _key("off") is None
    assert contextvars.copy_context().run(lambda: _key("record")) is None


def _reference_key(record: Any, node: Any, iteration: Any) -> str:
    """The key as first defined: two sha256 over ``json.dumps`` of the request and of the
    call's identity (caches written then must keep hitting)."""
    import hashlib
    import json

    def canonical(value: Any) -> bytes:
        return json.dumps(
            value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=repr
        ).encode("utf-8")

    request = [1, BASE["route"], BASE["api_base"], None, BASE["messages"], BASE["params"]]
    digest = hashlib.sha256(canonical(request)).hexdigest()
    return hashlib.sha256(canonical([digest, record, node, iteration, 0])).hexdigest()


def test_keys_are_the_ones_earlier_runs_filed_replies_under() -> None:
    """The faster key computation gives the same keys, for any record id and node path
    (quotes, backslashes, control characters, non-ASCII), and for ids of other types."""
    for record, node in [
        ("r0", "draft"),
        ('a "quoted" \\ id\n\t\x00', "outer.inner"),
        ("é中文🙂", "nœud"),
        (17, "draft"),
    ]:
        assert _in_node_run(record, node, 3, {}) == [_reference_key(record, node, 3)]
