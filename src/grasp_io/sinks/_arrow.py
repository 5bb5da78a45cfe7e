"""The parquet sink's pyarrow calls: the one place where pyarrow errors are translated.

Media columns (``{"bytes", "path"}`` images and audio, see :mod:`grasp_io._media_columns`) are
stored as ``struct<bytes: binary, path: string>`` (a list of it for a column of lists) with
``huggingface`` schema metadata, in each part and in the merged file, so ``datasets`` reads
them back as ``Image``/``Audio`` (or ``Sequence`` of them).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from grasp_core.errors import SinkError
from grasp_io._fs import discard
from grasp_io._media_columns import (
    ColumnMedia,
    detect_media,
    hf_metadata,
    is_list,
    media_from_metadata,
    merge_media,
)
from grasp_io.sinks._unwritable import unwritable_error

__all__ = ["MEDIA_TYPE", "count_rows", "merge_parts", "split_merged", "write_part"]

_ARROW_ERRORS = (pa.ArrowException, OverflowError)
_BATCH_ROWS = 1024

MEDIA_TYPE = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
"""The Arrow type of an ``Image`` or ``Audio`` column in ``datasets``."""
MEDIA_LIST_TYPE = pa.list_(MEDIA_TYPE)
"""The Arrow type of a ``Sequence(Image())`` or ``Sequence(Audio())`` column."""


def write_part(
    records: Sequence[dict[str, Any]],
    path: Path,
    *,
    fsync: bool,
    media: Mapping[str, ColumnMedia] | None = None,
) -> None:
    """Write ``records`` to the part file ``path`` atomically (a temporary name, then a rename).

    Media columns are those of ``media`` plus any found in the records; they are typed
    and named in the part's schema metadata, where :func:`merge_parts` finds them.
    """
    table = _to_table(records, path)
    kinds = {**detect_media(records), **(media or {})}
    _write_table(_with_media(table, kinds, path), path, fsync=fsync)


def split_merged(merged: Path, parts: Sequence[tuple[Path, int]], *, fsync: bool) -> None:
    """Cut a finalized file back into the parts it was merged from, ``(path, rows)`` each.

    This reopens a finished output, for a resume that adds records. Rows stream through
    in batches; a file whose row count differs from the parts' total raises SinkError.
    """
    try:
        with pq.ParquetFile(merged) as parquet:
            total = sum(rows for _, rows in parts)
            if parquet.metadata.num_rows != total:
                raise SinkError(
                    f"{merged} holds {parquet.metadata.num_rows} rows, but the journal "
                    f"committed {total}; the output was modified by hand. restore it from "
                    "a copy to resume, or start the run afresh"
                )
            batches = parquet.iter_batches(batch_size=_BATCH_ROWS)
            left = pa.RecordBatch.from_pylist([], schema=parquet.schema_arrow)
            for path, rows in parts:
                chunks = []
                while rows:
                    if left.num_rows == 0:
                        left = next(batches)
                    chunks.append(left.slice(0, rows))
                    rows -= chunks[-1].num_rows
                    left = left.slice(chunks[-1].num_rows)
                table = pa.Table.from_batches(chunks, schema=parquet.schema_arrow)
                _write_table(table, path, fsync=fsync)
    except SinkError:
        raise
    except (*_ARROW_ERRORS, OSError) as exc:
        raise SinkError(f"cannot reopen the finished output {merged}: {exc}") from exc


def _write_table(table: Any, path: Path, *, fsync: bool) -> None:
    temporary = path.with_name(f"{path.name}.tmp")
    try:
        with temporary.open("wb") as out:
            pq.write_table(table, out)
            out.flush()
            if fsync:
                os.fsync(out.fileno())
        os.replace(temporary, path)
    except (*_ARROW_ERRORS, OSError) as exc:
        discard(temporary)
        raise SinkError(f"cannot write the parquet part {path}: {exc}") from exc


def count_rows(path: Path) -> int:
    """Return the number of rows in the parquet file ``path``, read from its footer."""
    try:
        return int(pq.read_metadata(path).num_rows)
    except (*_ARROW_ERRORS, OSError) as exc:
        raise SinkError(
            f"the committed parquet part {path} cannot be read ({exc}); it was modified "
            "or deleted by hand. restore it from a copy to resume, or start afresh"
        ) from exc


def merge_parts(
    parts: Sequence[Path],
    target: Path,
    *,
    fsync: bool,
    media: Mapping[str, ColumnMedia] | None = None,
) -> None:
    """Stream ``parts`` in order into ``target``, under the union of their schemas.

    A column that is all null in one part and typed in another takes the type; integers
    meeting floats become floats; structs gain each other's fields. Types that cannot
    meet (numbers and text) raise :class:`SinkError`. Media columns are those the parts
    name (when they agree on the kind) plus ``media``.
    """
    try:
        schemas = [pq.read_schema(part) for part in parts]
    except (*_ARROW_ERRORS, OSError) as exc:
        raise SinkError(f"cannot read the parquet parts in {parts[0].parent}: {exc}") from exc
    kinds = {**merge_media(media_from_metadata(s.metadata) for s in schemas), **(media or {})}
    try:
        schema = _media_schema(
            pa.unify_schemas([s.remove_metadata() for s in schemas], promote_options="permissive"),
            kinds,
        )
    except _ARROW_ERRORS as exc:
        raise SinkError(
            f"cannot merge the parquet parts in {parts[0].parent} into {target}: {exc}; "
            "a field holds different types in different records (for example numbers "
            "in some and text in others). give it one type, or use a jsonl sink"
        ) from exc
    temporary = target.with_name(f"{target.name}.tmp")
    try:
        with temporary.open("wb") as out:
            with pq.ParquetWriter(out, schema) as writer:
                for part in parts:
                    with pq.ParquetFile(part) as parquet:
                        writer.write_table(_conform(parquet.read(), schema))
            out.flush()
            if fsync:
                os.fsync(out.fileno())
        os.replace(temporary, target)
    except (*_ARROW_ERRORS, OSError) as exc:
        discard(temporary)
        raise SinkError(f"cannot merge the parquet parts into {target}: {exc}") from exc


def _media_schema(schema: Any, media: Mapping[str, ColumnMedia]) -> Any:
    """``schema`` with media columns typed as :data:`MEDIA_TYPE` and named in its metadata."""
    present = {column: kind for column, kind in media.items() if column in schema.names}
    if not present:
        return schema
    for column in present:
        index = schema.get_field_index(column)
        media_type = MEDIA_LIST_TYPE if is_list(present[column]) else MEDIA_TYPE
        schema = schema.set(index, pa.field(column, media_type))
    return schema.with_metadata(hf_metadata(present))


def _with_media(table: Any, media: Mapping[str, ColumnMedia], path: Path) -> Any:
    schema = _media_schema(table.schema, media)
    if schema is table.schema:
        return table
    try:
        return table.cast(schema)
    except _ARROW_ERRORS as exc:
        columns = sorted(c for c in media if c in table.column_names)
        raise SinkError(
            f"cannot store the media columns {columns!r} in the parquet part {path} ({exc}); "
            'a media value must be {"bytes": <bytes or null>, "path": <text or null>}; '
            "fix the values or drop the column from the sink's media option"
        ) from exc


def _to_table(records: Sequence[dict[str, Any]], path: Path) -> Any:
    """``records`` as a table with a column for every key of any record (in order of first
    appearance; absent values are null). Parquet cannot store a struct without fields: when
    a dict field is ``{}`` in every record of the batch, the batch's empty dicts are null."""
    try:
        table = _columns_table(records)
        if any(_has_empty_struct(field.type) for field in table.schema):
            table = _columns_table(
                [{key: _without_empty_dicts(value) for key, value in r.items()} for r in records]
            )
    except (*_ARROW_ERRORS, UnicodeEncodeError) as exc:  # lone surrogates: arrow needs UTF-8
        unwritable = unwritable_error(records, path, sink="parquet", int64=True)
        if unwritable is not None:
            raise unwritable from exc
        column = _column_at_fault(records)
        where = f"the field {column!r}" if column is not None else "a field"
        raise SinkError(
            f"cannot store a batch in the parquet part {path}: {where} does not fit one "
            f"type ({exc}); give each field one type in every record (for example always "
            "text), or use a jsonl sink"
        ) from exc
    if table.num_rows != len(records):
        raise SinkError(
            f"cannot store records with no fields in the parquet part {path}; "
            "give every record at least one field"
        )
    return table


