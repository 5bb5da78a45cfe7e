"""Every sink writes what GraSP's own sources read back, and `grasp filter` selects the same
records from every format: text, numbers, booleans, nulls, lists and objects (CSV keeps
them as text that the filter reads as JSON; see docs/reference/data.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from grasp_core.cli import main
from grasp_core.protocols import Sink
from grasp_io import CsvSink, JsonArraySink, JsonlSink, ParquetSink
from grasp_io.sinks import HfSink
from grasp_io.sources import DiskSource
from grasp_io.sources.hf import HfSource, HfSourceConfig

RECORDS: list[dict[str, Any]] = [
    {
        "id": "r1",
        "text": 'héllo, "world"\nsecond line',
        "n": 3,
        "x": 0.5,
        "ok": False,
        "none": None,
        "tags": ["a", "b"],
        "meta": {"k": 1, "flag": True},
    },
    {
        "id": "r2",
        "text": "✓ true",
        "n": 10,
        "x": -2.25,
        "ok": True,
        "none": None,
        "tags": [],
        "meta": {"k": 2, "flag": False},
    },
    {
        "id": "r3",
        "text": "",
        "n": -7,
        "x": 1e16,
        "ok": False,
        "none": None,
        "tags": ["c"],
        "meta": {"k": 3, "flag": False},
    },
]

CSV_TEXT: list[dict[str, str]] = [
    {
        "id": "r1",
        "text": 'héllo, "world"\nsecond line',
        "n": "3",
        "x": "0.5",
        "ok": "false",
        "none": "",
        "tags": '["a","b"]',
        "meta": '{"k":1,"flag":true}',
    },
    {
        "id": "r2",
        "text": "✓ true",
        "n": "10",
        "x": "-2.25",
        "ok": "true",
        "none": "",
        "tags": "[]",
        "meta": '{"k":2,"flag":false}',
    },
    {
        "id": "r3",
        "text": "",
        "n": "-7",
        "x": "1e+16",
        "ok": "false",
        "none": "",
        "tags": '["c"]',
        "meta": '{"k":3,"flag":false}',
    },
]
"""What the csv source reads back: every cell is text, written as JSON writes the value."""

KINDS = ["jsonl", "json", "csv", "parquet", "hf"]

CONDITIONS = {
    "ok == false": ["r1", "r3"],
    "ok == true": ["r2"],
    "ok != false": ["r2"],
    "n >= 5": ["r2"],
    "n < 0": ["r3"],
    "x > 1": ["r3"],
    "x <= 0.5": ["r1", "r2"],
    "meta.flag == true": ["r1"],
    "meta.k in [2, 3]": ["r2", "r3"],
    'tags.0 == "a"': ["r1"],
    'text == ""': ["r3"],
    "none == null": ["r1", "r2", "r3"],
    'none == ""': [],
}
"""Each condition and the ids it keeps, computed by hand from RECORDS."""
CSV_CONDITIONS = {**CONDITIONS, "none == null": [], 'none == ""': ["r1", "r2", "r3"]}
"""CSV writes null as an empty cell, as CSV tools expect: it reads back as "", not null."""


def write(kind: str, folder: Path) -> Path:
    """RECORDS through the ``kind`` sink in two writes; the path GraSP reads them from."""
    sinks: dict[str, Sink] = {
        "jsonl": JsonlSink(folder / "out.jsonl"),
        "json": JsonArraySink(folder / "out.json"),
        "csv": CsvSink(folder / "out.csv"),
        "parquet": ParquetSink(folder / "out.parquet"),
        "hf": HfSink(folder / "out_hf"),
    }
    sink = sinks[kind]
    sink.restore([])
    sink.write(RECORDS[:1])
    sink.write(RECORDS[1:])
    (path,) = sink.finalize()
    return path


def read(kind: str, path: Path) -> list[dict[str, Any]]:
    """The records as GraSP's own source reads them (none may fail)."""
    if kind == "hf":
        config = HfSourceConfig(type="hf", repo_id=str(path))
        source: Any = HfSource.from_config(config, path.parent)
    else:
        source = DiskSource(path)
    items = list(source.iter_records())
    assert [item.error for item in items] == [None] * len(items)
    return [item.data for item in items]


def filtered_ids(kind: str, path: Path, condition: str, folder: Path) -> list[str]:
    """The ids `grasp filter --where CONDITION` keeps from ``path``."""
    out = folder / "kept.jsonl"
    given = (
        ["--source", json.dumps({"type": "hf", "repo_id": str(path)})]
        if kind == "hf"
        else [str(path)]
    )
    code = main(["filter", *given, "--where", condition, "-o", str(out), "--overwrite", "--quiet"])
    assert code == 0
    if not out.exists():  # nothing kept: no file
        return []
    return [json.loads(line)["id"] for line in out.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("kind", KINDS)
def test_each_sink_reads_back_through_grasp_sources(tmp_path: Path, kind: str) -> None:
    """JSON, Parquet and hf keep every type; CSV keeps each value as its JSON text."""
    path = write(kind, tmp_path)
    assert read(kind, path) == (CSV_TEXT if kind == "csv" else RECORDS)


@pytest.mark.parametrize("kind", KINDS)
def test_filter_selects_the_same_records_from_every_sink_format(
    tmp_path: Path, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`grasp filter` on booleans, numbers and nested values keeps the same ids from every
    format (CSV's `true`/`false` cells match `ok == false` as a JSON value does); only
    null differs, an empty cell in CSV."""
    monkeypatch.chdir(tmp_path)
    path = write(kind, tmp_path)
    found = {condition: filtered_ids(kind, path, condition, tmp_path) for condition in CONDITIONS}
    assert found == (CSV_CONDITIONS if kind == "csv" else CONDITIONS)


def test_csv_writes_nan_and_infinities_as_empty_cells(tmp_path: Path) -> None:
    """Floats JSON cannot write (the JSON sinks write null) are empty cells, as null is."""
    sink = CsvSink(tmp_path / "out.csv")
    sink.restore([])
    sink.write([{"a": float("nan"), "b": float("inf"), "c": -float("inf"), "d": 1.5}])
    (path,) = sink.finalize()
    assert path.read_text(encoding="utf-8") == "a,b,c,d\n,,,1.5\n"
