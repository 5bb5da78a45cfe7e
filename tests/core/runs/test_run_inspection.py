"""Reading a finished run back: its files, a record's trace, failures grouped, a retry of
only the failed records, and two runs compared record by record."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import anyio
import pytest

import grasp_core
from grasp_core import END, START, Graph, RunFiles
from grasp_core.runs.failure_groups import reason_pattern

BROKEN = "broken"
"""While a file of this name is in the task folder, `greet` fails on multiples of three."""


def make_task(folder: Path, count: int = 7, *, suffix: str = "") -> grasp_core.Task:
    folder.mkdir(parents=True, exist_ok=True)
    marker = folder / BROKEN

    def greet(state: dict[str, object]) -> str:
        number = int(str(state["n"]))
        if marker.exists() and number % 3 == 0:
            raise ValueError(f"no multiples of three: {number}")
        return f"hello {number}{suffix}"

    def shout(state: dict[str, object]) -> str:
        return str(state["text"]).upper()

    (folder / "in.jsonl").write_text(
        "".join(json.dumps({"id": f"r{i}", "n": i}) + "\n" for i in range(count))
    )
    graph = (
        Graph()
        .add_node("greet", "lambda", output_keys="text", **{"lambda": greet})
        .add_node("shout", "lambda", output_keys="loud", **{"lambda": shout})
        .add_edge(START, "greet")
        .add_edge("greet", "shout")
        .add_edge("shout", END)
    )
    task = graph.to_task(
        data_config={
            "source": {"type": "disk", "file_path": "in.jsonl"},
            "sink": {"type": "jsonl", "file_path": "out/o.jsonl"},
        },
    )
    return dataclasses.replace(task, task_dir=folder)


@pytest.fixture
def failed_run(tmp_path: Path) -> tuple[grasp_core.Task, Path]:
    task = make_task(tmp_path)
    (tmp_path / BROKEN).write_text("")
    result = grasp_core.run(task, overwrite=True, allowed_failures=10)
    assert (result.done, result.failed) == (4, 3)
    return task, result.output_paths[0]


def test_run_files_are_found_by_their_journal(failed_run: tuple[grasp_core.Task, Path]) -> None:
    """find_runs lists the run by its output, with the files beside it."""
    task, output = failed_run
    (run,) = grasp_core.find_runs(output.parent.parent)
    assert run.output == output
    assert run.output_format == "jsonl"
    assert run.journal.is_file()
    assert run.failures.is_file()
    assert (run.summary_data() or {}).get("done") == 4
    assert RunFiles.of_task(task).output == output


def test_a_record_trace_lists_each_node_with_its_state_change(
    failed_run: tuple[grasp_core.Task, Path],
) -> None:
    """A done record: every node in order with what it wrote."""
    run = RunFiles.of(failed_run[1])
    trace = grasp_core.record_trace(run.journal, "r1", run.failures)
    assert trace.status == "done"
    assert [(s.node, s.delta) for s in trace.steps] == [
        ("greet", {"text": "hello 1"}),
        ("shout", {"loud": "HELLO 1"}),
    ]
    assert trace.failure is None


def test_a_failed_record_trace_carries_its_failure_and_input(
    failed_run: tuple[grasp_core.Task, Path],
) -> None:
    """A failed record: no node finished, the failure names the node, reason and input."""
    run = RunFiles.of(failed_run[1])
    trace = grasp_core.record_trace(run.journal, "r3", run.failures)
    assert trace.status == "failed"
    assert trace.steps == []
    assert trace.failure is not None
    assert trace.failure["node"] == "greet"
    assert trace.failure["input"] == {"id": "r3", "n": 3}
    assert grasp_core.record_trace(run.journal, "r99").status == "unknown"


def test_failures_are_grouped_by_node_and_reason_pattern(
    failed_run: tuple[grasp_core.Task, Path],
) -> None:
    """Three records failing the same way make one group, with their inputs."""
    run = RunFiles.of(failed_run[1])
    (group,) = grasp_core.failure_groups(run.failures)
    assert (group.node, group.count) == ("greet", 3)
    assert group.reason == "ValueError: no multiples of three: #"
    assert [r["id"] for r in group.records] == ["r0", "r3", "r6"]
    assert group.records[1]["input"] == {"id": "r3", "n": 3}


def test_reason_patterns_mask_what_differs_between_records() -> None:
    """The record/node prefix goes; quoted text and numbers are masked."""
    assert reason_pattern("record 'a', node 'n': KeyError: 'x' after 3 tries") == (
        "KeyError: '…' after # tries"
    )


def test_a_retry_runs_only_the_failed_records(
    failed_run: tuple[grasp_core.Task, Path], tmp_path: Path
) -> None:
    """The retry reads the same source, keeps the failed ids, and writes beside the run."""
    task, output = failed_run
    (tmp_path / BROKEN).unlink()
    result = anyio.run(grasp_core.retry_failures, task)
    assert (result.done, result.failed) == (3, 0)
    retried = [json.loads(line)["id"] for line in result.output_paths[0].read_text().splitlines()]
    assert retried == ["r0", "r3", "r6"]
    assert result.output_paths[0].is_relative_to(output.parent / "o.retry")
    assert len(output.read_text().splitlines()) == 4  # the first run's output is untouched


def test_a_retry_with_nothing_failed_says_so(tmp_path: Path) -> None:
    """No failure to retry is a clear error, not an empty run."""
    task = make_task(tmp_path)
    grasp_core.run(task, overwrite=True)
    with pytest.raises(grasp_core.ConfigError, match="no failed record"):
        anyio.run(grasp_core.retry_failures, task)


def test_two_runs_compare_record_by_record(tmp_path: Path) -> None:
    """Matched by id: changed fields side by side, ids one side lacks, metrics of both."""
    left = grasp_core.run(make_task(tmp_path / "a", 4), overwrite=True).output_paths[0]
    right_task = make_task(tmp_path / "b", 5, suffix="!")
    right = grasp_core.run(right_task, overwrite=True).output_paths[0]
    comparison = grasp_core.compare_runs(left, right)
    assert comparison.counts() == {"changed": 4, "same": 0, "only_left": 0, "only_right": 1}
    total, diffs = comparison.diffs(0, 2)
    assert total == 5
    assert diffs[0].record_id == "r0"
    assert diffs[0].fields == {"text": ("hello 0", "hello 0!"), "loud": ("HELLO 0", "HELLO 0!")}
    _, (last,) = comparison.diffs(4, 10)
    assert (last.record_id, last.status, last.fields["text"]) == (
        "r4",
        "only_right",
        (None, "hello 4!"),
    )
    assert grasp_core.run_metrics(left)["done"] == 4
    assert grasp_core.run_metrics(right)["done"] == 5


def test_identical_runs_have_nothing_to_show(tmp_path: Path) -> None:
    """Same outputs: every record is `same`, and the default page (differences) is empty."""
    left = grasp_core.run(make_task(tmp_path / "a", 3), overwrite=True).output_paths[0]
    right = grasp_core.run(make_task(tmp_path / "b", 3), overwrite=True).output_paths[0]
    comparison = grasp_core.compare_runs(left, right)
    assert comparison.counts()["same"] == 3
    assert comparison.diffs() == (0, [])
    assert comparison.diffs(statuses=("same",))[0] == 3
