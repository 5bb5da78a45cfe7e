"""``grasp run --ordered`` and a sink's ``ordered: true``: the output in source order, also
across an interruption and ``--resume``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grasp_core.cli import main
from grasp_core.cli.options import EXIT_INTERRUPTED, EXIT_OK
from tests.conftest import copy_task_yaml, write_task

IDS = [f"r{i:03d}" for i in range(40)]
STEPS = """
import os

import anyio.lowlevel


async def copy(state):
    # later records take fewer turns of the event loop, so records finish out of order
    n = int(state["id"][1:])
    if os.environ.get("STOP_AT") == state["id"]:
        raise KeyboardInterrupt
    for _ in range((40 - n) % 9):
        await anyio.lowlevel.checkpoint()
    return state["id"]
"""


def make_task(folder: Path, sink: str = "{type: jsonl, file_path: out.jsonl}") -> Path:
    rows = "".join(json.dumps({"id": i}) + "\n" for i in IDS)
    return write_task(folder, copy_task_yaml(sink), {"data.jsonl": rows, "steps.py": STEPS})


def output_ids(path: Path) -> list[str]:
    return [json.loads(line)["id"] for line in path.read_text(encoding="utf-8").splitlines()]


def test_completion_order_is_the_default(tmp_path: Path) -> None:
    """Without --ordered, records that finish first are written first (the reason the
    other tests here can tell the two apart)."""
    task = make_task(tmp_path)
    assert main(["run", str(task), "--quiet", "--window", "8"]) == EXIT_OK
    written = output_ids(tmp_path / "out.jsonl")
    assert sorted(written) == IDS
    assert written != IDS


@pytest.mark.parametrize("how", ["flag", "sink"])
def test_ordered_writes_in_source_order(tmp_path: Path, how: str) -> None:
    """`--ordered`, or `ordered: true` on the sink: the output holds the records in the
    order the source gives them."""
    if how == "flag":
        task, extra = make_task(tmp_path), ["--ordered"]
    else:
        task, extra = make_task(tmp_path, "{type: jsonl, file_path: out.jsonl, ordered: true}"), []
    assert main(["run", str(task), "--quiet", "--window", "8", *extra]) == EXIT_OK
    assert output_ids(tmp_path / "out.jsonl") == IDS


def test_ordered_output_continues_in_order_after_a_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Interrupted mid-run, an ordered run has written a prefix of the source in order (the
    records it held are redone); the resume appends the rest in order: the whole file is in
    source order, each record once."""
    task = make_task(tmp_path)
    out = tmp_path / "out.jsonl"
    args = ["run", str(task), "--quiet", "--window", "8", "--ordered"]
    monkeypatch.setenv("STOP_AT", "r025")
    assert main(args) == EXIT_INTERRUPTED
    first = output_ids(out)
    assert first == IDS[: len(first)]
    assert len(first) <= 25
    monkeypatch.delenv("STOP_AT")
    assert main([*args, "--resume"]) == EXIT_OK
    assert output_ids(out) == IDS


def test_ordered_is_refused_with_the_ray_executor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ray shards are merged shard by shard: asking for source order there is one clear
    error before any shard starts, not an output silently out of order."""
    task = make_task(tmp_path, "{type: jsonl, file_path: out.jsonl, ordered: true}")
    assert main(["run", str(task), "--quiet", "--executor", "ray"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("grasp: error: source order (--ordered, or a sink's `ordered: true`)")
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out.jsonl").exists()
