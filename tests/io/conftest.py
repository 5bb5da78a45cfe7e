"""Fixtures for the sink tests: build a sink of each type and read its output back."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from grasp_core.protocols import Sink
from grasp_io import CsvSink, JsonArraySink, JsonlSink, ParquetSink

MakeSink = Callable[[str, Path], Sink]
ReadBack = Callable[[Path], list[dict[str, Any]]]

_SINKS: dict[str, tuple[Callable[[Path], Sink], str]] = {
    "jsonl": (JsonlSink, "out.jsonl"),
    "json": (JsonArraySink, "out.json"),
    "csv": (CsvSink, "out.csv"),
    "parquet": (ParquetSink, "out.parquet"),
}


def _make_sink(kind: str, folder: Path) -> Sink:
    factory, name = _SINKS[kind]
    return factory(folder / name)


def _read_back(path: Path) -> list[dict[str, Any]]:
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    if path.suffix == ".json":
        records: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
        return records
    if path.suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as text:
            return list(csv.DictReader(text))
    rows: list[dict[str, Any]] = pq.read_table(path).to_pylist()
    return rows


@pytest.fixture(params=list(_SINKS))
def kind(request: pytest.FixtureRequest) -> str:
    """Each sink type in turn: jsonl, json, csv, parquet."""
    value: str = request.param
    return value


@pytest.fixture
def make_sink() -> MakeSink:
    """``make_sink(kind, folder)``: a fresh, not yet restored sink writing into ``folder``."""
    return _make_sink


@pytest.fixture
def read_back() -> ReadBack:
    """``read_back(path)``: a sink's output read with json, csv or pyarrow (CSV cells are text)."""
    return _read_back
