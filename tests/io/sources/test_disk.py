"""The disk source: JSONL, JSON, CSV and Parquet files streamed as SourceItems."""

from __future__ import annotations

import csv
import json
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pydantic import ValidationError

from grasp_core.errors import ConfigError, SourceError
from grasp_core.protocols import Source, SourceItem
from grasp_io import DiskFormat, DiskSource, DiskSourceConfig, infer_format

FORMATS: list[DiskFormat] = ["jsonl", "json", "csv", "parquet"]


def write_file(path: Path, file_format: DiskFormat, records: list[dict[str, Any]]) -> Path:
    """Write ``records`` in ``file_format`` with the standard library or pyarrow."""
    if file_format == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    elif file_format == "json":
        path.write_text(json.dumps(records), encoding="utf-8")
    elif file_format == "csv":
        with path.open("w", encoding="utf-8", newline="") as out:
            writer = csv.DictWriter(out, fieldnames=list(records[0]))
            writer.writeheader()
            writer.writerows(records)
    else:
        pq.write_table(pa.Table.from_pylist(records), path, row_group_size=4)
    return path


def numbered(count: int) -> list[dict[str, Any]]:
    return [{"id": f"r{i}", "text": f"text {i}"} for i in range(count)]


def source_for(
    tmp_path: Path, file_format: DiskFormat, records: list[dict[str, Any]]
) -> DiskSource:
    path = write_file(tmp_path / f"data.{file_format}", file_format, records)
    return DiskSource(path)


def ids(items: list[SourceItem]) -> list[str]:
    return [item.record_id for item in items]


@pytest.mark.parametrize("file_format", FORMATS)
def test_each_format_yields_every_record_in_order(tmp_path: Path, file_format: DiskFormat) -> None:
    """Every format yields its records in file order, with ids from the id column."""
    items = list(source_for(tmp_path, file_format, numbered(10)).iter_records())
    assert ids(items) == [f"r{i}" for i in range(10)]
    assert items[3].data == {"id": "r3", "text": "text 3"}
    assert all(item.error is None for item in items)


@pytest.mark.parametrize("file_format", FORMATS)
@pytest.mark.parametrize(
    ("start", "limit", "expected"),
    [(0, None, range(10)), (3, None, range(3, 10)), (3, 4, range(3, 7)), (8, 5, range(8, 10))],
)
def test_start_skips_positions_and_limit_caps_the_count(
    tmp_path: Path, file_format: DiskFormat, start: int, limit: int | None, expected: range
) -> None:
    """``start`` skips that many positions and ``limit`` caps how many records are yielded."""
    source = source_for(tmp_path, file_format, numbered(10))
    assert ids(list(source.iter_records(start, limit))) == [f"r{i}" for i in expected]


@pytest.mark.parametrize("file_format", FORMATS)
def test_start_past_the_end_or_limit_zero_yields_nothing(
    tmp_path: Path, file_format: DiskFormat
) -> None:
    """A start beyond the last record, or a limit of 0, yields no records."""
    source = source_for(tmp_path, file_format, numbered(5))
    assert list(source.iter_records(start=5)) == []
    assert list(source.iter_records(start=50)) == []
    assert list(source.iter_records(limit=0)) == []


def test_negative_start_or_limit_is_a_config_error(tmp_path: Path) -> None:
    """Negative start or limit values are rejected."""
    source = source_for(tmp_path, "jsonl", numbered(2))
    with pytest.raises(ConfigError, match="start=-1"):
        list(source.iter_records(start=-1))
    with pytest.raises(ConfigError, match="limit=-2"):
        list(source.iter_records(limit=-2))


@pytest.mark.parametrize("file_format", FORMATS)
def test_records_without_an_id_take_their_position(tmp_path: Path, file_format: DiskFormat) -> None:
    """Without an id field, a record's id is its 0-based position, also after ``start``."""
    records = [{"text": f"t{i}"} for i in range(6)]
    source = source_for(tmp_path, file_format, records)
    assert ids(list(source.iter_records(start=2, limit=3))) == ["2", "3", "4"]


