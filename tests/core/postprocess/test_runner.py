"""The post-process runner: steps in order over a stream, every removal reported, counts per
step, and files that appear together or not at all."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from grasp_core.errors import ConfigError, PostProcessError
from grasp_core.postprocess import CurationResult, CurationTarget, curate, load_steps_file, staging
from grasp_core.postprocess import read_output as read_back
from tests.core.postprocess.helpers import read_jsonl, write_jsonl, write_user_steps

RECORDS = [
    {"id": "a", "text": "one"},
    {"id": "b", "text": "two", "drop": True},
    {"id": "c", "text": "one"},
    {"id": "d", "text": "four"},
]


def run_steps(
    folder: Path,
    steps_yaml: str,
    records: list[dict[str, Any]] | None = None,
    *,
    output: str = "out.jsonl",
    **options: Any,
) -> tuple[CurationResult, CurationTarget]:
    write_user_steps(folder)
    data = write_jsonl(folder / "data.jsonl", RECORDS if records is None else records)
    (folder / "steps.yaml").write_text(steps_yaml, encoding="utf-8")
    sink = {"type": Path(output).suffix.lstrip(".")}
    target = CurationTarget.at(sink, folder / output)
    result = curate(
        read_back([data], "jsonl", "id"),
        load_steps_file(folder / "steps.yaml"),
        target,
        base_dir=folder,
        **options,
    )
    return result, target


def test_steps_run_in_order_and_report_every_removal(tmp_path: Path) -> None:
    """Each step sees what the one before kept; each removal is a report line with the id,
    the step, the reason, the details and the record; counts are kept per step."""
    steps = "- user_steps.DropFlagged: {}\n- dedup: {fields: [text]}\n- user_steps.Tag\n"
    result, target = run_steps(tmp_path, steps)
    assert read_jsonl(target.output) == [
        {"id": "a", "text": "one", "tagged": True},
        {"id": "d", "text": "four", "tagged": True},
    ]
    assert read_jsonl(target.removed_path) == [
        {
            "id": "b",
            "step": "user_steps.DropFlagged",
            "reason": "flagged",
            "details": {"field": "drop"},
            "record": RECORDS[1],
        },
        {
            "id": "c",
            "step": "dedup",
            "reason": "exact duplicate",
            "details": {"duplicate_of": "a", "similarity": 1.0, "method": "exact"},
            "record": RECORDS[2],
        },
    ]
    assert [step.summary() for step in result.steps] == [
        {
            "step": "user_steps.DropFlagged",
            "seen": 4,
            "removed": 1,
            "kept": 3,
            "results": {"checked": 4},
        },
        {
            "step": "dedup",
            "seen": 3,
            "removed": 1,
            "kept": 2,
            "results": {"method": "exact", "duplicates": 1, "empty": 0},
        },
        {"step": "user_steps.Tag", "seen": 2, "removed": 0, "kept": 2},
    ]
    assert (result.read, result.kept, result.removed) == (4, 2, 2)


def test_curated_output_takes_the_sink_format(tmp_path: Path) -> None:
    """The curated dataset is written by the sink named for it (here CSV)."""
    records = [{"id": r["id"], "text": r["text"]} for r in RECORDS]
    _, target = run_steps(tmp_path, "- dedup: {fields: [text]}\n", records, output="out.csv")
    lines = target.output.read_text(encoding="utf-8").splitlines()
    assert lines == ["id,text", "a,one", "b,two", "d,four"]
    assert target.removed_path == tmp_path / "out.removed.jsonl"


def test_unreadable_input_records_go_to_the_report(tmp_path: Path) -> None:
    """A line the source cannot parse is not lost: it is reported under the step `read`."""
    data = write_jsonl(tmp_path / "data.jsonl", RECORDS[:1])
    with data.open("a", encoding="utf-8") as handle:
        handle.write("{not json\n")
    (tmp_path / "steps.yaml").write_text("- dedup\n", encoding="utf-8")
    target = CurationTarget.at({"type": "jsonl"}, tmp_path / "out.jsonl")
    result = curate(
        read_back([data], "jsonl", "id"),
        load_steps_file(tmp_path / "steps.yaml"),
        target,
        base_dir=tmp_path,
    )
    assert (result.read, result.unreadable, result.kept) == (2, 1, 1)
    [line] = read_jsonl(target.removed_path)
    assert (line["id"], line["step"], line["reason"]) == ("<line 2>", "read", "unreadable")
    assert "data.jsonl" in line["details"]["error"]


def test_a_step_writes_its_own_file_beside_the_output(tmp_path: Path) -> None:
    """A file a step asks for (`NAME.count.json`) appears with the curated output."""
    result, _ = run_steps(tmp_path, "- user_steps.WriteCount\n")
    assert result.files == [tmp_path / "out.count.json"]
    assert (tmp_path / "out.count.json").read_text() == '{"count": 4}'
    assert result.steps[0].results == {"count": 4}


def test_a_failing_step_changes_no_file(tmp_path: Path) -> None:
    """When a step raises half-way, the error names the step and the record's problem, the
    files of the previous post-process are untouched and no staging folder is left."""
    run_steps(tmp_path, "- user_steps.DropFlagged\n- user_steps.WriteCount\n")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("out.")}
    with pytest.raises(
        PostProcessError,
        match=r"step 'user_steps.Explode' failed: RuntimeError: record d is cursed",
    ):
        run_steps(tmp_path, "- dedup\n- user_steps.Explode: {at: 3}\n")
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("out.")}
    assert after == before
    assert sorted(before) == ["out.count.json", "out.jsonl", "out.removed.jsonl"]


def test_a_stop_request_writes_nothing(tmp_path: Path) -> None:
    """Asked to stop, the runner stops reading, writes no file and says it was interrupted."""
    asked: list[int] = []

    def stop() -> bool:
        asked.append(1)
        return len(asked) > 2

    result, target = run_steps(tmp_path, "- dedup\n", stop=stop)
    assert result.interrupted
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "data.jsonl",
        "steps.yaml",
        "user_steps.py",
    ]
    assert not target.output.exists()


def test_no_record_kept_removes_an_older_curated_output(tmp_path: Path) -> None:
    """When every record is removed, a curated file from an earlier pass does not linger
    (parquet writes no file without rows)."""
    flagged = [{"id": "a", "drop": True}]
    run_steps(tmp_path, "- dedup\n", [{"id": "a", "x": 1}], output="out.parquet")
    assert (tmp_path / "out.parquet").exists()
    result, _ = run_steps(tmp_path, "- user_steps.DropFlagged\n", flagged, output="out.parquet")
    assert result.output_paths == []
    assert not (tmp_path / "out.parquet").exists()
    assert [line["id"] for line in read_jsonl(tmp_path / "out.removed.jsonl")] == ["a"]


class _Killed(BaseException):
    """A kill: nothing runs after it (the test also turns cleanup off)."""


def test_a_kill_between_two_moves_is_finished_by_the_next_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed after the curated output moved but before the report did, a post-process
    leaves its decided moves behind; the next post-process finishes them before anything
    else (here it fails building its steps), so output and report come from the same pass."""
    run_steps(tmp_path, "- dedup\n")
    assert [r["id"] for r in read_jsonl(tmp_path / "out.removed.jsonl")] == ["c"]
    real_replace, moved = staging.os.replace, []

    def replace_then_die(source: Any, target: Any) -> None:
        real_replace(source, target)
        moved.append(Path(target).name)
        if Path(target).name == "out.jsonl":
            raise _Killed

    monkeypatch.setattr(staging.os, "replace", replace_then_die)
    monkeypatch.setattr(staging.Staging, "discard", lambda self: None)  # a kill cleans nothing
    with pytest.raises(_Killed):
        run_steps(tmp_path, "- user_steps.DropFlagged\n")
    assert [r["id"] for r in read_jsonl(tmp_path / "out.jsonl")] == ["a", "c", "d"]
    assert [r["id"] for r in read_jsonl(tmp_path / "out.removed.jsonl")] == ["c"]  # mixed
    monkeypatch.undo()
    missing = "{benchmarks: [{name: b, source: {type: disk, file_path: missing.jsonl}}]}"
    with pytest.raises(ConfigError, match="benchmark 'b'"):
        run_steps(tmp_path, f"- decontaminate: {missing}\n")
    assert [r["id"] for r in read_jsonl(tmp_path / "out.jsonl")] == ["a", "c", "d"]
    assert [r["id"] for r in read_jsonl(tmp_path / "out.removed.jsonl")] == ["b"]
    assert not (tmp_path / "out.curating").exists()
