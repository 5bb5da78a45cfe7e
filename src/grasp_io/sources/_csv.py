"""Read CSV rows with :class:`csv.DictReader`; every value is a string."""

from __future__ import annotations

import csv
import sys
from collections import Counter
from collections.abc import Generator, Sequence
from pathlib import Path
from typing import Any

from grasp_core.errors import SourceError
from grasp_io.sources._raw import RawRecord, excerpt

__all__ = ["iter_csv"]

# The default limit (128 KiB per cell) is small for documents and model outputs. The
# setting is process-wide; raising it only makes reads succeed that used to fail.
_FIELD_SIZE_LIMIT = min(sys.maxsize, 2**31 - 1)


def iter_csv(path: Path, *, encoding: str, skip: int) -> Generator[RawRecord, None, None]:
    """Yield the rows of a CSV file (header first) after the first ``skip`` ones.

    A row is numbered by the line it ends on. A row with more or fewer fields than the
    header becomes a record with a problem. Malformed quoting (text after a closing quote,
    a quote left open at the end) raises :class:`SourceError` rather than being guessed at.
    """
    csv.field_size_limit(_FIELD_SIZE_LIMIT)
    with path.open(encoding=encoding, errors="surrogateescape", newline="") as text:
        reader = csv.DictReader(text, strict=True)
        try:
            header = reader.fieldnames or []
            _check_header(path, header)
            for index, row in enumerate(reader):
                if index < skip:
                    continue
                yield _check_row(row, reader.line_num, len(header), encoding)
        except csv.Error as exc:
            # DictReader.line_num moves only after a row parsed; the inner reader's is current.
            line = reader.reader.line_num
            raise SourceError(f"{path}:{line}: cannot parse csv: {exc}") from exc


def _check_header(path: Path, header: Sequence[str]) -> None:
    repeated = sorted(name for name, seen in Counter(header).items() if seen > 1)
    if repeated:
        raise SourceError(
            f"{path}:1: the csv header repeats the columns {repeated!r}; "
            "give every column a unique name"
        )


def _check_row(row: dict[Any, Any], number: int, width: int, encoding: str) -> RawRecord:
    extra = row.get(None)  # DictReader files surplus fields under the key None
    if isinstance(extra, list):
        found = width + len(extra)
        return RawRecord(number, None, f"expected {width} fields as in the header, found {found}")
    if None in row.values():
        found = sum(value is not None for value in row.values())
        return RawRecord(number, None, f"expected {width} fields as in the header, found {found}")
    for value in row.values():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # only lone surrogates fail: bytes the codec could not decode
            problem = f"bytes that are not {encoding!r} text: {excerpt(value)}"
            return RawRecord(number, None, problem)
    return RawRecord(number, row)
