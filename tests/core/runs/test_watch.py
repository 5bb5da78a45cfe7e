"""Watching a run from outside: the progress file every run keeps, and ``run_status``."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import anyio
import pytest

import grasp_core
from grasp_core import END, START, Graph
from grasp_core.runs import RunLock
from grasp_core.runs.watch import journal_counts
from tests.conftest import write_task

TASK = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out/rows.jsonl}
graph_config:
  nodes:
    copy: {node_type: lambda, lambda: steps.copy, output_keys: copied}
  edges:
    - {from: START, to: copy}
    - {from: copy, to: END}
"""


def _task(folder: Path, records: int = 5) -> Path:
    rows = "".join(json.dumps({"id": str(i), "text": f"t{i}"}) + "\n" for i in range(records))
    steps = "def copy(state):\n    return state['text']\n"
    return write_task(folder, TASK, {"data.jsonl": rows, "steps.py": steps})


def test_a_finished_run_leaves_a_final_progress_file(tmp_path: Path) -> None:
    """Beside the output: ``NAME.progress.json`` with the last counters and metrics, marked
    final; ``run_status`` says finished with the summary."""
    task = _task(tmp_path)
    grasp_core.run(task)
    written = json.loads((tmp_path / "out" / "rows.progress.json").read_text())
    assert written["final"] is True
    assert written["pid"] == os.getpid()
    assert written["progress"]["done"] == 5
    assert written["progress"]["total"] == 5
    assert "nodes" in written["metrics"]
    status = grasp_core.run_status(task)
    assert status.state == "finished"
    assert status.progress is not None
    assert status.progress["done"] == 5
    assert status.summary is not None
    assert status.summary["done"] == 5
    assert status.journal == {"done": 5, "failed": 0}
    assert status.output == tmp_path / "out" / "rows.jsonl"


def test_a_run_in_progress_is_seen_running_with_its_counters(tmp_path: Path) -> None:
    """While a run waits on its third record, another reader sees it running, two records
    done and one in flight; once released, finished with all three."""
    gate = threading.Event()
    reached = threading.Event()

    def slow(state: dict[str, Any]) -> str:
        if state["id"] == "2":
            reached.set()
            gate.wait(60)
        return str(state["text"])

    graph = (
        Graph()
        .add_node("copy", "lambda", output_keys="copied", run_in="thread", **{"lambda": slow})
        .add_edge(START, "copy")
        .add_edge("copy", END)
    )
    rows = tmp_path / "data.jsonl"
    rows.write_text("".join(json.dumps({"id": str(i), "text": "x"}) + "\n" for i in range(3)))
    task = graph.to_task(
        data_config={
            "source": {"type": "disk", "file_path": str(rows)},
            "sink": {"type": "jsonl", "file_path": str(tmp_path / "out.jsonl")},
        },
        task_dir=tmp_path,
    )
    result: list[Any] = []
    runner = threading.Thread(target=lambda: result.append(grasp_core.run(task, batch_size=1)))
    runner.start()
    try:
        assert reached.wait(60)
        seen = None
        for _ in range(600):  # the progress file is rewritten every second: bounded wait
            seen = grasp_core.run_status(task)
            if seen.progress is not None and seen.progress["done"] == 2:
                break
            threading.Event().wait(0.05)
        assert seen is not None
        assert seen.state == "running"
        assert seen.progress is not None
        assert seen.progress["done"] == 2
        assert seen.progress["in_flight"] == 1
    finally:
        gate.set()
        runner.join(60)
    assert result[0].done == 3
    assert grasp_core.run_status(task).state == "finished"


def test_a_killed_run_is_told_from_a_stopped_one(tmp_path: Path) -> None:
    """A progress file never marked final, and a lock naming a process that is gone: the
    run died (resumable); a summary saying interrupted: stopped; no files: none."""
    task = _task(tmp_path)
    assert grasp_core.run_status(task).state == "none"
    out = tmp_path / "out"
    out.mkdir()
    (out / "rows.journal.jsonl").write_text('{"e":"run","v":1}\n')
    (out / "rows.progress.json").write_text(json.dumps({"final": False, "progress": {"done": 1}}))
    (out / "rows.journal.lock").write_text("999999999\n")  # no such process
    assert grasp_core.run_status(task).state == "died"
    (out / "rows.progress.json").write_text(json.dumps({"final": True, "progress": {"done": 1}}))
    (out / "rows.summary.json").write_text(json.dumps({"interrupted": True, "done": 1}))
    assert grasp_core.run_status(task).state == "stopped"


