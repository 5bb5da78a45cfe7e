"""Read a JSON file holding one array of objects (loaded whole)."""

from __future__ import annotations

import json
from collections.abc import Generator
from pathlib import Path

from grasp_core.errors import SourceError
from grasp_io.sources._raw import RawRecord, describe_json

__all__ = ["iter_json"]


def iter_json(path: Path, *, encoding: str, skip: int) -> Generator[RawRecord, None, None]:
    """Yield the objects of a JSON array after the first ``skip`` ones.

    JSON has no streaming form in the standard library, so the whole file is loaded;
    use JSONL for inputs that do not fit in memory. Anything but an array of objects
    raises :class:`SourceError` before the first record.
    """
    with path.open(encoding=encoding) as text:
        try:
            value = json.load(text)
        except json.JSONDecodeError as exc:
            raise SourceError(
                f"{path}:{exc.lineno}: not valid json ({exc.msg}, column {exc.colno}); "
                "a json source holds one array of objects (use file_format 'jsonl' "
                "for one object per line)"
            ) from exc
    if not isinstance(value, list):
        raise SourceError(
            f"{path} holds {describe_json(value)}, expected an array of objects; "
            "put the records in a top-level [...] array"
        )
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise SourceError(
                f"{path}: item {index} of the array is {describe_json(item)}, expected an "
                "object; every record of a json source must be an object"
            )
    for index in range(skip, len(value)):
        yield RawRecord(index, value[index])
