"""What a format reader hands to :class:`~grasp_io.sources.DiskSource`, and message helpers."""

from __future__ import annotations

import sys
from typing import Any, NamedTuple

__all__ = ["RawRecord", "describe_json", "excerpt", "too_long_integer"]

_EXCERPT_CHARS = 60


class RawRecord(NamedTuple):
    """One record as a reader found it, before positions and ids are assigned.

    ``number`` locates it in the file: a 1-based line for JSONL and CSV, a 0-based index
    for JSON arrays and Parquet rows. Exactly one of ``data`` and ``problem`` is set.
    """

    number: int
    data: dict[str, Any] | None
    problem: str | None = None


def excerpt(text: str) -> str:
    """Return the start of ``text`` as a ``repr`` short enough for an error message."""
    text = text.strip()
    if len(text) > _EXCERPT_CHARS:
        text = text[: _EXCERPT_CHARS - 3] + "..."
    return repr(text)


def describe_json(value: object) -> str:
    """Name the JSON kind of a decoded ``value`` ("an array", "a string"...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object" if isinstance(value, dict) else type(value).__name__


def too_long_integer() -> str:
    """Why a JSON integer past Python's digit limit fails its record."""
    return (
        f"an integer of more than {sys.get_int_max_str_digits()} digits, too long to read; "
        "write it as a string (in quotes)"
    )
