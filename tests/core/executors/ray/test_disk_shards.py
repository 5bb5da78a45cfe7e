"""Disk sources split into shards: together the shards read exactly what one full read does."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from grasp_core.protocols import SourceItem
from grasp_io.sources import DiskSource
from grasp_io.sources._jsonl import line_starts

JSONL = (
    '\ufeff{"id": "a", "x": 1}\n'
    "\n"
    '{"x": 2}\n'
    "   \n"
    "not json\n"
    '{"id": "b", "x": 3}\n'
    "[1, 2]\n"
    '{"x": "\u00e9t\u00e9"}\r\n'
    "\x1c\n"
    + "".join(json.dumps({"x": i}) + "\n" for i in range(4, 40))
    + '{"x": "last, no newline"}'
)


def full_and_sharded(
    source: DiskSource, count: int, start: int = 0, limit: int | None = None
) -> tuple[list[SourceItem], list[list[SourceItem]]]:
    full = list(source.iter_records(start=start, limit=limit))
    parts = [
        list(source.shard(i, count).iter_records(start=start, limit=limit)) for i in range(count)
    ]
    return full, parts


def key(item: SourceItem) -> tuple[str, str, str | None]:
    return item.record_id, json.dumps(item.data, sort_keys=True), item.error


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    jsonl = tmp_path / "data.jsonl"
    jsonl.write_bytes(JSONL.encode("utf-8"))
    csv = tmp_path / "data.csv"
    csv.write_text(
        'id,text\nr1,"two\nlines"\n,plain\nr3,x\nr4,"a,b"\nr5,z\nr6,"x""y"\n', encoding="utf-8"
    )
    array = tmp_path / "data.json"
    array.write_text(json.dumps([{"x": i} for i in range(11)]), encoding="utf-8")
    parquet = tmp_path / "data.parquet"
    pq.write_table(pa.table({"x": list(range(23))}), parquet, row_group_size=5)
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes("".join(f'{{"t": "caf\u00e9 {i}"}}\n' for i in range(9)).encode("latin-1"))
    utf16 = tmp_path / "utf16.jsonl"
    utf16.write_bytes("".join(f'{{"t": {i}}}\n' for i in range(7)).encode("utf-16"))
    return {
        "jsonl": jsonl,
        "csv": csv,
        "json": array,
        "parquet": parquet,
        "latin": latin,
        "utf16": utf16,
    }


@pytest.mark.parametrize("name", ["jsonl", "csv", "json", "parquet", "latin", "utf16"])
@pytest.mark.parametrize("count", [1, 2, 3, 7, 64])
def test_shards_partition_a_full_read(files: dict[str, Path], name: str, count: int) -> None:
    """Every record (and every bad-line error) is in exactly one shard, with the same id."""
    encoding = {"latin": "latin-1", "utf16": "utf-16"}.get(name, "utf-8")
    source = DiskSource(
        files[name], "jsonl" if name in {"latin", "utf16"} else None, encoding=encoding
    )
    full, parts = full_and_sharded(source, count)
    assert len(full) > 5
    merged = sorted(key(i) for part in parts for i in part)
    assert merged == sorted(key(i) for i in full)


@pytest.mark.parametrize("name", ["jsonl", "csv", "parquet"])
@pytest.mark.parametrize(("start", "limit"), [(0, 5), (3, None), (4, 9), (30, 100), (2, 0)])
def test_start_and_limit_apply_to_the_whole_input(
    files: dict[str, Path], name: str, start: int, limit: int | None
) -> None:
    """`start`/`limit` select the same records from the shards as from a full read."""
    full, parts = full_and_sharded(DiskSource(files[name]), 3, start, limit)
    assert sorted(key(i) for part in parts for i in part) == sorted(key(i) for i in full)


def test_jsonl_shards_are_byte_ranges_at_line_starts(files: dict[str, Path]) -> None:
    """JSONL splits into contiguous byte ranges that each begin at a line start."""
    data = files["jsonl"].read_bytes()
    offsets = line_starts(files["jsonl"], 4)
    assert offsets[0] == 0
    assert offsets[-1] == len(data)
    assert offsets == sorted(offsets)
    assert all(o == 0 or data[o - 1 : o] == b"\n" for o in offsets[:-1])


def test_a_shard_index_out_of_range_is_a_config_error(files: dict[str, Path]) -> None:
    """Asking for shard 3 of 3 names the valid range."""
    with pytest.raises(ValueError, match=r"0\.\.2"):
        DiskSource(files["jsonl"]).shard(3, 3)