def _columns_table(records: Sequence[dict[str, Any]]) -> Any:
    # from_pylist would take the columns from the first record alone and drop the others.
    names = dict.fromkeys(key for record in records for key in record)
    return pa.Table.from_pydict({name: [record.get(name) for record in records] for name in names})


def _has_empty_struct(data_type: Any) -> bool:
    if pa.types.is_struct(data_type):
        return data_type.num_fields == 0 or any(
            _has_empty_struct(data_type.field(i).type) for i in range(data_type.num_fields)
        )
    if pa.types.is_map(data_type):
        return _has_empty_struct(data_type.key_type) or _has_empty_struct(data_type.item_type)
    value_type = getattr(data_type, "value_type", None)  # list, large_list, fixed_size_list
    return value_type is not None and _has_empty_struct(value_type)


def _without_empty_dicts(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_empty_dicts(item) for key, item in value.items()} or None
    if isinstance(value, list | tuple):
        return [_without_empty_dicts(item) for item in value]
    return value


def _column_at_fault(records: Sequence[dict[str, Any]]) -> str | None:
    """Find the first field whose values pyarrow cannot put in one column."""
    fields = dict.fromkeys(key for record in records for key in record)
    for field in fields:
        try:
            pa.array([record.get(field) for record in records])
        except _ARROW_ERRORS:
            return field
    return None


def _conform(table: Any, schema: Any) -> Any:
    """Give ``table`` every column of ``schema``, in its order and types (nulls where absent)."""
    columns = [
        table.column(field.name)
        if field.name in table.column_names
        else pa.nulls(table.num_rows, field.type)
        for field in schema
    ]
    return pa.Table.from_arrays(columns, names=schema.names).cast(schema)