def test_id_column_selects_the_id_field_and_empty_ids_fall_back(tmp_path: Path) -> None:
    """``id_column`` names the id field; a null or empty value falls back to the position."""
    path = write_file(
        tmp_path / "d.jsonl",
        "jsonl",
        [{"key": 7}, {"key": None}, {"key": ""}, {"key": "x"}],
    )
    assert ids(list(DiskSource(path, id_column="key").iter_records())) == ["7", "1", "2", "x"]


def test_blank_jsonl_lines_are_skipped_and_do_not_count(tmp_path: Path) -> None:
    """Blank lines are not records and do not take a position."""
    path = tmp_path / "d.jsonl"
    path.write_text('\n{"a": 0}\n   \n\n{"a": 1}\n{"a": 2}', encoding="utf-8")
    items = list(DiskSource(path).iter_records(start=1))
    assert [(item.record_id, item.data) for item in items] == [("1", {"a": 1}), ("2", {"a": 2})]


def test_bad_jsonl_lines_become_error_items_with_file_and_line(tmp_path: Path) -> None:
    """Invalid JSON and non-object lines yield error items naming file:line, in position;
    their ids name the line, so they cannot shadow a real record's id."""
    path = tmp_path / "d.jsonl"
    path.write_text('{"a": 1}\n\n{"a": \n[1, 2]\n"text"\n{"a": 2}\n', encoding="utf-8")
    items = list(DiskSource(path).iter_records())
    assert ids(items) == ["0", "<line 3>", "<line 4>", "<line 5>", "4"]
    assert [item.data for item in items] == [{"a": 1}, {}, {}, {}, {"a": 2}]
    assert items[1].error is not None
    assert items[1].error.startswith(f"{path}:3: not valid json")
    assert "'{\"a\":'" in items[1].error
    assert items[2].error == f"{path}:4: expected a json object, got an array: '[1, 2]'"
    assert items[3].error == f"{path}:5: expected a json object, got a string: '\"text\"'"


def test_long_bad_lines_are_shortened_in_the_error(tmp_path: Path) -> None:
    """The excerpt of a bad line is cut to a short prefix."""
    path = tmp_path / "d.jsonl"
    path.write_text("x" * 5000 + "\n", encoding="utf-8")
    (item,) = DiskSource(path).iter_records()
    assert item.error is not None
    assert len(item.error) < len(str(path)) + 120


def test_undecodable_jsonl_bytes_spoil_only_their_line(tmp_path: Path) -> None:
    """Bytes that are not valid in the encoding make an error item; later lines still read."""
    path = tmp_path / "d.jsonl"
    path.write_bytes(b'{"a": "\xff\xfe"}\n{"a": "ok"}\n')
    first, second = DiskSource(path).iter_records()
    assert first.error is not None
    assert first.error.startswith(f"{path}:1: bytes that are not")
    assert second == SourceItem("1", {"a": "ok"})


def test_duplicate_id_becomes_an_error_item_naming_the_first_line(tmp_path: Path) -> None:
    """A repeated id yields an error item naming its line; the first record stands."""
    path = write_file(tmp_path / "d.jsonl", "jsonl", [{"id": "x"}, {"id": "y"}, {"id": "x"}])
    items = list(DiskSource(path).iter_records())
    assert items[0] == SourceItem("x", {"id": "x"})
    assert items[2] == SourceItem(
        "<line 3>",
        {},
        f"{path}:3: duplicate id 'x' (an earlier record has the same id); "
        "ids must be unique so resume can tell records apart",
    )


