"""The ``disk`` source: records from a JSONL, JSON, CSV or Parquet file."""

from __future__ import annotations

import codecs
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol

from pydantic import BaseModel, ConfigDict, field_validator

from grasp_core.errors import ConfigError, SourceError
from grasp_core.plugin import SourceItem
from grasp_io._fs import coerce_config, resolve_path
from grasp_io.sources._ids import IdDigests, id_digest
from grasp_io.sources._json import iter_json
from grasp_io.sources._jsonl import count_jsonl, iter_jsonl
from grasp_io.sources._raw import RawRecord
from grasp_io.sources._shard import newline_is_a_byte, read_shard

__all__ = ["DiskFormat", "DiskSource", "DiskSourceConfig", "infer_format"]

DiskFormat = Literal["jsonl", "json", "csv", "parquet"]

_SUFFIXES: dict[str, DiskFormat] = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_UNITS: dict[DiskFormat, str] = {"jsonl": "line", "csv": "line", "json": "item", "parquet": "row"}


class DiskSourceConfig(BaseModel):
    """``data_config.source`` for a file on disk."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["disk"]
    """Selects the disk source."""

    file_path: str
    """The data file. A relative path resolves against the folder of the task file."""

    file_format: DiskFormat | None = None
    """``jsonl``, ``json`` (one array of objects), ``csv`` or ``parquet``. By default it is
    inferred from the suffix: ``.jsonl``/``.ndjson``, ``.json``, ``.csv``, ``.parquet``/``.pq``."""

    id_column: str = "id"
    """The field holding each record's id. Records without it (or with an empty one) take
    their position in the file as id. Ids must be unique: resume tells records apart by id."""

    encoding: str = "utf-8"
    """Text encoding of JSONL, JSON and CSV files (a Python codec name). A UTF-8 byte order
    mark is skipped."""

    alias: str | None = None
    """This source's name when `source` is a list (see `join_type`)."""

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(
                f"unknown encoding {value!r}; use a python codec name such as 'utf-8' or 'latin-1'"
            ) from None
        return value


def infer_format(path: Path) -> DiskFormat:
    """Return the format that ``path``'s suffix names, or raise :class:`ConfigError`."""
    found = _SUFFIXES.get(path.suffix.lower())
    if found is None:
        raise ConfigError(
            f"cannot tell the format of {str(path)!r} from its suffix {path.suffix!r}; "
            "set file_format to one of 'jsonl', 'json', 'csv', 'parquet' "
            "(recognised suffixes: .jsonl, .ndjson, .json, .csv, .parquet, .pq)"
        )
    return found


