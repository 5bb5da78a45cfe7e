"""Random access to the rows of a finished output, whatever its format, without loading a
large file whole: what :class:`~grasp_core.runs.output_table.OutputTable` pages over.

- JSONL: an index of each line's byte span, built lazily chunk by chunk (numpy finds the
  newlines), so the first page of a million-line file reads only its first chunk;
- Parquet: row groups, read on demand (the last few kept);
- an ``hf`` dataset folder (``save_to_disk``): its Arrow files, memory-mapped;
- JSON arrays and CSV: read whole through the ``disk`` source (they are small in practice).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from grasp_core.errors import SourceError
from grasp_core.postprocess.output import read_output

__all__ = ["RowStore", "arrow_errors", "open_rows"]

_CHUNK = 8 << 20
"""Bytes of a JSONL file scanned for newlines at a time."""
_NEWLINE = 10


class RowStore(Protocol):
    """Rows by position: a count (``None`` until known), rows by number, all rows in order."""

    def known_rows(self) -> int | None: ...

    def count(self) -> int: ...

    def rows(self, numbers: Sequence[int]) -> list[dict[str, Any]]: ...

    def iter_rows(self) -> Iterator[dict[str, Any]]: ...


def open_rows(path: Path, output_format: str | None = None) -> RowStore:
    """The row store for an output file or ``hf`` dataset folder at ``path``."""
    kind = output_format or _format_of(path)
    with arrow_errors(path):
        if kind == "jsonl":
            return JsonlRows(path)
        if kind == "parquet":
            return ParquetRows(path)
        if kind == "hf":
            return ArrowRows(path)
        return ListRows(path, kind)


@contextlib.contextmanager
def arrow_errors(path: Path) -> Iterator[None]:
    """Arrow's and the file system's errors reading ``path`` as a :class:`SourceError`
    naming the file (a damaged Parquet file, a folder that is no dataset)."""
    try:
        yield
    except (pa.ArrowException, OSError) as exc:
        raise SourceError(
            f"cannot read {str(path)!r} as a run output ({exc}); is it complete? a run still "
            "writing a Parquet output finishes it at the end"
        ) from exc


def _format_of(path: Path) -> str:
    if path.is_dir():
        return "hf"
    suffix = path.suffix.lower()
    return {".jsonl": "jsonl", ".parquet": "parquet", ".csv": "csv"}.get(suffix, "json")


def _parse_line(raw: bytes, number: int) -> dict[str, Any]:
    """One JSONL line as a record; a line that is not a JSON object becomes a row saying so
    (the table shows it instead of failing the page)."""
    try:
        value = json.loads(raw)
    except ValueError as exc:
        return {"_error": f"line {number + 1} is not JSON ({exc})"}
    if not isinstance(value, dict):
        return {"_error": f"line {number + 1} is not a JSON object"}
    return value


class JsonlRows:
    """A JSONL file's lines, indexed by byte span as far as anyone has asked."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.size = path.stat().st_size
        """The file's size when opened: a file still growing is read up to here."""
        self._starts: list[np.ndarray[Any, np.dtype[np.int64]]] = []
        self._ends: list[np.ndarray[Any, np.dtype[np.int64]]] = []
        self._indexed = 0
        self._scanned = 0
        self._line_start = 0
        self._flat: tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]] | None = None
        self._lock = threading.Lock()

    def known_rows(self) -> int | None:
        return self._indexed if self._scanned >= self.size else None

    def count(self) -> int:
        self._ensure(None)
        return self._indexed

    def _ensure(self, rows: int | None) -> None:
        """Scan until ``rows`` lines are indexed (``None``: all of them)."""
        with self._lock:
            if self._scanned >= self.size or (rows is not None and self._indexed >= rows):
                return
            with self.path.open("rb") as handle:
                handle.seek(self._scanned)
                while self._scanned < self.size and (rows is None or self._indexed < rows):
                    chunk = handle.read(min(_CHUNK, self.size - self._scanned))
                    if not chunk:
                        break
                    self._scan(chunk)
            self._flat = None

    def _scan(self, chunk: bytes) -> None:
        base = self._scanned
        newlines = np.flatnonzero(np.frombuffer(chunk, dtype=np.uint8) == _NEWLINE)
        ends = newlines.astype(np.int64) + base
        starts = np.empty_like(ends)
        if len(ends):
            starts[0] = self._line_start
            starts[1:] = ends[:-1] + 1
            self._line_start = int(ends[-1]) + 1
        self._scanned = base + len(chunk)
        if self._scanned >= self.size and self._line_start < self.size:
            starts = np.append(starts, self._line_start)
            ends = np.append(ends, self.size)
        keep = (ends - starts) > 0  # a blank line is no record
        self._starts.append(starts[keep])
        self._ends.append(ends[keep])
        self._indexed += int(keep.sum())

    def _spans(self) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        if self._flat is None:
            empty = np.empty(0, dtype=np.int64)
            self._flat = (
                np.concatenate(self._starts) if self._starts else empty,
                np.concatenate(self._ends) if self._ends else empty,
            )
        return self._flat

    def rows(self, numbers: Sequence[int]) -> list[dict[str, Any]]:
        if not len(numbers):
            return []
        self._ensure(max(numbers) + 1)
        starts, ends = self._spans()
        found: list[dict[str, Any]] = []
        fd = os.open(self.path, os.O_RDONLY)
        try:
            first, last = min(numbers), max(numbers)
            if last - first + 1 == len(numbers) and last < len(starts):
                block = os.pread(fd, int(ends[last] - starts[first]), int(starts[first]))
                lines = {
                    n: block[int(starts[n] - starts[first]) : int(ends[n] - starts[first])]
                    for n in range(first, last + 1)
                }
                return [_parse_line(lines[n], n) for n in numbers]
            for n in numbers:
                if n >= len(starts):
                    raise IndexError(n)
                raw = os.pread(fd, int(ends[n] - starts[n]), int(starts[n]))
                found.append(_parse_line(raw, n))
        finally:
            os.close(fd)
        return found

    def arrow_column(self, path: str) -> pa.ChunkedArray | None:
        """The values at dotted ``path`` read by Arrow's JSON reader with a one-field
        schema (several times faster than parsing each line); ``None`` when the path is not
        plain Arrow data in the first lines, or when a later line does not fit that type:
        the caller then reads the lines itself."""
        top = path.split(".")[0]
        with self.path.open("rb") as handle:
            head = handle.read(min(self.size, 1 << 20))
        head = head[: head.rfind(b"\n") + 1]
        try:
            sample = pa_json.read_json(pa.BufferReader(head))
            if top not in sample.schema.names:
                return None
            schema = pa.schema([sample.schema.field(top)])
            options = pa_json.ParseOptions(
                explicit_schema=schema, unexpected_field_behavior="ignore"
            )
            table = pa_json.read_json(self.path, parse_options=options)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError):
            return None
        if table.num_rows != self.count():
            return None  # blank or broken lines: row numbers would not match
        return _arrow_path(table, path)

    def iter_rows(self) -> Iterator[dict[str, Any]]:
        with self.path.open("rb") as handle:
            read = 0
            number = 0
            for raw in handle:
                read += len(raw)
                if read > self.size:
                    break
                if raw.rstrip(b"\n"):  # as the index: only an empty line is no record
                    yield _parse_line(raw, number)
                    number += 1


