"""``OutputTable``: a finished output as a table a UI can page, sort and filter quickly
whatever its size (GraSP Studio's output view; any script may use it).

Paging reads only the rows of the page (:mod:`grasp_core.runs.row_stores`). Sorting by a
column and filtering with ``grasp filter`` conditions read the whole output once; the order
and the matching row numbers are then kept (numpy arrays: 8 bytes a row), so the next pages
are as fast as the first. Tables are kept per file while its size and time are unchanged: a
file that changes (a run still writing) is read afresh.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from grasp_core.engine.output import MISSING
from grasp_core.runs.annotations import ANNOTATION_FIELD, annotated_records, read_annotations
from grasp_core.runs.filtering import Condition, parse_condition
from grasp_core.runs.record_fields import find
from grasp_core.runs.row_stores import RowStore, open_rows

__all__ = ["OutputTable", "TablePage"]

_Rows = np.ndarray[Any, np.dtype[np.int64]]
_TABLES: OrderedDict[tuple[str, int, int], OutputTable] = OrderedDict()
_TABLES_LOCK = threading.Lock()
_KEEP_TABLES = 8


@dataclass(frozen=True)
class TablePage:
    """One page of an output table."""

    offset: int
    rows: list[dict[str, Any]]
    """``{"row": n, "record": {...}}``: each record with its position in the file."""
    total: int | None
    """Rows in the (filtered) table; ``None`` while a large JSONL file's lines are still
    uncounted (:meth:`OutputTable.count` counts them)."""
    columns: list[str]
    """The top-level fields of the page's records, in first-seen order."""

    def to_json(self) -> dict[str, Any]:
        return {
            "offset": self.offset,
            "rows": self.rows,
            "total": self.total,
            "columns": self.columns,
        }


class OutputTable:
    """The rows of one output file (JSONL, JSON, CSV, Parquet) or ``hf`` dataset folder."""

    def __init__(self, path: Path, output_format: str | None = None) -> None:
        self.path = path
        self.store: RowStore = open_rows(path, output_format)
        self._orders: dict[tuple[str, bool], _Rows] = {}
        self._selections: dict[tuple[Any, ...], _Rows] = {}
        self._ids: dict[str, int] | None = None
        self._lock = threading.Lock()

    @classmethod
    def open(cls, path: Path | str, output_format: str | None = None) -> OutputTable:
        """The table of ``path``, reusing the one already opened while the file is unchanged
        (its index, sort orders and filter results with it)."""
        resolved = Path(path).resolve()
        stat = resolved.stat()
        key = (str(resolved), stat.st_mtime_ns, stat.st_size)
        with _TABLES_LOCK:
            table = _TABLES.get(key)
            if table is not None:
                _TABLES.move_to_end(key)
                return table
        table = cls(resolved, output_format)
        with _TABLES_LOCK:
            _TABLES[key] = table
            while len(_TABLES) > _KEEP_TABLES:
                _TABLES.popitem(last=False)
        return table

    def count(self, where: Sequence[str] = (), *, reviews: Path | None = None) -> int:
        """Rows in the table, or those meeting every condition of ``where``."""
        if where:
            return len(self._selection(tuple(where), reviews))
        return self.store.count()

    def page(
        self,
        offset: int = 0,
        limit: int = 50,
        *,
        sort: str | None = None,
        descending: bool = False,
        where: Sequence[str] = (),
        reviews: Path | None = None,
    ) -> TablePage:
        """Rows ``offset`` to ``offset + limit`` of the table sorted by the dotted path
        ``sort`` (records without it last) and filtered by ``where`` (``grasp filter``
        conditions: ``quality.overall >= 4``; a bad one raises ``FilterSyntaxError``).
        With ``reviews`` (an annotations file), conditions on ``annotation.*`` see each
        record's review, as ``grasp filter`` does."""
        offset, limit = max(0, offset), max(0, limit)
        conditions = tuple(where)
        if sort is None and not conditions:
            known = self.store.known_rows()
            stop = offset + limit if known is None else min(offset + limit, known)
            numbers = list(range(offset, stop))
            if known is None:
                records = self._rows_while_indexing(numbers)
                numbers = numbers[: len(records)]
            else:
                records = self.store.rows(numbers)
            total = self.store.known_rows()
        else:
            chosen = self._chosen(sort, descending, conditions, reviews)
            numbers = [int(n) for n in chosen[offset : offset + limit]]
            records = self.store.rows(numbers)
            total = len(chosen)
        rows = [{"row": n, "record": r} for n, r in zip(numbers, records, strict=True)]
        return TablePage(offset, rows, total, _columns(records))

    def record(self, row: int) -> dict[str, Any]:
        """The record at position ``row`` (``IndexError`` past the end)."""
        if row < 0:
            raise IndexError(row)
        found = self.store.rows([row])
        return found[0]

    def row_of(self, record_id: str, id_column: str = "id") -> int | None:
        """The position of the record whose ``id_column`` is ``record_id`` (the first one);
        the first call reads the whole output once."""
        with self._lock:
            if self._ids is None:
                column = getattr(self.store, "arrow_column", None)
                values: pa.ChunkedArray | None = column(id_column) if column else None
                found = (
                    values.to_pylist()
                    if values is not None
                    else (record.get(id_column) for record in self.store.iter_rows())
                )
                ids: dict[str, int] = {}
                for number, value in enumerate(found):
                    if value is not None:
                        ids.setdefault(str(value), number)
                self._ids = ids
        return self._ids.get(record_id)

    def _rows_while_indexing(self, numbers: list[int]) -> list[dict[str, Any]]:
        """Rows of a JSONL file being indexed: a page past its end comes back short."""
        try:
            return self.store.rows(numbers)
        except IndexError:
            total = self.store.count()
            return self.store.rows([n for n in numbers if n < total])

    def _chosen(
        self,
        sort: str | None,
        descending: bool,
        conditions: tuple[str, ...],
        reviews: Path | None,
    ) -> _Rows:
        """Row numbers in display order: sorted, then only those meeting the conditions."""
        if sort is None:
            return self._selection(conditions, reviews)
        order = self._order(sort, descending)
        if not conditions:
            return order
        mask = np.zeros(self.store.count(), dtype=bool)
        mask[self._selection(conditions, reviews)] = True
        return order[mask[order]]

    def _selection(self, conditions: tuple[str, ...], reviews: Path | None = None) -> _Rows:
        parsed = [parse_condition(text) for text in conditions]
        reads_reviews = any(c.path.split(".")[0] == ANNOTATION_FIELD for c in parsed)
        found = reviews if reads_reviews and reviews is not None and reviews.is_file() else None
        key: tuple[Any, ...] = (conditions, _stamp(found) if found is not None else None)
        with self._lock:
            cached = self._selections.get(key)
            if cached is None:
                rows: Iterable[Mapping[str, Any]] = self.store.iter_rows()
                if found is not None:
                    rows = annotated_records(rows, read_annotations(found))
                cached = np.fromiter(_matching(rows, parsed), dtype=np.int64)
                self._selections[key] = cached
            return cached

    def _order(self, sort: str, descending: bool) -> _Rows:
        with self._lock:
            cached = self._orders.get((sort, descending))
            if cached is None:
                cached = _arrow_order(self.store, sort, descending)
                if cached is None:
                    cached = _python_order(self.store, sort, descending)
                self._orders[(sort, descending)] = cached
            return cached


