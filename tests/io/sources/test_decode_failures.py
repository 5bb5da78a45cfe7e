"""Values JSON allows but Python cannot decode: an integer too long to read (past
`sys.get_int_max_str_digits()`, 4,300 digits by default) fails its own record, named by file
and line, never the run or a resume; a JSON array nested too deeply is one clear error."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from grasp_core import RunOptions, run_task
from grasp_core.errors import SourceError
from grasp_io import DiskSource
from tests.conftest import copy_task_yaml, write_task

LONG = "9" * (sys.get_int_max_str_digits() + 700)
"""A JSON integer with more digits than `int()` accepts."""
REASON = (
    f"an integer of more than {sys.get_int_max_str_digits()} digits, too long to read; "
    "write it as a string (in quotes)"
)


def jsonl_lines() -> str:
    return (
        '{"id": "a", "n": 1}\n'
        f'{{"id": "b", "n": {LONG}}}\n'
        "\n"
        '{"id": "c", "n": 3}\n'
        f'{{"id": "d", "deep": {{"list": [1, -{LONG}]}}}}\n'
    )


def test_jsonl_fails_only_the_lines_holding_a_too_long_integer(tmp_path: Path) -> None:
    """The other lines are read; each bad one is an error item naming file and line."""
    path = tmp_path / "data.jsonl"
    path.write_text(jsonl_lines(), encoding="utf-8")
    items = list(DiskSource(path).iter_records())
    assert [(item.record_id, item.data) for item in items if item.error is None] == [
        ("a", {"id": "a", "n": 1}),
        ("c", {"id": "c", "n": 3}),
    ]
    failed = [(item.record_id, item.error) for item in items if item.error is not None]
    assert [record_id for record_id, _ in failed] == ["<line 2>", "<line 5>"]
    line_start = f'{{"id": "b", "n": {LONG}}}'[:57] + "..."
    assert failed[0][1] == f"{path}:2: {REASON}: {line_start!r}"
    assert (failed[1][1] or "").startswith(f"{path}:5: {REASON}: ")


def test_a_shard_of_the_jsonl_fails_the_same_lines(tmp_path: Path) -> None:
    """Shards read lines by byte ranges: the same lines fail, with the same reasons."""
    path = tmp_path / "data.jsonl"
    path.write_text(jsonl_lines(), encoding="utf-8")
    whole = {item.record_id: item.error for item in DiskSource(path).iter_records()}
    parts = {
        item.record_id: item.error
        for index in range(3)
        for item in DiskSource(path).shard(index, 3).iter_records()
    }
    assert parts == whole


def test_a_json_array_fails_only_the_items_holding_a_too_long_integer(tmp_path: Path) -> None:
    """A json array is decoded whole, yet only the items with such an integer fail."""
    path = tmp_path / "data.json"
    path.write_text(
        f'[{{"id": "a", "n": 1}}, {{"id": "b", "n": [{LONG}]}}, {{"id": "c", "n": 3.5}}]',
        encoding="utf-8",
    )
    items = list(DiskSource(path).iter_records())
    assert [(item.record_id, item.data, item.error) for item in items] == [
        ("a", {"id": "a", "n": 1}, None),
        ("<item 1>", {}, f"{path} item 1: {REASON}"),
        ("c", {"id": "c", "n": 3.5}, None),
    ]
    assert [item.record_id for item in DiskSource(path).iter_records(start=2)] == ["c"]


@pytest.mark.parametrize("name", ["data.jsonl", "data.json"])
def test_a_run_fails_that_record_runs_the_rest_and_resumes(tmp_path: Path, name: str) -> None:
    """A run writes the good records and fails the bad one with its reason; a resume
    finds nothing left to do and raises nothing."""
    records = [{"id": "a", "n": 1}, {"id": "b", "n": int(LONG[:10])}, {"id": "c", "n": 3}]
    if name.endswith(".jsonl"):
        text = "".join(json.dumps(r) + "\n" for r in records).replace(LONG[:10], LONG)
    else:
        text = json.dumps(records).replace(LONG[:10], LONG)
    task = write_task(
        tmp_path,
        copy_task_yaml().replace("data.jsonl", name),
        {name: text, "steps.py": "def copy(state):\n    return state['n']\n"},
    )
    result = run_task(task, RunOptions())
    assert (result.done, result.failed) == (2, 1)
    written = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert sorted((r["id"], r["copied"]) for r in written) == [("a", 1), ("c", 3)]
    (failure,) = [json.loads(line) for line in result.failures_path.read_text().splitlines()]
    where = f"{tmp_path / name}:2" if name.endswith(".jsonl") else f"{tmp_path / name} item 1"
    assert failure["reason"].startswith(f"{where}: {REASON}")
    again = run_task(task, RunOptions(resume=True))
    assert (again.done, again.failed, again.previously_failed) == (0, 0, 1)


def test_a_json_array_nested_too_deeply_is_a_source_error(tmp_path: Path) -> None:
    """Python's decoder recurses: a document nested past its limit is one SourceError
    naming the file, not a RecursionError traceback (JSONL fails just that line)."""
    path = tmp_path / "data.json"
    path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    with pytest.raises(SourceError, match=r"data\.json: json nested too deeply to read"):
        list(DiskSource(path).iter_records())
