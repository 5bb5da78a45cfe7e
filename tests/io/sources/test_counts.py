"""A source's optional ``count()``: what live progress shows as the total. It equals the
items ``iter_records()`` yields where the format tells cheaply, and is None (unknown),
never a wrong number, where it does not."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from grasp_io.sources import DiskSource, _jsonl
from tests.io.hf_helpers import make_repo, rows, save_media_dataset
from tests.io.sources.test_hf import open_source


def test_jsonl_counts_its_non_blank_lines_bad_ones_included(tmp_path: Path) -> None:
    """Blank lines are not records; a line that is not JSON, and a repeated id, are items
    (counted as failed), so they are counted; a byte order mark and a last line without a
    newline change nothing."""
    path = tmp_path / "data.jsonl"
    lines = ['{"id": 1}', "", "   ", '{"id": 2}', "not json", '{"id": 1}', '{"id": 3}']
    path.write_bytes(b"\xef\xbb\xbf" + "\n".join(lines).encode())
    source = DiskSource(path)
    assert source.count() == 5 == len(list(source.iter_records()))


def test_parquet_counts_from_its_footer(tmp_path: Path) -> None:
    path = tmp_path / "data.parquet"
    pq.write_table(pa.Table.from_pylist([{"q": i} for i in range(7)]), path, row_group_size=3)
    source = DiskSource(path)
    assert source.count() == 7 == len(list(source.iter_records()))


@pytest.mark.parametrize("name", ["data.csv", "data.json"])
def test_csv_and_json_arrays_are_not_counted(tmp_path: Path, name: str) -> None:
    """A CSV cell may hold a line break and a JSON array is parsed whole: unknown."""
    path = tmp_path / name
    path.write_text("q\n1\n" if name.endswith(".csv") else json.dumps([{"q": 1}]))
    assert DiskSource(path).count() is None


def test_a_utf16_jsonl_is_not_counted(tmp_path: Path) -> None:
    """Where a newline is not one byte, counting lines is not cheap: unknown."""
    path = tmp_path / "data.jsonl"
    path.write_text('{"id": 1}\n{"id": 2}\n', encoding="utf-16")
    assert DiskSource(path, encoding="utf-16").count() is None


def test_hf_counts_the_rows_of_its_splits_and_of_each_shard(tmp_path: Path) -> None:
    """A memory-mapped dataset's ``num_rows``, over several splits and for each shard,
    equals the rows read."""
    make_repo(tmp_path / "repo", {"train": rows("a", 5), "test": rows("b", 2)})
    source = open_source(tmp_path, "repo", split=["test", "train"])
    assert source.count() == 7 == len(list(source.iter_records()))
    for index in range(3):
        shard = source.shard(index, 3)
        assert shard.count() == len(list(shard.iter_records()))


def test_hf_streaming_counts_only_the_sizes_it_declares(tmp_path: Path) -> None:
    """A streamed dataset is counted from the split sizes its metadata declares; without
    them (files read as they stream) it is unknown, never 0 or a guess."""
    make_repo(tmp_path / "repo", {"train": rows("a", 5)})
    save_media_dataset(tmp_path / "saved", 2)
    for repo in ("repo", "saved"):
        source = open_source(tmp_path, repo, streaming=True)
        for part in (source, source.shard(1, 2)):
            assert part.count() in (None, len(list(part.iter_records())))
    assert open_source(tmp_path, "saved", streaming=True).count() is None


@pytest.mark.parametrize("chunk", [1, 3, 1 << 20])
def test_jsonl_count_matches_the_reader_on_any_layout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    """Counted a chunk at a time, the count equals the records read, whatever the line
    ends (\\n, \\r\\n), blank and whitespace-only lines, a byte order mark, and chunk
    borders falling anywhere."""
    monkeypatch.setattr(_jsonl, "_CHUNK", chunk)
    rng = random.Random(chunk)
    path = tmp_path / "data.jsonl"
    pieces = ['{"a": 1}', "", " ", "\t", "\r", "  {}  ", '{"b": "y z"}', "x"]
    for _ in range(150):
        parts = [rng.choice(pieces) for _ in range(rng.randint(0, 10))]
        end = rng.choice(["\n", "\r\n"])
        text = end.join(parts) + rng.choice(["", end])
        path.write_bytes(rng.choice([b"", b"\xef\xbb\xbf"]) + text.encode())
        assert _jsonl.count_jsonl(path) == len(list(DiskSource(path).iter_records())), text
