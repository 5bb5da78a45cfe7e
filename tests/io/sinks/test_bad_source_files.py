"""JSON arrays of bad records, and source files that are empty or unreadable as a whole.

Every item of a JSON array is written as computed or failed; an empty file is zero records;
a file that cannot be read at all is a SourceError naming it, with nothing written and
nothing left to resume.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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
    read_jsonl,
    run_over,
)
from tests.io.sinks.record_strategies import records


@SETTINGS
@given(rows=st.lists(records(), max_size=8), duplicate=st.booleans())
def test_json_array_records_are_written_as_computed_or_failed(
    new_folder: NewFolder, rows: list[dict[str, Any]], duplicate: bool
) -> None:
    """Lambda over a JSON array of objects: every item is written as computed, or failed."""
    if duplicate and rows:
        rows.append(dict(rows[0]))
    folder = new_folder()
    found: Found = list(enumerate(rows))
    task = lambda_task(folder, "data.json")
    result, items = run_over(folder, "data.json", json.dumps(rows).encode(), found, task=task)
    check_accounted(result, folder, items, lambda_output)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("data.json", b""),
        ("data.json", b'{"text": "an object, not an array"}'),
        ("data.json", b'[{"text": "a"}, 5]'),
        ("data.json", b'[{"text": "a"}, {"text": "b"'),
        ("data.json", b'[{"text": "caf\xe9"}]'),
        ("data.parquet", b""),
        ("data.parquet", b"PAR1 not really parquet PAR1"),
    ],
    ids=[
        "json-empty",
        "json-object",
        "json-item",
        "json-cut",
        "json-latin1",
        "pq-empty",
        "pq-junk",
    ],
)
def test_a_file_that_cannot_be_read_at_all_is_a_source_error(
    tmp_path: Path, name: str, content: bytes
) -> None:
    """A source that is unreadable as a whole raises SourceError naming it; nothing is written."""
    (tmp_path / name).write_bytes(content)
    with pytest.raises(SourceError, match=name):
        run_task(*lambda_task(tmp_path, name))
    assert read_jsonl(tmp_path / "out" / "out.jsonl") == []


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("data.jsonl", b""),
        ("data.jsonl", b"\n \n\t\n"),
        ("data.csv", b""),
        ("data.csv", b"id,text\r\n"),
        ("data.json", b"[]"),
    ],
    ids=["jsonl-empty", "jsonl-blank", "csv-empty", "csv-header-only", "json-empty-array"],
)
def test_an_empty_source_is_zero_records(tmp_path: Path, name: str, content: bytes) -> None:
    """An empty or blank file holds no records: the run succeeds and writes nothing."""
    (tmp_path / name).write_bytes(content)
    result = run_task(*lambda_task(tmp_path, name))
    assert (result.done, result.failed, result.ok) == (0, 0, True)
    assert read_jsonl(tmp_path / "out" / "out.jsonl") == []


def test_a_source_that_cannot_be_read_leaves_nothing_to_resume(tmp_path: Path) -> None:
    """After a SourceError for the whole file, fixing the file is enough to run again."""
    (tmp_path / "data.json").write_text('{"text": "not in an array"}', encoding="utf-8")
    with pytest.raises(SourceError):
        run_task(*lambda_task(tmp_path, "data.json"))
    (tmp_path / "data.json").write_text('[{"text": "ab"}]', encoding="utf-8")
    assert run_task(*lambda_task(tmp_path, "data.json")).done == 1
