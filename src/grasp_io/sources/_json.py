"""Read a JSON file holding one array of objects (loaded whole)."""

from __future__ import annotations

import json
from collections.abc import Generator
from pathlib import Path
from typing import Any

from grasp_core.errors import SourceError
from grasp_io.sources._raw import RawRecord, describe_json, too_long_integer

__all__ = ["iter_json"]


class _TooLong:
    """Stands where the array holds an integer past Python's digit limit."""


def iter_json(path: Path, *, encoding: str, skip: int) -> Generator[RawRecord, None, None]:
    """Yield the objects of a JSON array after the first ``skip`` ones.

    JSON has no streaming form in the standard library, so the whole file is loaded;
    use JSONL for inputs that do not fit in memory. Anything but an array of objects
    raises :class:`SourceError` before the first record. An object holding an integer
    too long to read becomes a record with a problem: the others are read.
    """
    with path.open(encoding=encoding) as file:
        text = file.read()
    value, too_long = _load(text, path)
    if not isinstance(value, list):
        raise SourceError(
            f"{path} holds {describe_json(value)}, expected an array of objects; "
            "put the records in a top-level [...] array"
        )
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise SourceError(
                f"{path}: item {index} of the array is {_describe(item)}, expected an "
                "object; every record of a json source must be an object"
            )
    for index in range(skip, len(value)):
        item = value[index]
        if too_long and _holds_too_long(item):
            yield RawRecord(index, None, too_long_integer())
        else:
            yield RawRecord(index, item)


def _load(text: str, path: Path) -> tuple[Any, bool]:
    """The decoded document, and whether an integer in it was too long to read."""
    try:
        return json.loads(text), False
    except json.JSONDecodeError as exc:
        raise SourceError(
            f"{path}:{exc.lineno}: not valid json ({exc.msg}, column {exc.colno}); "
            "a json source holds one array of objects (use file_format 'jsonl' "
            "for one object per line)"
        ) from exc
    except RecursionError:
        raise SourceError(f"{path}: json nested too deeply to read; flatten the records") from None
    except ValueError:  # the only other one: an integer past the digit limit
        pass
    # Read again, leaving a marker for each too-long integer: only its record fails.
    try:
        return json.loads(text, parse_int=_int_or_marker), True
    except RecursionError:
        raise SourceError(f"{path}: json nested too deeply to read; flatten the records") from None


def _describe(item: Any) -> str:
    return "an integer too long to read" if isinstance(item, _TooLong) else describe_json(item)


def _int_or_marker(digits: str) -> int | _TooLong:
    try:
        return int(digits)
    except ValueError:
        return _TooLong()


def _holds_too_long(value: Any) -> bool:
    if isinstance(value, _TooLong):
        return True
    if isinstance(value, dict):
        return any(_holds_too_long(item) for item in value.values())
    if isinstance(value, list):
        return any(_holds_too_long(item) for item in value)
    return False
