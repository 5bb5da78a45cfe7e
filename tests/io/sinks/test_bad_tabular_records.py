"""Bad rows in CSV and Parquet sources never crash a run: each is written right, or failed.

CSV files hold rows of the wrong width, blank lines, big cells, repeated rows, bad quoting
and bytes that are not UTF-8; Parquet files hold nulls anywhere, undecodable binary cells and
non-finite floats.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from grasp_core import run_task
from grasp_core.errors import SourceError
from tests.io.sinks.record_model import (
    SETTINGS,
    Found,
    NewFolder,
    check_accounted,
    lambda_output,
    lambda_task,
    run_over,
)
from tests.io.sinks.record_strategies import huge_text

_cells = st.text(max_size=20)


@st.composite
def csv_files(draw: st.DrawFn) -> tuple[bytes, Found]:
    """CSV bytes (any header among id/text/n/ü), rows of any width, blank lines, big cells,
    repeated rows. A row's number is the line it ends on (cells may hold line breaks)."""
    header = draw(
        st.lists(st.sampled_from(["id", "text", "n", "ü"]), min_size=1, max_size=4, unique=True)
    )
    out = io.StringIO(newline="")
    writer = csv.writer(out)  # "\r\n" ends rows; a cell holding "\r" or "\n" is quoted
    writer.writerow(header)
    found: Found = []
    rows: list[list[str]] = []
    for _ in range(draw(st.integers(min_value=0, max_value=10))):
        kind = draw(st.sampled_from(["row"] * 5 + ["ragged", "blank", "repeat", "huge"]))
        if kind == "blank":
            out.write("\r\n")
            continue
        width = len(header)
        if kind == "ragged":
            width = draw(st.integers(min_value=1, max_value=6).filter(lambda w: w != len(header)))
        cells = draw(st.lists(_cells, min_size=width, max_size=width))
        if kind == "huge":
            cells[-1] = draw(huge_text)
        if kind == "repeat" and rows:
            cells = draw(st.sampled_from(rows))
        rows.append(cells)
        writer.writerow(cells)
        line = len(io.StringIO(out.getvalue(), newline="").readlines())
        fits = len(cells) == len(header)
        found.append((line, dict(zip(header, cells, strict=True)) if fits else None))
    return out.getvalue().encode("utf-8"), found


@SETTINGS
@given(file=csv_files())
def test_csv_rows_are_written_as_computed_or_failed(
    new_folder: NewFolder, file: tuple[bytes, Found]
) -> None:
    """Lambda over CSV: a row of the wrong width or a repeated id fails; the rest are exact."""
    folder = new_folder()
    task = lambda_task(folder, "data.csv")
    result, items = run_over(folder, "data.csv", *file, task=task)
    check_accounted(result, folder, items, lambda_output)


_COLUMN_TYPES: dict[str, tuple[pa.DataType, st.SearchStrategy[Any]]] = {
    "string": (pa.string(), st.text(max_size=20)),
    "int": (pa.int64(), st.integers(min_value=-(2**63), max_value=2**63 - 1)),
    "float": (pa.float64(), st.floats(allow_nan=False)),
    "list": (pa.list_(pa.string()), st.lists(st.text(max_size=5), max_size=3)),
}


@st.composite
def parquet_files(draw: st.DrawFn) -> tuple[bytes, Found]:
    """Parquet with `id` and `text` columns of any type, nulls anywhere, small row groups."""
    rows = draw(st.integers(min_value=0, max_value=12))
    columns: dict[str, pa.Array] = {}
    for name in draw(st.lists(st.sampled_from(["id", "text", "n"]), unique=True, max_size=3)):
        kind = draw(st.sampled_from(sorted(_COLUMN_TYPES)), label=f"{name} type")
        arrow_type, values = _COLUMN_TYPES[kind]
        if name == "id" and kind in ("string", "int"):
            values = st.sampled_from(["a", "b", "0", "1"] if kind == "string" else [0, 1, 7])
        cells = draw(st.lists(st.none() | values, min_size=rows, max_size=rows))
        columns[name] = pa.array(cells, type=arrow_type)
    table = pa.table(columns) if columns else pa.table({"n": pa.array([None] * rows, pa.int64())})
    buffer = io.BytesIO()
    pq.write_table(table, buffer, row_group_size=draw(st.integers(min_value=1, max_value=5)))
    return buffer.getvalue(), list(enumerate(table.to_pylist()))


@SETTINGS
@given(file=parquet_files())
def test_parquet_rows_with_nulls_are_written_as_computed_or_failed(
    new_folder: NewFolder, file: tuple[bytes, Found]
) -> None:
    """Lambda over Parquet: a null or non-sized `text` fails the row; the rest are exact."""
    folder = new_folder()
    task = lambda_task(folder, "data.parquet")
    result, items = run_over(folder, "data.parquet", *file, task=task)
    check_accounted(result, folder, items, lambda_output)


def test_a_parquet_row_with_undecodable_bytes_fails_alone(tmp_path: Path) -> None:
    """A binary cell that is not UTF-8 fails its row (or is written encoded); the run goes on."""
    table = pa.table(
        {"text": ["ab", "abc"], "blob": pa.array([b"\xff\x00", b"ok"], type=pa.binary())}
    )
    pq.write_table(table, tmp_path / "data.parquet")
    result = run_task(*lambda_task(tmp_path, "data.parquet"))
    assert result.done + result.failed == 2
    assert result.done >= 1


def test_a_csv_quoting_error_names_its_line(tmp_path: Path) -> None:
    """Malformed quoting stops the run with a SourceError at the line that holds it."""
    (tmp_path / "data.csv").write_text('id,text\n1,a\n2,b\n3,"c"x\n4,d\n', encoding="utf-8")
    with pytest.raises(SourceError, match=r"data\.csv:4: cannot parse csv"):
        run_task(*lambda_task(tmp_path, "data.csv"))


def test_a_csv_row_that_is_not_utf8_fails_alone(tmp_path: Path) -> None:
    """One CSV row with a Latin-1 byte fails; the rows around it are written."""
    (tmp_path / "data.csv").write_bytes(b"id,text\n1,ab\n2,caf\xe9\n3,abc\n")
    result = run_task(*lambda_task(tmp_path, "data.csv"))
    assert (result.done, result.failed) == (2, 1)


def test_non_finite_floats_are_written_as_valid_json(tmp_path: Path) -> None:
    """Every line of the sink parses as strict JSON, whatever floats the source held."""
    pq.write_table(
        pa.table({"text": ["a", "b"], "f": [math.nan, math.inf]}), tmp_path / "data.parquet"
    )
    run_task(*lambda_task(tmp_path, "data.parquet"))

    def refuse(token: str) -> Any:
        raise ValueError(f"not JSON: {token}")

    lines = (tmp_path / "out" / "out.jsonl").read_bytes().split(b"\n")
    assert [json.loads(line, parse_constant=refuse) for line in lines if line]
