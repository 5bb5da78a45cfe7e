"""The cache key's value never changes for the same request (a rerun must hit a cache written
by an earlier version), and the per-client fast form (``RequestKeys``, the constant part
encoded once) gives the very keys ``request_key`` gives."""

from __future__ import annotations

import contextvars
import json
from types import MappingProxyType
from typing import Any

import pytest

from grasp_core.models.cache_key import (
    _ENCODE,
    CacheMode,
    RequestKeys,
    enter_node_run,
    request_key,
)

PLAIN: dict[str, Any] = {
    "route": "openai/gpt-4o",
    "api_base": None,
    "api_version": None,
    "messages": [{"role": "user", "content": "hé \u2028"}],
    "params": {},
}
TOOLS: dict[str, Any] = {
    "route": "hosted_vllm/x",
    "api_base": "http://h:1/v1",
    "api_version": "2024",
    "messages": ({"role": "user", "content": [{"type": "text", "text": "a"}]},),
    "params": MappingProxyType({"temperature": 0.5, "tools": [{"b": 1, "a": 2}]}),
}


def _in_node_run(call: Any) -> Any:
    def run() -> Any:
        enter_node_run("r1", "n", 2)
        return call()

    return contextvars.copy_context().run(run)


@pytest.mark.parametrize(
    ("request_", "mode", "key"),
    [
        (PLAIN, "record", "3cb0d53d8a641cbadda511678968e331cc8ae6f3d4c464279f1f0ba3c67e0cff"),
        (PLAIN, "content", "425ee9425944bd390ef56973a535f0110a9ab33bb464691f3907bf39e512b4dd"),
        (TOOLS, "record", "11e2730b826bead62590a32b7837dd948ca160b376990de4dd9483fe5fa7fc31"),
        (TOOLS, "content", "b65838ca14725c6e16901d74413ec29874e72bc239ffc2b2926562caeb57fc5f"),
    ],
)
def test_a_request_keeps_its_key_across_versions(
    request_: dict[str, Any], mode: CacheMode, key: str
) -> None:
    """The documented key of a request (record r1, node n, iteration 2, first call) is the
    value an earlier version filed its reply under."""
    assert _in_node_run(lambda: request_key(**request_, mode=mode)) == key


@pytest.mark.parametrize("request_", [PLAIN, TOOLS])
@pytest.mark.parametrize("mode", ["record", "content", "off"])
def test_a_clients_request_keys_are_request_key(request_: dict[str, Any], mode: CacheMode) -> None:
    """``RequestKeys.key`` gives ``request_key``'s key, call after call (the n-th identical
    request of a node run included)."""
    keys = RequestKeys(
        route=request_["route"],
        api_base=request_["api_base"],
        api_version=request_["api_version"],
    )

    def fast() -> list[str | None]:
        return [keys.key(request_["messages"], request_["params"], mode) for _ in range(3)]

    def general() -> list[str | None]:
        return [request_key(**request_, mode=mode) for _ in range(3)]

    assert _in_node_run(fast) == _in_node_run(general)


class _Opaque:
    def __repr__(self) -> str:
        return "<opaque>"


@pytest.mark.parametrize(
    "value",
    [
        [1, 'é\u2028\ud800"\\', None, 1.5, float("nan"), float("-inf"), 10**30],
        {"b": 1, "a": [True, False], "c": (1, 2)},
        {3: "x", 4.5: 1, True: 2},
        [_Opaque(), {"k": _Opaque()}],
        "top",
    ],
)
def test_the_key_encoder_writes_what_jsonencoder_writes(value: Any) -> None:
    """The once-built encoder gives ``json.JSONEncoder(sort_keys=True, separators=(",", ":"),
    ensure_ascii=False, default=repr)``'s text, so keys stay the same."""
    encoder = json.JSONEncoder(
        sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=repr
    )
    assert _ENCODE(value) == encoder.encode(value)
