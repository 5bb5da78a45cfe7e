"""Durability: the fsync policy, one run per output folder, and a failing disk."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any, ClassVar, Literal

import anyio
import pytest

from grasp_core import RunOptions, registry, run_task
from grasp_core.config.task_file import Task
from grasp_core.errors import ResumeError, SinkError
from grasp_io.sinks import JsonlSink, JsonlSinkConfig


class FlakySinkConfig(JsonlSinkConfig):
    type: Literal["flaky_jsonl"] = "flaky_jsonl"  # type: ignore[assignment]


class FlakySink(JsonlSink):
    """A JSONL sink whose disk fills up after ``FAIL_AFTER`` writes; counts syncs."""

    config_model: ClassVar[type[FlakySinkConfig]] = FlakySinkConfig  # type: ignore[assignment]

    FAIL_AFTER: ClassVar[int | None] = None
    writes: ClassVar[int] = 0
    syncs: ClassVar[int] = 0

    def write(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        cls = type(self)
        if cls.FAIL_AFTER is not None and cls.writes >= cls.FAIL_AFTER:
            raise SinkError(f"cannot write to {self.path}: No space left on device")
        cls.writes += 1
        return super().write(records)

    def sync(self) -> None:
        type(self).syncs += 1
        super().sync()


registry.sinks.register("flaky_jsonl")(FlakySink)


def task(tmp_path: Path, n: int, sink_type: str = "flaky_jsonl", slow: float = 0.0) -> Task:
    async def step(state: Any) -> int:
        if slow:
            await anyio.sleep(slow)
        return 1

    data = {
        "data_config": {"num_records": n, "sink": {"type": sink_type, "file_path": "out.jsonl"}},
        "graph_config": {
            "nodes": {"a": {"node_type": "lambda", "lambda": step, "output_keys": "x"}},
            "edges": [{"from": "START", "to": "a"}, {"from": "a", "to": "END"}],
        },
    }
    return Task.from_dict(data, task_dir=tmp_path)


def reset(fail_after: int | None = None) -> None:
    FlakySink.FAIL_AFTER, FlakySink.writes, FlakySink.syncs = fail_after, 0, 0


def every_ten_records(tmp_path: Path, *, sync_min_seconds: float) -> RunOptions:
    """Batches of 5, a sync due every 10 records (none by time), at most this often."""
    return RunOptions(
        output_dir=tmp_path,
        batch_size=5,
        window=5,
        sync_every=10,
        sync_seconds=3600,
        sync_min_seconds=sync_min_seconds,
    )


def test_sinks_and_journal_sync_on_the_policy_and_at_the_end(tmp_path: Path) -> None:
    """With sync_every=10 a 45-record run in batches of 5 syncs 4 times, plus once at the end."""
    reset()
    run_task(task(tmp_path, 45), every_ten_records(tmp_path, sync_min_seconds=0))
    assert FlakySink.syncs == 5


def test_syncs_by_count_wait_for_the_minimum_interval(tmp_path: Path) -> None:
    """``sync_every`` records do not force a sync sooner than ``sync_min_seconds`` after the
    last one: a run far shorter than that syncs once, at the end, with every record kept."""
    reset()
    result = run_task(task(tmp_path, 45), every_ten_records(tmp_path, sync_min_seconds=3600))
    assert FlakySink.syncs == 1
    assert result.done == 45
    assert len((tmp_path / "out.jsonl").read_text().splitlines()) == 45


def test_a_full_disk_stops_the_run_cleanly_and_resume_completes(tmp_path: Path) -> None:
    """A sink error ends the run with that error; the journal holds only what was written,
    so a resume after the disk is freed writes every record exactly once."""
    reset(fail_after=3)
    with pytest.raises(SinkError, match="No space left on device"):
        run_task(task(tmp_path, 40), RunOptions(output_dir=tmp_path, batch_size=5, window=5))
    written = (tmp_path / "out.jsonl").read_text().splitlines()
    assert 3 <= len(written) <= 15  # three whole batches, as many as the writer had taken
    reset()
    result = run_task(
        task(tmp_path, 40), RunOptions(output_dir=tmp_path, resume=True, batch_size=5, window=5)
    )
    ids = [json.loads(line)["id"] for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert (result.done, result.previously_done) == (40 - len(written), len(written))
    assert sorted(ids, key=int) == [str(i) for i in range(40)]


def test_two_runs_on_one_output_folder_are_refused(tmp_path: Path) -> None:
    """While one run holds an output folder, a second run there fails at once, naming it."""
    reset()
    errors: list[BaseException] = []
    started = threading.Event()

    def first() -> None:
        started.set()
        run_task(task(tmp_path, 30, slow=0.05), RunOptions(output_dir=tmp_path, window=2))

    thread = threading.Thread(target=first)
    thread.start()
    started.wait()
    lock = tmp_path / "out.journal.lock"
    for _ in range(200):
        if lock.exists() and (tmp_path / "out.journal.jsonl").exists():
            break
        threading.Event().wait(0.01)
    try:
        run_task(task(tmp_path, 30), RunOptions(output_dir=tmp_path, resume=True))
    except ResumeError as exc:
        errors.append(exc)
    thread.join()
    assert len(errors) == 1
    assert "another grasp run is writing" in str(errors[0])
    again = run_task(task(tmp_path, 30), RunOptions(output_dir=tmp_path, resume=True))
    assert again.previously_done == 30
