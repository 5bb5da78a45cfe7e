"""Read JSON Lines one line at a time; a bad line becomes a record with a problem."""

from __future__ import annotations

import json
import re
from collections.abc import Generator
from pathlib import Path

from grasp_io.sources._raw import RawRecord, describe_json, excerpt, too_long_integer

__all__ = ["count_jsonl", "iter_jsonl", "iter_jsonl_bytes", "line_starts"]

_CHUNK = 1 << 20
_BOM = b"\xef\xbb\xbf"
_BLANK_LINE = re.compile(rb"\n[ \t\r\f\v]*(?=\n)")
"""A line holding only ASCII whitespace, matched from the end of the line before."""


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


def count_jsonl(path: Path) -> int:
    """How many records :func:`iter_jsonl` yields: the lines that are not blank, counted a
    megabyte at a time without decoding or parsing them (only for encodings in which a byte
    ``\\n`` ends a line; a line of other Unicode whitespace alone counts as a record)."""
    count = 0
    carry = b"\n"  # the end of the line before: a virtual one before the first line
    with path.open("rb") as raw:
        if raw.read(len(_BOM)) != _BOM:
            raw.seek(0)
        chunk = raw.read(_CHUNK)
        while chunk:
            data = carry + chunk
            end = data.rfind(b"\n")
            lines = data[: end + 1]
            count += lines.count(b"\n") - 1 - len(_BLANK_LINE.findall(lines))
            carry = data[end:]
            chunk = raw.read(_CHUNK)
    return count + bool(carry[1:].strip())


def line_starts(path: Path, count: int) -> list[int]:
    """Split the file into ``count`` byte ranges that start at line starts: ``count + 1``
    offsets (the last is the file size). Reads one line per boundary, not the file."""
    size = path.stat().st_size
    offsets = [0]
    with path.open("rb") as raw:
        for index in range(1, count):
            target = max(size * index // count, offsets[-1])
            if target == 0:
                offsets.append(0)
                continue
            raw.seek(target - 1)
            raw.readline()  # to the end of the line holding byte target - 1
            offsets.append(min(raw.tell(), size))
    offsets.append(size)
    return offsets


def iter_jsonl_bytes(
    path: Path, *, encoding: str, begin: int, end: int
) -> Generator[tuple[int, RawRecord], None, None]:
    """Yield ``(position, record)`` for the lines that start in bytes ``[begin, end)``.

    ``begin`` must be a line start (see :func:`line_starts`). Positions and line numbers
    match :func:`iter_jsonl`'s, so the lines before ``begin`` are counted (not parsed).
    Only for encodings in which a byte ``\\n`` always ends a line (UTF-8, Latin-1...).
    """
    rest = "utf-8" if encoding == "utf-8-sig" else encoding  # a BOM only opens the file
    with path.open("rb") as raw:
        offset = number = position = 0
        for line in raw:
            if offset >= end:
                return
            offset += len(line)
            number += 1
            line_encoding = encoding if number == 1 else rest
            if offset <= begin:
                position += not _blank(line, line_encoding)
                continue
            text = line.decode(line_encoding, "surrogateescape")
            if not text or text.isspace():
                continue
            yield position, _parse_line(text, number, encoding)
            position += 1


def _blank(line: bytes, encoding: str) -> bool:
    """Whether ``iter_jsonl`` would skip the line (decoding only when it is not obvious)."""
    if line.lstrip()[:1] == b"{":
        return False
    return line.decode(encoding, "surrogateescape").isspace()


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
    except ValueError:  # the only other one: an integer past Python's digit limit
        return RawRecord(number, None, f"{too_long_integer()}: {excerpt(line)}")
    if not isinstance(value, dict):
        return RawRecord(
            number,
            None,
            f"expected a json object, got {describe_json(value)}: {excerpt(line)}",
        )
    return RawRecord(number, value)
