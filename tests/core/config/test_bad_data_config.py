"""Source, sink and schema mistakes: `grasp run` and `grasp validate` exit 2 with one
`grasp: error:` line naming the problem, before any output is written.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest

from grasp_core import run_task
from grasp_core.errors import GraspError
from tests.core.config.bad_tasks import EXIT_TASK, exit_task
from tests.core.config.grasp_cli import cli


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        (lambda t: t.replace("data.jsonl", "missing.jsonl"), "does not exist"),
        (lambda t: t.replace("type: jsonl", "type: jsonll"), "'jsonll'"),
        (lambda t: t.replace("type: disk,", "type: disk, encodng: utf-8,"), "encodng"),
        (lambda t: t.replace("type: disk,", "type: disk, encoding: klingon,"), "klingon"),
        (lambda t: t.replace("file_path: data.jsonl", "file_path: data.txt"), "'.txt'"),
    ],
    ids=["missing-data", "sink-type", "source-key", "encoding", "suffix"],
)
def test_a_configuration_error_at_run_time_exits_2_before_any_output(
    tmp_path: Path, edit: Any, needle: str
) -> None:
    """Source and sink mistakes found by `grasp run` exit 2, name the problem, write nothing."""
    path = exit_task(tmp_path, [0, 1, 2])
    path.write_text(edit(EXIT_TASK), encoding="utf-8")
    code, out, err = cli("run", str(path), "--quiet")
    assert code == 2, err
    assert err.startswith("grasp: error: ")
    assert needle in err
    assert "Traceback" not in out + err
    assert not (tmp_path / "out" / "result.journal.jsonl").exists()
    path.write_text(EXIT_TASK, encoding="utf-8")
    assert cli("run", str(path), "--quiet")[0] == 1  # fixed: runs without --overwrite


@pytest.mark.parametrize(
    ("name", "content", "flags"),
    [
        ("data.json", '{"not": "an array"}', []),
        ("data.csv", 'id,n\n1,2\n2,"4"x\n', []),
        ("data.jsonl", '{"n": 2}\n', ["--num-records", "-1"]),
    ],
    ids=["json-not-array", "csv-bad-quote", "negative-num-records"],
)
def test_a_source_error_during_grasp_run_exits_2_in_one_line(
    tmp_path: Path, name: str, content: str, flags: list[str]
) -> None:
    """A source that fails once the run started still gives one `grasp: error:` and exit 2."""
    path = exit_task(tmp_path, [0])
    (tmp_path / name).write_text(content, encoding="utf-8")
    path.write_text(EXIT_TASK.replace("data.jsonl", name), encoding="utf-8")
    code, out, err = cli("run", str(path), "--quiet", *flags)
    assert code == 2
    assert err.startswith("grasp: error: ")
    assert "Traceback" not in out + err


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("out/result.jsonl", "data.jsonl/result.jsonl"),
        ("out/result.jsonl", "o" * 300 + ".jsonl"),
        ("out/result.jsonl", '"a\\0b.jsonl"'),
        ("file_path: data.jsonl", "file_path: " + "d" * 300 + ".jsonl"),
    ],
    ids=["sink-under-a-file", "sink-name-too-long", "sink-nul-byte", "source-name-too-long"],
)
def test_an_unusable_path_is_a_grasp_error(tmp_path: Path, old: str, new: str) -> None:
    """A sink or source path the OS refuses is a GraspError naming it, not an OSError."""
    path = exit_task(tmp_path, [0])
    path.write_text(EXIT_TASK.replace(old, new), encoding="utf-8")
    with contextlib.suppress(GraspError):
        run_task(path)


def test_an_invalid_schema_regex_is_a_config_error(tmp_path: Path) -> None:
    """A `regex` that does not compile is reported by `grasp validate`/`run` before any record."""
    path = exit_task(tmp_path, [0, 2])
    path.write_text(EXIT_TASK + "schema_config: {fields: [{name: id, regex: '(('}]}\n")
    code, _, err = cli("run", str(path), "--quiet")
    assert code == 2
    assert "regex" in err


@pytest.mark.parametrize(
    "extra",
    [
        "schema_config: {fields: [{name: kept, type: 'lisst[int]'}]}\n",
        "output_config: {output_map: {a: {value: $nope.x}}}\n",
        "output_config: {output_map: {a: {from: kept, transform: up}}}\n",
    ],
    ids=["schema-type", "task-ref", "transform"],
)
def test_validate_rejects_what_run_rejects(tmp_path: Path, extra: str) -> None:
    """A task `grasp run` refuses as misconfigured is refused by `grasp validate` too."""
    path = exit_task(tmp_path, [0])
    path.write_text(EXIT_TASK + extra, encoding="utf-8")
    assert cli("run", str(path), "--quiet")[0] == 2
    assert cli("validate", str(path))[0] == 2


@pytest.mark.parametrize(("old", "new"), [("type: disk", "type: dsk"), ("type: jsonl", "type: ~")])
def test_an_unknown_source_or_sink_type_is_named_at_its_line(
    tmp_path: Path, old: str, new: str
) -> None:
    """A bad source or sink `type` is reported at file:line: data_config.<block>.type."""
    path = exit_task(tmp_path, [0])
    path.write_text(EXIT_TASK.replace(old, new), encoding="utf-8")
    code, _, err = cli("run", str(path), "--quiet")
    block = "source" if "disk" in old else "sink"
    line = 2 if block == "source" else 3
    assert code == 2
    assert f"{path}:{line}: data_config.{block}" in err
