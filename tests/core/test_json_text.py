"""``compact_encoder``: the text of ``json.dumps`` with the same options, byte for byte, and
the same errors for values JSON cannot hold (a circular reference, an unknown type, NaN where
refused)."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from grasp_core.plugin import compact_encoder

VALUES: list[Any] = [
    {"b": 1, "a": [1.5, None, True, "é \u2028 \ud800"], "c": {"z": {}, "y": []}},
    ["plain", 3, -0.0, 1e300, {"k": "v"}],
    "just a string",
    7,
    None,
    {"nan": math.nan, "inf": -math.inf},
]


@pytest.mark.parametrize("value", VALUES)
@pytest.mark.parametrize("ensure_ascii", [True, False])
@pytest.mark.parametrize("sort_keys", [True, False])
def test_the_text_is_json_dumps_text(value: Any, ensure_ascii: bool, sort_keys: bool) -> None:
    encode = compact_encoder(ensure_ascii=ensure_ascii, sort_keys=sort_keys)
    expected = json.dumps(
        value, ensure_ascii=ensure_ascii, sort_keys=sort_keys, separators=(",", ":")
    )
    assert encode(value) == expected


def test_a_default_function_serves_unknown_types() -> None:
    encode = compact_encoder(default=repr)
    assert encode({"when": object}) == json.dumps(
        {"when": object}, default=repr, separators=(",", ":")
    )


def test_a_value_nesting_itself_fails_as_json_dumps_does() -> None:
    loop: list[Any] = [1]
    loop.append({"again": loop})
    with pytest.raises(ValueError, match="Circular reference detected"):
        compact_encoder()(loop)


def test_unknown_types_and_refused_nan_fail_as_json_dumps_does() -> None:
    with pytest.raises(TypeError, match="Object of type set is not JSON serializable"):
        compact_encoder()({"s": {1}})
    with pytest.raises(ValueError, match="Out of range float"):
        compact_encoder(allow_nan=False)([math.nan])