class DiskSource:
    """Streams the records of one file, numbering them by position (blank lines excluded).

    ``iter_records`` never holds the whole file except for JSON arrays. A JSONL line that
    is not a JSON object, a CSV row of the wrong width and a repeated id each become a
    :class:`SourceItem` with ``error`` set, naming the file and line, so the run counts the
    record as failed instead of losing it. To spot repeated ids the source remembers every
    id it has yielded in the current iteration.
    """

    config_model: ClassVar[type[BaseModel]] = DiskSourceConfig

    def __init__(
        self,
        path: Path,
        file_format: DiskFormat | None = None,
        *,
        id_column: str = "id",
        encoding: str = "utf-8",
    ) -> None:
        self.path = path
        self.file_format: DiskFormat = file_format or infer_format(path)
        self.id_column = id_column
        self.encoding = encoding
        self.shard_of: tuple[int, int] | None = None
        """``(index, count)`` when this source reads one shard of the file."""

    @classmethod
    def from_config(cls, config: BaseModel, base_dir: Path) -> DiskSource:
        """Build the source from its config; raise :class:`SourceError` if the file is missing."""
        cfg = coerce_config(config, DiskSourceConfig)
        source = cls(
            resolve_path(cfg.file_path, base_dir),
            cfg.file_format,
            id_column=cfg.id_column,
            encoding=cfg.encoding,
        )
        try:
            present = source.path.is_file()
        except OSError as exc:  # ENAMETOOLONG and friends: is_file() lets them through
            raise SourceError(
                f"cannot use data file path {str(source.path)[:200]!r}: "
                f"{exc.strerror or exc}; check file_path"
            ) from None
        if not present:
            raise _missing(source.path)
        return source

    def __repr__(self) -> str:
        return f"DiskSource({str(self.path)!r}, {self.file_format!r})"

    def shard(self, index: int, count: int) -> DiskSource:
        """The records of shard ``index`` of ``count``, with the positions (and so the ids)
        of a full read; see :mod:`grasp_io.sources._shard` for how each format splits."""
        if not 0 <= index < count:
            raise ConfigError(f"shard index must be in 0..{count - 1}, got {index!r}")
        part = DiskSource(
            self.path, self.file_format, id_column=self.id_column, encoding=self.encoding
        )
        part.shard_of = (index, count)
        return part

    def count(self) -> int | None:
        """How many items :meth:`iter_records` yields, learned cheaply: the non-blank lines
        of a JSONL file (not parsed), the row count in a Parquet file's footer. None for CSV
        (a quoted cell may hold a line break), JSON arrays (parsed whole) and shards."""
        if self.shard_of is not None:
            return None
        if self.file_format == "jsonl" and newline_is_a_byte(self.encoding):
            return count_jsonl(self.path)
        if self.file_format == "parquet":
            from grasp_io.sources._parquet import parquet_rows

            return parquet_rows(self.path)
        return None

    def iter_records(self, start: int = 0, limit: int | None = None) -> Iterator[SourceItem]:
        """Yield records from position ``start`` (0-based), at most ``limit`` of them."""
        if start < 0 or (limit is not None and limit < 0):
            raise ConfigError(f"start and limit must be >= 0, got start={start!r}, limit={limit!r}")
        if limit == 0:
            return
        raws = self._positioned(start)
        end = None if limit is None else start + limit
        seen = IdDigests()
        try:
            for position, raw in raws:
                if end is not None and position >= end:
                    break
                yield self._to_item(raw, position, seen)
                if end is not None and position + 1 >= end:
                    break
        except SourceError:
            raise
        except FileNotFoundError as exc:
            raise _missing(self.path) from exc
        except UnicodeDecodeError as exc:
            raise SourceError(
                f"{self.path} is not {self.encoding!r} text ({exc.reason}); "
                "set encoding in the source config to the file's encoding"
            ) from exc
        except OSError as exc:
            raise SourceError(f"cannot read {self.path}: {exc.strerror or exc}") from exc
        finally:
            raws.close()

    def _positioned(self, start: int) -> Generator[tuple[int, RawRecord], None, None]:
        if self.shard_of is None:
            return _numbered(self._read(start), start)
        return read_shard(
            self.path,
            self.file_format,
            reader=self._reader(),
            encoding=self.encoding,
            reading_encoding=_reading_encoding(self.encoding),
            shard=self.shard_of,
            start=start,
        )

    def _read(self, skip: int) -> Generator[RawRecord, None, None]:
        return self._reader()(self.path, encoding=_reading_encoding(self.encoding), skip=skip)

    def _reader(self) -> _Reader:
        if self.file_format == "jsonl":
            reader: _Reader = iter_jsonl
        elif self.file_format == "csv":
            from grasp_io.sources._csv import iter_csv  # a JSON source's run never needs it

            reader = iter_csv
        elif self.file_format == "json":
            reader = iter_json
        else:
            # Imported on first use: pyarrow takes about 0.3 s to import.
            from grasp_io.sources._parquet import iter_parquet

            reader = iter_parquet
        return reader

    def _to_item(self, raw: RawRecord, position: int, seen: IdDigests) -> SourceItem:
        """A record, or an error item whose id (``<line 7>``) names where it is in the file,
        so it cannot shadow a real record's id on resume."""
        unit = _UNITS[self.file_format]
        bad_id = f"<{unit} {raw.number}>"
        if raw.data is None:
            return SourceItem(bad_id, {}, f"{self._locate(raw.number)}: {raw.problem}")
        record_id = _record_id(raw.data, self.id_column, position)
        if not seen.add(id_digest(record_id)):
            return SourceItem(
                bad_id,
                {},
                f"{self._locate(raw.number)}: duplicate id {record_id!r} (an earlier record "
                "has the same id); ids must be unique so resume can tell records apart",
            )
        return SourceItem(record_id, raw.data)

    def _locate(self, number: int) -> str:
        unit = _UNITS[self.file_format]
        return f"{self.path}:{number}" if unit == "line" else f"{self.path} {unit} {number}"


class _Reader(Protocol):
    def __call__(
        self, path: Path, *, encoding: str, skip: int
    ) -> Generator[RawRecord, None, None]: ...


def _numbered(
    raws: Generator[RawRecord, None, None], start: int
) -> Generator[tuple[int, RawRecord], None, None]:
    try:
        yield from enumerate(raws, start=start)
    finally:
        raws.close()


def _record_id(data: dict[str, Any], id_column: str, position: int) -> str:
    value = data.get(id_column)
    if value is None or value == "":
        return str(position)
    return str(value)


def _reading_encoding(encoding: str) -> str:
    """Read UTF-8 as ``utf-8-sig`` so that a byte order mark is not taken for data."""
    return "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding


def _missing(path: Path) -> SourceError:
    if path.is_dir():
        return SourceError(f"data file {str(path)!r} is a directory; point file_path at a file")
    return SourceError(
        f"data file {str(path)!r} does not exist; check file_path "
        "(relative paths resolve against the task folder)"
    )
