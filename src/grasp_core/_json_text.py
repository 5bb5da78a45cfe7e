"""Compact JSON text for the hot paths: request bodies, cache keys and entries, output lines.

``json.dumps`` with options, and ``JSONEncoder.encode`` itself, build a new C encoder on
every call, which costs more than encoding a request's few messages or a reply. The encoders
made here build theirs once. They also skip the check for circular references (it would make
the C encoder keep state): data that nests itself overflows the stack instead, and is then
encoded again by the full encoder, which raises ``ValueError`` naming the circular reference,
as ``json.dumps`` does. The text is ``json.dumps(value, separators=(",", ":"), ...)``'s with
the same options, byte for byte.
"""

from __future__ import annotations

import json
import json.encoder
from collections.abc import Callable
from typing import Any

__all__ = ["compact_encoder"]


def compact_encoder(
    *,
    ensure_ascii: bool = True,
    sort_keys: bool = False,
    allow_nan: bool = True,
    default: Callable[[Any], Any] | None = None,
) -> Callable[[Any], str]:
    """``json.JSONEncoder(separators=(",", ":"), ...).encode``, with its C encoder built once
    (the plain encoder where the interpreter has no C accelerator)."""
    full = json.JSONEncoder(
        ensure_ascii=ensure_ascii,
        sort_keys=sort_keys,
        allow_nan=allow_nan,
        default=default,
        separators=(",", ":"),
    )
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover - an interpreter without the C accelerator
        return full.encode
    strings = (
        json.encoder.encode_basestring_ascii if ensure_ascii else json.encoder.encode_basestring
    )
    chunks = make(None, full.default, strings, None, ":", ",", sort_keys, False, allow_nan)

    def encode(value: Any) -> str:
        try:
            return "".join(chunks(value, 0))
        except RecursionError:  # a value nesting itself: the full encoder names it
            return full.encode(value)

    return encode
