"""Resuming from any prefix of a journal gives the uninterrupted run's output, exactly once."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grasp_core import RunOptions, run_task
from grasp_core.config.task_file import Task

CALLS: Counter[tuple[str, str]] = Counter()


def counted(node: str, fn: Any) -> Any:
    def run(state: Mapping[str, Any]) -> Any:
        CALLS[(str(state["id"]), node)] += 1
        return fn(state)

    return run


def make_task(folder: Path) -> Task:
    lam = lambda name, fn, key: {  # noqa: E731
        "node_type": "lambda",
        "lambda": counted(name, fn),
        "output_keys": key,
        "inline": True,
    }
    data = {
        "data_config": {
            "source": {"type": "disk", "file_path": "in.jsonl"},
            "sink": {"type": "jsonl", "file_path": "out.jsonl"},
        },
        "graph_config": {
            "nodes": {
                "gen": lam("gen", lambda s: s.get("n", 0) + 1, "n"),
                "left": lam("left", lambda s: s["n"] * 10, "left"),
                "right": lam("right", lambda s: f"r{s['id']}", "right"),
                "join": lam("join", lambda s: f"{s['left']}-{s['right']}", "joined"),
            },
            "edges": [
                {"from": "START", "to": "gen"},
                {"from": "gen", "to": "left"},
                {"from": "gen", "to": "right"},
                {"from": "left", "to": "join"},
                {"from": "right", "to": "join"},
                {
                    "from": "join",
                    "condition": lambda s: "done" if s["n"] >= s["id"] % 3 + 1 else "again",
                    "path_map": {"done": "END", "again": "gen"},
                },
            ],
        },
    }
    return Task.from_dict(data, task_dir=folder)


def reference_run(folder: Path) -> None:
    folder.mkdir(parents=True)
    rows = "".join(json.dumps({"id": i}) + "\n" for i in range(12))
    (folder / "in.jsonl").write_text(rows)
    run_task(make_task(folder), RunOptions(batch_size=3, window=4))


def node_runs(journal: bytes) -> Counter[tuple[str, str]]:
    complete = journal[: journal.rfind(b"\n") + 1].decode().splitlines()
    events = [json.loads(line) for line in complete]
    return Counter((e["r"], e["n"]) for e in events if e["e"] == "node_done")


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cut=st.floats(min_value=0.0, max_value=1.0))
def test_resume_from_any_journal_prefix(tmp_path: Path, cut: float) -> None:
    """Cut the journal anywhere (mid-line too), keep the whole sink: resume restores exactly."""
    reference = tmp_path / "reference"
    if not reference.exists():
        reference_run(reference)
    expected = sorted((reference / "out.jsonl").read_text().splitlines())
    journal = (reference / "out.journal.jsonl").read_bytes()
    work = tmp_path / f"work-{len(list(tmp_path.iterdir()))}"
    shutil.copytree(reference, work)
    prefix = journal[: int(len(journal) * cut)]
    (work / "out.journal.jsonl").write_bytes(prefix)
    CALLS.clear()
    result = run_task(make_task(work), RunOptions(resume=True, batch_size=3, window=4))
    assert result.failed == 0
    assert sorted((work / "out.jsonl").read_text().splitlines()) == expected
    assert node_runs(journal) - node_runs(prefix) == CALLS
