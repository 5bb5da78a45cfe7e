"""Read JSON Lines one line at a time; a bad line becomes a record with a problem."""

from __future__ import annotations

import json
from collections.abc import Generator
from pathlib import Path

from grasp_io.sources._raw import RawRecord, describe_json, excerpt

__all__ = ["iter_jsonl"]


def iter_jsonl(path: Path, *, encoding: str, skip: int) -> Generator[RawRecord, None, None]:
    """Yield the records of a JSONL file after the first ``skip`` ones.

    Blank lines are not records. Skipped lines are counted, not parsed. Bytes that do not
    decode in ``encoding`` spoil only their own line (``surrogateescape``), so one bad
    line never stops the file.
    """
    with path.open(encoding=encoding, errors="surrogateescape") as lines:
        skipped = 0
        for number, line in enumerate(lines, start=1):
            if not line or line.isspace():
                continue
            if skipped < skip:
                skipped += 1
                continue
            yield _parse_line(line, number, encoding)


def _parse_line(line: str, number: int, encoding: str) -> RawRecord:
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:  # only lone surrogates fail: bytes the codec could not decode
        return RawRecord(number, None, f"bytes that are not {encoding!r} text: {excerpt(line)}")
    try:
        value = json.loads(line)
    except json.JSONDecodeError as exc:
        return RawRecord(
            number, None, f"not valid json ({exc.msg}, column {exc.colno}): {excerpt(line)}"
        )
    except RecursionError:
        return RawRecord(number, None, f"json nested too deeply to read: {excerpt(line)}")
    if not isinstance(value, dict):
        return RawRecord(
            number,
            None,
            f"expected a json object, got {describe_json(value)}: {excerpt(line)}",
        )
    return RawRecord(number, value)