class ArrowRows:
    """An ``hf`` dataset folder's rows: its Arrow files memory-mapped as one table."""

    def __init__(self, path: Path) -> None:
        files = sorted(path.glob("*.arrow"))
        if not files:
            raise SourceError(f"{str(path)!r} holds no .arrow files; is it a dataset folder?")
        tables = [pa.ipc.open_stream(pa.memory_map(str(file))).read_all() for file in files]
        self.table = pa.concat_tables(tables) if len(tables) > 1 else tables[0]

    def known_rows(self) -> int:
        return int(self.table.num_rows)

    def arrow_column(self, path: str) -> pa.ChunkedArray | None:
        """The values at dotted ``path`` when they are plain (sortable by Arrow)."""
        return _arrow_path(self.table, path)

    def count(self) -> int:
        return int(self.table.num_rows)

    def rows(self, numbers: Sequence[int]) -> list[dict[str, Any]]:
        if not len(numbers):
            return []
        taken: list[dict[str, Any]] = self.table.take(pa.array(numbers, pa.int64())).to_pylist()
        return taken

    def iter_rows(self) -> Iterator[dict[str, Any]]:
        for batch in self.table.to_batches(max_chunksize=4096):
            yield from batch.to_pylist()


class ParquetRows:
    """A Parquet file's rows, read a row group at a time (the last few kept)."""

    def __init__(self, path: Path, keep: int = 4) -> None:
        self.path = path
        self.file = pq.ParquetFile(path)
        sizes = [self.file.metadata.row_group(i).num_rows for i in range(self.file.num_row_groups)]
        self.bounds = np.cumsum([0, *sizes])
        self._groups: OrderedDict[int, pa.Table] = OrderedDict()
        self._keep = keep
        self._lock = threading.Lock()

    def known_rows(self) -> int:
        return int(self.bounds[-1])

    def arrow_column(self, path: str) -> pa.ChunkedArray | None:
        """The values at dotted ``path`` when they are plain (sortable by Arrow); only
        the top-level column holding them is read."""
        top = path.split(".")[0]
        if top not in self.file.schema_arrow.names:
            return None
        return _arrow_path(self.file.read(columns=[top]), path)

    def count(self) -> int:
        return int(self.bounds[-1])

    def _group(self, index: int) -> pa.Table:
        with self._lock:
            if index in self._groups:
                self._groups.move_to_end(index)
                return self._groups[index]
            with arrow_errors(self.path):
                table = self.file.read_row_group(index)
            self._groups[index] = table
            if len(self._groups) > self._keep:
                self._groups.popitem(last=False)
            return table

    def rows(self, numbers: Sequence[int]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for n in numbers:
            if not 0 <= n < self.count():
                raise IndexError(n)
            group = int(np.searchsorted(self.bounds, n, side="right")) - 1
            row = self._group(group).slice(n - int(self.bounds[group]), 1).to_pylist()
            found.append(row[0])
        return found

    def iter_rows(self) -> Iterator[dict[str, Any]]:
        with arrow_errors(self.path):
            for batch in self.file.iter_batches(batch_size=4096):
                yield from batch.to_pylist()


def _arrow_path(table: pa.Table, path: str) -> pa.ChunkedArray | None:
    """The column at dotted ``path`` through struct fields, or ``None`` when the path is
    not there or ends on a list, struct or dictionary column (Python orders those)."""
    top, *rest = path.split(".")
    if top not in table.schema.names:
        return None
    column = table.column(top)
    for name in rest:
        kind = column.type
        if not pa.types.is_struct(kind) or kind.get_field_index(name) < 0:
            return None
        column = pc.struct_field(column, name)
    kind = column.type
    if pa.types.is_nested(kind) or pa.types.is_dictionary(kind):
        return None
    chunked: pa.ChunkedArray = column
    return chunked


class ListRows:
    """A JSON array or CSV file, read whole through the ``disk`` source."""

    def __init__(self, path: Path, kind: str) -> None:
        self.records: list[dict[str, Any]] = []
        for item in read_output([path], kind):
            self.records.append(item.data if item.error is None else {"_error": item.error})

    def known_rows(self) -> int:
        return len(self.records)

    def count(self) -> int:
        return len(self.records)

    def rows(self, numbers: Sequence[int]) -> list[dict[str, Any]]:
        return [self.records[n] for n in numbers]

    def iter_rows(self) -> Iterator[dict[str, Any]]:
        return iter(self.records)