def test_duplicate_id_in_parquet_names_the_rows(tmp_path: Path) -> None:
    """In Parquet, a duplicate is located by 0-based row."""
    path = write_file(tmp_path / "d.parquet", "parquet", [{"id": 1}, {"id": 2}, {"id": 1}])
    items = list(DiskSource(path).iter_records())
    assert items[2].error is not None
    assert items[2].error.startswith(f"{path} row 2: duplicate id '1' (an earlier record")


def test_parquet_start_and_limit_cross_row_groups_and_batches(tmp_path: Path) -> None:
    """Skipping and capping work across row-group and 1024-row batch boundaries."""
    path = tmp_path / "big.parquet"
    pq.write_table(pa.table({"n": list(range(3000))}), path, row_group_size=700)
    items = list(DiskSource(path).iter_records(start=1500, limit=1100))
    assert [item.data["n"] for item in items] == list(range(1500, 2600))
    assert ids(items) == [str(n) for n in range(1500, 2600)]


def test_csv_values_are_strings_and_bom_is_skipped(tmp_path: Path) -> None:
    """CSV cells come as strings; a UTF-8 byte order mark does not leak into the header."""
    path = tmp_path / "d.csv"
    path.write_bytes('\ufeffid,n,note\r\n1,2,"two\nlines"\r\n'.encode())
    (item,) = DiskSource(path).iter_records()
    assert item == SourceItem("1", {"id": "1", "n": "2", "note": "two\nlines"})


def test_csv_rows_of_the_wrong_width_become_error_items(tmp_path: Path) -> None:
    """A row with more or fewer fields than the header yields an error item naming its line."""
    path = tmp_path / "d.csv"
    path.write_text("a,b\n1,2\n1,2,3\n1\n3,4\n", encoding="utf-8")
    items = list(DiskSource(path).iter_records())
    assert [item.error for item in items] == [
        None,
        f"{path}:3: expected 2 fields as in the header, found 3",
        f"{path}:4: expected 2 fields as in the header, found 1",
        None,
    ]


def test_csv_repeated_header_is_a_source_error(tmp_path: Path) -> None:
    """A header naming a column twice is a SourceError that names the column."""
    path = tmp_path / "d.csv"
    path.write_text("a,b,a\n1,2,3\n", encoding="utf-8")
    with pytest.raises(SourceError, match=r"repeats the columns \['a'\]"):
        list(DiskSource(path).iter_records())


def test_csv_reads_no_further_than_the_limit(tmp_path: Path) -> None:
    """Reading streams: a broken line after the limit is never reached."""
    path = tmp_path / "d.csv"
    path.write_text('a\n1\n2\n"unterminated\n', encoding="utf-8")
    assert ids(list(DiskSource(path).iter_records(limit=2))) == ["0", "1"]
    with pytest.raises(SourceError, match=r"d\.csv:\d+: cannot parse csv"):
        list(DiskSource(path).iter_records())


def test_encoding_option_decodes_the_file(tmp_path: Path) -> None:
    """``encoding`` decodes text formats in the named codec."""
    path = tmp_path / "d.csv"
    path.write_bytes("name\ncafé\n".encode("latin-1"))
    (item,) = DiskSource(path, encoding="latin-1").iter_records()
    assert item.data == {"name": "café"}


def test_text_in_the_wrong_encoding_is_a_source_error_with_a_hint(tmp_path: Path) -> None:
    """A CSV or JSON file that does not decode names the encoding and how to set it."""
    path = tmp_path / "d.json"
    path.write_bytes('[{"name": "café"}]'.encode("latin-1"))
    with pytest.raises(SourceError, match=r"is not 'utf-8' text.*set encoding"):
        list(DiskSource(path).iter_records())


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"a": 1}', "holds an object, expected an array of objects"),
        ('[{"a": 1}, 3]', "item 1 of the array is a number, expected an object"),
        ('[{"a": 1},\n oops]', r"d\.json:2: not valid json"),
    ],
)
def test_json_that_is_not_an_array_of_objects_is_a_source_error(
    tmp_path: Path, content: str, message: str
) -> None:
    """A JSON file must hold one array of objects; anything else names the file."""
    path = tmp_path / "d.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SourceError, match=message) as caught:
        list(DiskSource(path).iter_records())
    assert str(path) in str(caught.value)


