"""The ``csv`` sink: rows appended under a header taken from the first record."""

from __future__ import annotations

import csv
import io
import json
import math
import threading
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from grasp_core.errors import SinkError
from grasp_core.plugin import CommitToken
from grasp_io._fs import coerce_config, resolve_path
from grasp_io._media_columns import json_default
from grasp_io.sinks._appender import AppendFile, appends_quickly
from grasp_io.sinks._unwritable import cannot_write, unwritable_error

__all__ = ["CsvSink", "CsvSinkConfig"]


class CsvSinkConfig(BaseModel):
    """``data_config.sink`` for a CSV file."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["csv"]
    """Selects the CSV sink."""

    file_path: str
    """The output file. A relative path resolves against the folder of the task file;
    missing folders are created."""

    alias: str | None = None
    """This sink's name when `sink` is a list (required there, unique); the journal keys its
    commits by it."""

    fsync: bool = False
    """Force every write to disk before it is committed: survives a power cut, costs speed."""

    ordered: bool = False
    """Write records in source order rather than as they finish (as `grasp run --ordered`):
    a finished record waits for those before it, within the run's window."""


class CsvSink:
    """Appends records as CSV rows (UTF-8, ``\\n`` line ends, quoting as Excel does).

    The columns are the keys of the first record written, in order, or the header of
    the file being resumed. A record with other keys fails the whole write. Cells are
    written as GraSP reads them back (see :func:`_cell`): ``true``/``false``, numbers as
    JSON writes them, objects and arrays as JSON, a missing key or ``None`` empty. Text
    that is not Unicode (a lone surrogate) fails the write with a :class:`SinkError`.
    A run with no records leaves an empty file. Tokens are those of
    :class:`~grasp_io.sinks.JsonlSink`.
    """

    config_model: ClassVar[type[BaseModel]] = CsvSinkConfig
    nested_as_text: ClassVar[bool] = True
    """Lists and dicts become JSON text: a row format with such columns is refused."""

    def __init__(self, path: Path, *, fsync: bool = False) -> None:
        self.path = path
        self._file = AppendFile(path, fsync=fsync)
        self._columns: list[str] | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config: BaseModel, base_dir: Path) -> CsvSink:
        """Build the sink from its config; nothing is opened until :meth:`restore`."""
        cfg = coerce_config(config, CsvSinkConfig)
        return cls(resolve_path(cfg.file_path, base_dir), fsync=cfg.fsync)

    def __repr__(self) -> str:
        return f"CsvSink({str(self.path)!r})"

    @property
    def columns(self) -> list[str] | None:
        """The header, once known."""
        return None if self._columns is None else list(self._columns)

    @property
    def quick_writes(self) -> bool:
        """Writes append to a local file without forcing it to disk: the engine may call
        them on the event loop (``grasp_core.engine.sink_writes``)."""
        return appends_quickly(self, CsvSink.write, fsync=self._file.fsync)

    def restore(self, committed: list[CommitToken]) -> None:
        """Open the file: empty when nothing is committed, else cut back and reread the header."""
        with self._lock:
            self._file.restore(committed)
            self._columns = self._read_header() if self._file.offset else None

    def write(self, records: list[dict[str, Any]]) -> CommitToken:
        """Append ``records`` as rows, all or none of them, and return their token."""
        with self._lock:
            columns = self._columns if self._columns is not None else _first_keys(records)
            text = _encode_rows(records, columns, header=self._columns is None, path=self.path)
            try:
                data = text.encode("utf-8")
            except UnicodeEncodeError as exc:  # a lone surrogate: not text UTF-8 can hold
                raise _unwritable(records, self.path, exc) from exc
            token = self._file.append(data, len(records))
            if records:
                self._columns = columns
            return token

    def cannot_write(self, record: dict[str, Any]) -> str | None:
        """Why ``record`` cannot be a CSV row: text that is not Unicode (UTF-8 cannot hold
        a lone surrogate), an integer too long for text; None when it can."""
        return cannot_write(record, sink="csv")

    def finalize(self) -> list[Path]:
        """Close the file and return it."""
        self._file.close()
        return [self.path]

    def sync(self) -> None:
        """Force what was written so far to disk."""
        self._file.sync()

    def close(self) -> None:
        """Close the file without finalizing."""
        self._file.close()

    def _read_header(self) -> list[str]:
        try:
            with self.path.open(encoding="utf-8", newline="") as text:
                header = next(csv.reader(text), None)
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise SinkError(f"cannot read the csv header of {self.path}: {exc}") from exc
        if not header:
            raise SinkError(
                f"{self.path} has committed rows but no header line; the output was "
                "modified by hand. restore it from a copy to resume, or start afresh"
            )
        return header


def _first_keys(records: list[dict[str, Any]]) -> list[str]:
    return list(records[0]) if records else []


def _encode_rows(
    records: list[dict[str, Any]], columns: list[str], *, header: bool, path: Path
) -> str:
    """Serialize the whole batch first, so that a bad record leaves the file untouched."""
    if not records:
        return ""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if header:
        writer.writerow(columns)
    known = set(columns)
    for index, record in enumerate(records):
        unknown = [key for key in record if key not in known]
        if unknown:
            raise SinkError(
                f"record {index} of the batch for {path} has keys {unknown!r} that are not "
                f"among the csv columns {columns!r}; the columns come from the first record, "
                "so give every record the same keys (or use a jsonl or parquet sink)"
            )
        try:
            writer.writerow([_cell(record.get(column)) for column in columns])
        except ValueError as exc:  # an integer too long to write as text
            raise _unwritable(records, path, exc) from exc
    return buffer.getvalue()


def _unwritable(records: list[dict[str, Any]], path: Path, exc: Exception) -> SinkError:
    found = unwritable_error(records, path, sink="csv")
    return found or SinkError(f"cannot write to {path}: {exc}")


def _cell(value: Any) -> Any:
    """A cell as the csv source and ``grasp filter`` read it back: booleans as ``true`` and
    ``false``, numbers as JSON writes them, objects and arrays as JSON text; None, NaN and
    the infinities (which JSON writes as null) as an empty cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=json_default)
    if isinstance(value, bytes):
        return json_default(value)
    return value
