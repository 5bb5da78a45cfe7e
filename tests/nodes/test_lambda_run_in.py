"""Where plain `def` lambdas and conditions run: `run_in: auto` moves blocking ones to threads."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from grasp_core import CompileError, RunOptions, RunResult, Task, run_task_async
from grasp_core.config.run_in import PROBE_CALLS

pytestmark = pytest.mark.anyio

STEPS = """\
import threading
import time


def on_loop():
    return threading.current_thread() is threading.main_thread()


def blocks(state):
    time.sleep(0.06)  # over SLOW_CALL_SECONDS (0.05) on every call
    return {"square": state["n"] ** 2, "on_loop": on_loop()}


def a_little_slow(state):
    time.sleep(0.003)  # under SLOW_CALL_SECONDS, over PROBE_MEDIAN_SECONDS (0.002)
    return {"square": state["n"] ** 2, "on_loop": on_loop()}


def blocking_route(state):
    time.sleep(0.06)
    return "loop" if on_loop() else "thread"


def mark(state):
    return True
"""


@pytest.fixture(autouse=True)
def _restore_import_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dotted paths put task folders on sys.path; undo that after each test."""
    monkeypatch.setattr(sys, "path", [*sys.path])
    monkeypatch.delitem(sys.modules, "steps", raising=False)


def write_data(folder: Path, records: int) -> None:
    (folder / "steps.py").write_text(textwrap.dedent(STEPS), encoding="utf-8")
    rows = "".join(json.dumps({"id": f"r{i}", "n": i}) + "\n" for i in range(records))
    (folder / "data.jsonl").write_text(rows, encoding="utf-8")


async def run_graph(folder: Path, graph: dict[str, Any], records: int) -> RunResult:
    write_data(folder, records)
    task = Task.from_dict(
        {
            "data_config": {"source": {"type": "disk", "file_path": "data.jsonl"}},
            "graph_config": graph,
        },
        task_dir=folder,
    )
    return await run_task_async(task, RunOptions(output_dir=folder / "out"))


async def run_lambda(folder: Path, node: dict[str, Any], records: int) -> RunResult:
    step = {"node_type": "lambda", "output_keys": ["square", "on_loop"], **node}
    graph = {
        "nodes": {"step": step},
        "edges": [{"from": "START", "to": "step"}, {"from": "step", "to": "END"}],
    }
    return await run_graph(folder, graph, records)


def by_id(result: RunResult) -> dict[str, dict[str, Any]]:
    return {record["id"]: record for record in result.records()}


def warnings(logs: list[dict[str, Any]]) -> list[str]:
    return [str(entry["event"]) for entry in logs if entry["log_level"] == "warning"]


async def test_a_blocking_function_moves_to_threads_with_one_warning(tmp_path: Path) -> None:
    """Under `run_in: auto`, a plain function whose calls hold the loop over 50 ms runs in
    worker threads from its third call on (a second such call is no accident of a busy
    machine); one warning names its node."""
    with capture_logs() as logs:
        result = await run_lambda(tmp_path, {"lambda": "steps.blocks"}, 4)
    records = by_id(result)
    assert {rid: r["square"] for rid, r in records.items()} == {"r0": 0, "r1": 1, "r2": 4, "r3": 9}
    assert sorted(r["on_loop"] for r in records.values()) == [False, False, True, True]
    (warning,) = warnings(logs)
    assert warning.startswith("node 'step': steps.blocks: two calls held the event loop")
    assert "runs in worker threads for the rest of the run" in warning


async def test_slow_first_calls_move_a_function_by_their_median(tmp_path: Path) -> None:
    """A function whose first calls each hold the loop over 2 ms (none over 50 ms) runs on the
    loop for those calls and in threads after them."""
    records = PROBE_CALLS + 4
    with capture_logs() as logs:
        result = await run_lambda(tmp_path, {"lambda": "steps.a_little_slow"}, records)
    outputs = list(result.records())
    assert sorted(r["square"] for r in outputs) == [n**2 for n in range(records)]
    (warning,) = warnings(logs)
    assert "runs in worker threads for the rest of the run" in warning
    if "its first" in warning:  # unless a stalled machine stretched two calls
        assert f"its first {PROBE_CALLS} calls held the event loop" in warning
        assert sum(r["on_loop"] for r in outputs) == PROBE_CALLS


async def test_run_in_loop_keeps_a_blocking_function_on_the_loop(tmp_path: Path) -> None:
    """`run_in: loop` never moves a function (it warns once); the results are the same as
    under `auto` or `thread`."""
    squares: dict[str, dict[str, int]] = {}
    placed: dict[str, list[bool]] = {}
    for run_in in ("loop", "auto", "thread"):
        folder = tmp_path / run_in
        folder.mkdir()
        with capture_logs() as logs:
            result = await run_lambda(folder, {"lambda": "steps.blocks", "run_in": run_in}, 3)
        squares[run_in] = {rid: r["square"] for rid, r in by_id(result).items()}
        placed[run_in] = sorted(r["on_loop"] for r in result.records())
        if run_in == "loop":
            (warning,) = warnings(logs)
            assert "held the event loop" in warning
            assert "run_in: loop" in warning
    assert squares["loop"] == squares["auto"] == squares["thread"] == {"r0": 0, "r1": 1, "r2": 4}
    assert placed == {
        "loop": [True, True, True],
        "auto": [False, True, True],
        "thread": [False, False, False],
    }


async def test_a_blocking_condition_moves_to_threads(tmp_path: Path) -> None:
    """Edge conditions are placed the same way: the first two calls of a blocking one run on
    the loop, later ones in threads, and each record takes the route its condition returned."""
    mark = {"node_type": "lambda", "lambda": "steps.mark", "run_in": "loop"}
    graph = {
        "nodes": {
            "loop": {**mark, "output_keys": "loop"},
            "thread": {**mark, "output_keys": "thread"},
        },
        "edges": [
            {
                "from": "START",
                "condition": "steps.blocking_route",
                "path_map": {"loop": "loop", "thread": "thread"},
            },
            {"from": "loop", "to": "END"},
            {"from": "thread", "to": "END"},
        ],
    }
    with capture_logs() as logs:
        result = await run_graph(tmp_path, graph, 4)
    routes = sorted("loop" if "loop" in r else "thread" for r in result.records())
    assert routes == ["loop", "loop", "thread", "thread"]
    (warning,) = warnings(logs)
    assert warning.startswith("the condition of graph_config.edges[0]: steps.blocking_route:")


async def test_inline_with_another_run_in_is_a_config_error(tmp_path: Path) -> None:
    """`inline: true` (the older `run_in: loop`) beside a different `run_in` is refused."""
    node = {"lambda": "steps.blocks", "inline": True, "run_in": "thread"}
    with pytest.raises(CompileError, match=r"`inline: true` means `run_in: loop`") as info:
        await run_lambda(tmp_path, node, 1)
    assert "graph_config.nodes.step" in str(info.value)
