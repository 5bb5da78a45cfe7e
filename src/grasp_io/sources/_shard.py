"""Read one shard of a disk source: a part of the file, with the positions of a full read.

Shards never need the whole file on one machine beforehand: JSONL splits into byte ranges
aligned to line starts, Parquet into row ranges from its footer. CSV (a quoted cell may hold
a newline) and JSON arrays are read whole by every worker, which keeps every ``count``-th
record. Positions are those of a full read, so record ids match a run without shards.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import Protocol

from grasp_io.sources._jsonl import iter_jsonl_bytes, line_starts
from grasp_io.sources._raw import RawRecord

__all__ = ["Positioned", "newline_is_a_byte", "read_shard"]

Positioned = Generator[tuple[int, RawRecord], None, None]


class _Reader(Protocol):
    def __call__(
        self, path: Path, *, encoding: str, skip: int
    ) -> Generator[RawRecord, None, None]: ...


def read_shard(
    path: Path,
    file_format: str,
    *,
    reader: _Reader,
    encoding: str,
    reading_encoding: str,
    shard: tuple[int, int],
    start: int,
) -> Positioned:
    """Yield ``(position, record)`` for the records of ``shard`` (index, count) from
    position ``start`` on, in file order."""
    index, count = shard
    if file_format == "jsonl" and newline_is_a_byte(encoding):
        offsets = line_starts(path, count)
        for position, raw in iter_jsonl_bytes(
            path, encoding=reading_encoding, begin=offsets[index], end=offsets[index + 1]
        ):
            if position >= start:
                yield position, raw
    elif file_format == "parquet":
        from grasp_io.sources._parquet import parquet_rows

        total = parquet_rows(path)
        first, stop = total * index // count, total * (index + 1) // count
        first = max(first, start)
        if first >= stop:
            return
        rows = reader(path, encoding=reading_encoding, skip=first)
        try:
            for position, raw in enumerate(rows, start=first):
                if position >= stop:
                    return
                yield position, raw
        finally:
            rows.close()
    else:
        rows = reader(path, encoding=reading_encoding, skip=start)
        try:
            for position, raw in enumerate(rows, start=start):
                if position % count == index:
                    yield position, raw
        finally:
            rows.close()


def newline_is_a_byte(encoding: str) -> bool:
    """Whether every ``\\n`` byte ends a line (UTF-8, Latin-1...; not UTF-16)."""
    return "\n{".encode(encoding) == b"\n{"