def test_corrupt_parquet_is_a_source_error(tmp_path: Path) -> None:
    """A file that is not Parquet raises SourceError naming it."""
    path = tmp_path / "d.parquet"
    path.write_bytes(b"not parquet at all")
    with pytest.raises(SourceError, match="cannot read parquet") as caught:
        list(DiskSource(path).iter_records())
    assert str(path) in str(caught.value)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.jsonl", "jsonl"),
        ("a.NDJSON", "jsonl"),
        ("a.json", "json"),
        ("a.csv", "csv"),
        ("a.parquet", "parquet"),
        ("a.pq", "parquet"),
    ],
)
def test_format_is_inferred_from_the_suffix(name: str, expected: DiskFormat) -> None:
    """Known suffixes name their format, whatever their case."""
    assert infer_format(Path(name)) == expected


def test_unknown_suffix_is_a_config_error_naming_path_and_formats(tmp_path: Path) -> None:
    """An unrecognised suffix without file_format names the path and the accepted formats."""
    config = DiskSourceConfig(type="disk", file_path="data.txt")
    with pytest.raises(ConfigError, match=r"data\.txt.*'jsonl', 'json', 'csv', 'parquet'"):
        DiskSource.from_config(config, tmp_path)


def test_file_format_overrides_the_suffix(tmp_path: Path) -> None:
    """An explicit file_format reads files whose suffix says nothing."""
    write_file(tmp_path / "data.txt", "jsonl", numbered(2))
    config = DiskSourceConfig(type="disk", file_path="data.txt", file_format="jsonl")
    assert ids(list(DiskSource.from_config(config, tmp_path).iter_records())) == ["r0", "r1"]


def test_relative_paths_resolve_against_the_task_folder(tmp_path: Path) -> None:
    """A relative file_path is read from base_dir, not from the working directory."""
    (tmp_path / "data").mkdir()
    write_file(tmp_path / "data" / "in.jsonl", "jsonl", numbered(1))
    config = DiskSourceConfig(type="disk", file_path="data/in.jsonl")
    source = DiskSource.from_config(config, tmp_path)
    assert source.path == tmp_path / "data" / "in.jsonl"
    assert isinstance(source, Source)


def test_missing_file_is_a_source_error_naming_the_resolved_path(tmp_path: Path) -> None:
    """A missing file names its resolved path and how relative paths resolve."""
    config = DiskSourceConfig(type="disk", file_path="nope.jsonl")
    with pytest.raises(SourceError, match="relative paths resolve against the task folder") as e:
        DiskSource.from_config(config, tmp_path)
    assert str(tmp_path / "nope.jsonl") in str(e.value)


def test_file_removed_after_opening_is_a_source_error(tmp_path: Path) -> None:
    """A file that disappears before reading raises SourceError, not FileNotFoundError."""
    source = source_for(tmp_path, "jsonl", numbered(1))
    source.path.unlink()
    with pytest.raises(SourceError, match="does not exist"):
        list(source.iter_records())


def test_config_rejects_unknown_keys_and_encodings() -> None:
    """The config forbids unknown keys and unknown codecs."""
    with pytest.raises(ValidationError, match="extra"):
        DiskSourceConfig.model_validate({"type": "disk", "file_path": "a", "path": "b"})
    with pytest.raises(ValidationError, match="unknown encoding 'klingon'"):
        DiskSourceConfig(type="disk", file_path="a", encoding="klingon")


def test_disk_entry_point_resolves_to_the_disk_source() -> None:
    """The ``disk`` entry point loads DiskSource with its config model."""
    (entry,) = entry_points(group="grasp.sources", name="disk")
    loaded = entry.load()
    assert loaded is DiskSource
    assert loaded.config_model is DiskSourceConfig