def test_the_journal_is_counted_without_being_changed(tmp_path: Path) -> None:
    """Done and failed records (a record failed then done counts once, as done); a torn last
    line, as a running run may have it, is skipped and left as it is."""
    journal = tmp_path / "x.journal.jsonl"
    text = (
        '{"e":"run","v":1}\n'
        '{"e":"record_done","ids":["a","b"],"tokens":{}}\n'
        '{"e":"record_failed","failures":[{"id":"c"},{"id":"d"}],"tokens":{}}\n'
        '{"e":"record_done","ids":["d"],"tokens":{}}\n'
        '{"e":"record_done","ids":["e"'
    )
    journal.write_text(text)
    assert journal_counts(journal) == {"done": 3, "failed": 1}
    assert journal.read_text() == text
    assert journal_counts(tmp_path / "missing.jsonl") == {"done": 0, "failed": 0}


def test_a_lock_is_held_only_by_a_live_process(tmp_path: Path) -> None:
    """No file, an empty one, a dead process: not held; this process's id: held. Looking
    takes no lock (a run can still take it)."""
    path = tmp_path / "x.journal.lock"
    assert RunLock.held(path) is False
    path.write_text("")
    assert RunLock.held(path) is False
    path.write_text("999999999\n")
    assert RunLock.held(path) is False
    lock = RunLock(path)
    lock.acquire()
    try:
        assert RunLock.held(path) is True
    finally:
        lock.release()
    assert RunLock.held(path) is False


def test_a_slow_progress_write_spaces_out_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write that took 1 s (the metrics of a huge run) is followed by a wait of 50 s, so
    the file takes at most 2% of the run's event loop; a quick one, by the 1 s interval.
    The last write, when the run ends, is marked final."""
    from grasp_core.observe.metrics import RunMetrics
    from grasp_core.observe.progress import ProgressSnapshot
    from grasp_core.runs import watch

    clock = iter([0.0, 1.0, 10.0, 10.001])  # two writes: 1 s, then 1 ms
    monkeypatch.setattr(watch.time, "perf_counter", lambda: next(clock))
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 2:
            raise RuntimeError("the run ended")

    monkeypatch.setattr(watch.anyio, "sleep", sleep)
    snapshot = ProgressSnapshot(0, 0, 0, 0, 0, None, 0.0, 0, 0, 0.0)
    target = tmp_path / "x.progress.json"
    writer = watch.ProgressFile(target, lambda _elapsed: snapshot, RunMetrics())
    with pytest.raises(RuntimeError, match="the run ended"):
        anyio.run(writer.run)
    assert waits == [pytest.approx(50.0), 1.0]
    assert json.loads(target.read_text())["final"] is True


def test_a_ray_runs_progress_is_the_sum_of_its_shards(tmp_path: Path) -> None:
    """No progress file of its own, but shards each writing theirs (``NAME.shards/
    shard-NNNNN/output.progress.json``): the counters add up, and the time left is
    computed from the summed rate; once every shard's file is final, so is the run's."""
    task = _task(tmp_path)
    shards = tmp_path / "out" / "rows.shards"
    for index, (done, final) in enumerate([(30, False), (20, True)]):
        folder = shards / f"shard-{index:05d}"
        folder.mkdir(parents=True)
        progress = {"done": done, "failed": 1, "in_flight": 4, "total": 100, "earlier": 0}
        progress |= {"rate_per_s": 5.0, "cost_usd": 0.25, "elapsed_s": 10.0 + index}
        body = {"final": final, "updated": 100.0 + index, "progress": progress}
        (folder / "output.progress.json").write_text(json.dumps(body))
    status = grasp_core.run_status(task)
    assert status.progress is not None
    assert status.progress["done"] == 50
    assert status.progress["failed"] == 2
    assert status.progress["in_flight"] == 8
    assert status.progress["total"] == 200
    assert status.progress["cost_usd"] == 0.5
    assert status.progress["eta_s"] == round((200 - 52) / 10.0, 1)
    assert status.progress["shards"] == 2
    assert status.state == "died"  # not final, and no process holds the run's lock
    body["final"] = True
    (shards / "shard-00000" / "output.progress.json").write_text(json.dumps(body))
    (tmp_path / "out" / "rows.summary.json").write_text(json.dumps({"interrupted": False}))
    assert grasp_core.run_status(task).state == "finished"
