"""The text of chosen fields of a record, and its normal form, for the steps that compare
records (dedup now; decontamination and profiles read text the same way).

A field is a dotted path (``answer``, ``meta.question``, ``messages.1.content``). A list of
chat turns (``messages``, ``conversation``: dicts with ``content``) reads as the text of its
turns, one per line, optionally only those of some roles; content given as parts reads as
its text parts. Other values read as JSON.
"""

from __future__ import annotations

import functools
import json
import sys
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from grasp_core.plugin import MISSING, lookup

__all__ = ["field_texts", "normalise"]


def field_texts(
    record: Mapping[str, Any],
    fields: Sequence[str] | None,
    *,
    id_column: str,
    roles: Iterable[str] | None = None,
) -> list[str]:
    """The text of each of ``fields`` in ``record`` (``""`` where one is missing); without
    ``fields``, of every top-level field but the id, in name order."""
    wanted = set(roles) if roles is not None else None
    paths = fields if fields is not None else sorted(k for k in record if k != id_column)
    return [_text(lookup(record, path), wanted) for path in paths]


def _text(value: Any, roles: set[str] | None) -> str:
    if value is MISSING or value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        parts = (_text(part, roles) for part in value if _role_ok(part, roles))
        return "\n".join(part for part in parts if part)
    if isinstance(value, dict):
        if "content" in value:
            return _text(value["content"], None)
        if value.get("type") == "text" and isinstance(value.get("text"), str):
            return str(value["text"])
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _role_ok(part: Any, roles: set[str] | None) -> bool:
    """A turn is read when no roles are chosen, or its role is one of them."""
    if roles is None or not isinstance(part, dict) or "role" not in part:
        return True
    return part["role"] in roles


def normalise(text: str, *, strip_punctuation: bool = False) -> str:
    """``text`` in a form where trivial differences vanish: Unicode compatibility forms
    (NFKC), case (casefold), runs of whitespace (one space, none at the ends) and, with
    ``strip_punctuation``, Unicode punctuation."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    if strip_punctuation:
        folded = folded.translate(_punctuation())
    return " ".join(folded.split())


@functools.cache
def _punctuation() -> dict[int, str]:
    """Every Unicode punctuation character (categories P*) mapped to a space, for
    ``str.translate`` (built once, on first use: it takes a quarter of a second)."""
    return {
        code: " "
        for code in range(sys.maxunicode + 1)
        if unicodedata.category(chr(code)).startswith("P")
    }