def _matching(rows: Iterable[Mapping[str, Any]], conditions: list[Condition]) -> Any:
    for number, record in enumerate(rows):
        if all(condition.holds(record) for condition in conditions):
            yield number


def _arrow_order(store: RowStore, sort: str, descending: bool) -> _Rows | None:
    """The order from the Arrow column at ``sort`` (Parquet, ``hf``, and JSONL whose
    values fit one Arrow type), without building a Python value per row; ``None`` when
    the store has no such column (the Python order then applies: the same order, slower)."""
    column = getattr(store, "arrow_column", None)
    values: pa.ChunkedArray | None = column(sort) if column is not None else None
    if values is None:
        return None
    order = "descending" if descending else "ascending"
    table = pa.table({"v": values})
    indices = pc.sort_indices(table, sort_keys=[("v", order, "at_end")])
    return np.asarray(indices.to_numpy(zero_copy_only=False), dtype=np.int64)


def _python_order(store: RowStore, sort: str, descending: bool) -> _Rows:
    """Numbers before text before anything else (compared as JSON text); records without
    ``sort`` last whichever the direction."""
    present: list[tuple[int, Any, int]] = []
    absent: list[int] = []
    for number, record in enumerate(store.iter_rows()):
        value = find(record, sort)
        if value is MISSING or value is None:
            absent.append(number)
        elif isinstance(value, bool):
            present.append((0, int(value), number))
        elif isinstance(value, int | float):
            present.append((0, value, number))
        elif isinstance(value, str):
            present.append((1, value, number))
        else:
            present.append((2, json.dumps(value, sort_keys=True), number))
    present.sort(key=lambda entry: (entry[0], entry[1]), reverse=descending)
    numbers = [entry[2] for entry in present] + absent
    return np.asarray(numbers, dtype=np.int64)


def _columns(records: list[dict[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for record in records:
        seen.update(dict.fromkeys(record))
    return list(seen)


def _stamp(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return (stat.st_mtime_ns, stat.st_size)
