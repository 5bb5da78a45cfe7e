"""Read Parquet in batches; this module is the one boundary for pyarrow read errors."""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from grasp_core.errors import SourceError
from grasp_io.sources._raw import RawRecord

__all__ = ["iter_parquet", "parquet_rows"]

_BATCH_ROWS = 1024


def iter_parquet(path: Path, *, encoding: str, skip: int) -> Generator[RawRecord, None, None]:
    """Yield the rows of a Parquet file after the first ``skip`` ones.

    Reads ``1024`` rows at a time and skips whole row groups from the file's metadata.
    Rows are numbered from 0. Values come as pyarrow's Python equivalents (a timestamp
    column gives :class:`datetime.datetime`). ``encoding`` is unused: Parquet stores text
    as UTF-8.
    """
    del encoding
    try:
        with pq.ParquetFile(path) as parquet:
            groups, index = _groups_after(parquet.metadata, skip)
            if not groups:
                return
            drop = skip - index
            for batch in parquet.iter_batches(batch_size=_BATCH_ROWS, row_groups=groups):
                if drop >= batch.num_rows:
                    drop -= batch.num_rows
                    index += batch.num_rows
                    continue
                if drop:
                    batch, index, drop = batch.slice(drop), index + drop, 0
                for row in batch.to_pylist():
                    yield RawRecord(index, row)
                    index += 1
    except pa.ArrowException as exc:
        raise SourceError(f"{path}: cannot read parquet: {exc}") from exc


def parquet_rows(path: Path) -> int:
    """The file's row count, from its footer (no data is read)."""
    try:
        with pq.ParquetFile(path) as parquet:
            return int(parquet.metadata.num_rows)
    except pa.ArrowException as exc:
        raise SourceError(f"{path}: cannot read parquet: {exc}") from exc


def _groups_after(metadata: pq.FileMetaData, skip: int) -> tuple[list[int], int]:
    """Return the row groups that hold rows from ``skip`` on, and the first one's row index."""
    groups: list[int] = []
    first_row = 0
    for group in range(metadata.num_row_groups):
        rows = metadata.row_group(group).num_rows
        if not groups and first_row + rows <= skip:
            first_row += rows
            continue
        groups.append(group)
    return groups, first_row
