"""Text that is not Unicode (a lone surrogate, as the valid JSON `"\\ud800"` decodes) never
crashes a run: JSON sinks keep it as its escape, which reads back the same; CSV, Parquet and
hf cannot hold it, so they refuse that record (`cannot_write`) and only it fails."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from grasp_core import RunOptions, run_task
from grasp_core.errors import SinkError
from grasp_core.plugin import find_unwritable
from grasp_io import CsvSink, DiskSource, JsonArraySink, JsonlSink, ParquetSink
from grasp_io.sinks import HfSink
from tests.conftest import copy_task_yaml, write_task

SURROGATE = "cut emoji \ud83d"
"""A truncated emoji: the first half of a surrogate pair, alone."""
ROWS = [{"id": "a", "text": "fine"}, {"id": "b", "text": SURROGATE}, {"id": "c", "text": "ok"}]
SINKS = {
    "jsonl": "{type: jsonl, file_path: out.jsonl}",
    "json": "{type: json, file_path: out.json}",
    "csv": "{type: csv, file_path: out.csv}",
    "parquet": "{type: parquet, file_path: out.parquet}",
    "hf": "{type: hf, file_path: out_hf}",
}


def reason(sink: str) -> str:
    return (
        "record 'b': field 'text' holds text that is not valid Unicode (the lone surrogate "
        f"'\\ud83d'), which the {sink} sink cannot write; fix the value where it comes from "
        "(the source, or the node that made it)"
    )


@pytest.mark.parametrize("kind", list(SINKS))
def test_a_lone_surrogate_never_crashes_a_run_or_its_resume(tmp_path: Path, kind: str) -> None:
    """JSON sinks write all three records; the others fail record b alone, with a reason."""
    task = write_task(
        tmp_path,
        copy_task_yaml(SINKS[kind]),
        {
            "data.jsonl": "".join(json.dumps(row) + "\n" for row in ROWS),  # "\\ud83d"
            "steps.py": "def copy(state):\n    return state['text']\n",
        },
    )
    result = run_task(task, RunOptions())
    failures = [json.loads(line) for line in result.failures_path.read_text().splitlines()]
    if kind in ("jsonl", "json"):
        assert (result.done, result.failed) == (3, 0)
        (path,) = result.output_paths
        written = {item.record_id: item.data for item in DiskSource(path).iter_records()}
        assert written["b"] == {"id": "b", "text": SURROGATE, "copied": SURROGATE}
    else:
        assert (result.done, result.failed) == (2, 1)
        assert [(f["id"], f["error"], f["reason"]) for f in failures] == [
            ("b", "SinkError", reason(kind))
        ]
        assert sorted(r["id"] for r in result.records()) == ["a", "c"]
    again = run_task(task, RunOptions(resume=True))
    assert (again.done, again.failed) == (0, 0)


@pytest.mark.parametrize("make", [CsvSink, ParquetSink, HfSink], ids=["csv", "parquet", "hf"])
def test_sinks_that_cannot_hold_it_refuse_it_and_raise_a_sink_error(
    tmp_path: Path, make: Any
) -> None:
    """Outside a run, a write holding it is a SinkError naming the record, not a pyarrow or
    codec traceback, and writes nothing; `cannot_write` names it beforehand."""
    sink = make(tmp_path / "out")
    sink.restore([])
    assert sink.cannot_write(ROWS[0]) is None
    assert "(the lone surrogate '\\ud83d')" in sink.cannot_write(ROWS[1])
    with pytest.raises(SinkError, match=r"cannot write record 1 of the batch to .*'text' holds"):
        sink.write(ROWS)
    sink.write(ROWS[:1])
    assert len(sink.finalize()) == 1


@pytest.mark.parametrize("make", [JsonlSink, JsonArraySink], ids=["jsonl", "json"])
def test_json_sinks_keep_it_as_its_escape(tmp_path: Path, make: Any) -> None:
    """JSON sinks accept it (`cannot_write` is None) and write the ASCII escape."""
    sink = make(tmp_path / "out")
    sink.restore([])
    assert sink.cannot_write(ROWS[1]) is None
    sink.write(ROWS)
    (path,) = sink.finalize()
    assert '"cut emoji \\ud83d"' in path.read_text(encoding="utf-8")


def test_every_sink_refuses_an_integer_too_long_for_text(tmp_path: Path) -> None:
    """An integer past the digit limit cannot be text in any format: every sink says so."""
    record = {"id": "x", "n": [1, 10**5000]}
    sinks = [JsonlSink, JsonArraySink, CsvSink, ParquetSink, HfSink]
    reasons = {make.__name__: make(tmp_path / "out").cannot_write(record) for make in sinks}
    assert all(
        (text or "").startswith("field 'n.1' holds an integer of more than ")
        for text in reasons.values()
    ), reasons


def test_find_unwritable_names_the_first_bad_value_by_its_dotted_path() -> None:
    """Values and keys at any depth; surrogates only when asked; ASCII and astral text pass."""
    assert find_unwritable({"a": ["é", "😀", {"b": 1}], "n": 10**100}) is None
    assert find_unwritable({"a": [1, {"b": "x\udc80"}]}) == (
        "field 'a.1.b' holds text that is not valid Unicode (the lone surrogate '\\udc80')"
    )
    assert find_unwritable({"a": {"\ud800": 1}}) == (
        "a key under 'a' holds text that is not valid Unicode (the lone surrogate '\\ud800')"
    )
    assert find_unwritable({"a": "\ud800"}, surrogates=False) is None


@pytest.mark.parametrize("kind", list(SINKS))
def test_an_integer_past_64_bits_fails_its_record_only_in_arrow_sinks(
    tmp_path: Path, kind: str
) -> None:
    """2**70 is valid JSON: text sinks write it; Parquet and hf (int64 columns) fail that
    record alone, never the batch or the run."""
    rows = [{"id": "a", "n": 1}, {"id": "b", "n": 2**70}, {"id": "c", "n": -5}]
    task = write_task(
        tmp_path,
        copy_task_yaml(SINKS[kind]),
        {
            "data.jsonl": "".join(json.dumps(row) + "\n" for row in rows),
            "steps.py": "def copy(state):\n    return state['id']\n",
        },
    )
    result = run_task(task, RunOptions())
    if kind in ("parquet", "hf"):
        assert (result.done, result.failed) == (2, 1)
        (failure,) = [json.loads(line) for line in result.failures_path.read_text().splitlines()]
        assert failure["id"] == "b"
        assert "field 'n' holds an integer outside the 64-bit range" in failure["reason"]
        assert sorted(r["id"] for r in result.records()) == ["a", "c"]
    else:
        assert (result.done, result.failed) == (3, 0)
