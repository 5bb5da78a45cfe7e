"""The lambda node: how return values become state updates, and where user code runs."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from grasp_core import CompileError, RunOptions, RunResult, Task, run_task_async

pytestmark = pytest.mark.anyio

STEPS = """\
import sys
import threading
from pathlib import Path


def both(state):
    return {"a": state["n"], "b": state["n"] * 10}


def only_a(state):
    return {"a": 1}


def plain(state):
    return state["n"] + 1


def foreign_dict(state):
    return {"x": 1, "y": 2}


def own_key_dict(state):
    return {"k": "direct"}


def stray_key(state):
    return {"a": 1, "zzz": 2}


def not_a_dict(state):
    return 5


def where(state):
    return {"off_main": threading.current_thread() is not threading.main_thread()}


async def on_loop(state):
    return {"on_main": threading.current_thread() is threading.main_thread()}


def boom(state):
    raise ValueError(f"cannot handle n={state['n']}")


class Doubler:
    def apply(self, state):
        return state["n"] * 2


class Tripler:
    def __call__(self, state):
        return state["n"] * 3


def exits(state):
    if state["n"] == 1:
        sys.exit(3)
    return state["n"]


async def exits_async(state):
    return exits(state)


def interrupts(state):
    if state["n"] == 3 and Path(__file__).with_name("interrupt").exists():
        raise KeyboardInterrupt
    return state["n"]


async def interrupts_async(state):
    return interrupts(state)


def route_interrupts(state):
    interrupts(state)
    return "END"


def number(state):
    return state["n"]
"""


@pytest.fixture(autouse=True)
def _restore_import_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dotted paths put task folders on sys.path; undo that after each test."""
    monkeypatch.setattr(sys, "path", [*sys.path])


def lambda_task(folder: Path, node: dict[str, Any], records: int = 2) -> Task:
    """A one-node task over ``records`` input rows ``{"id": "r<i>", "n": i}``."""
    (folder / "steps.py").write_text(textwrap.dedent(STEPS), encoding="utf-8")
    rows = "".join(json.dumps({"id": f"r{i}", "n": i}) + "\n" for i in range(records))
    (folder / "data.jsonl").write_text(rows, encoding="utf-8")
    return Task.from_dict(
        {
            "data_config": {"source": {"type": "disk", "file_path": "data.jsonl"}},
            "graph_config": {
                "nodes": {"step": {"node_type": "lambda", **node}},
                "edges": [{"from": "START", "to": "step"}, {"from": "step", "to": "END"}],
            },
        },
        task_dir=folder,
    )


async def run(folder: Path, node: dict[str, Any], records: int = 2) -> RunResult:
    task = lambda_task(folder, node, records)
    return await run_task_async(task, RunOptions(output_dir=folder / "out"))


def by_id(result: RunResult) -> dict[str, dict[str, Any]]:
    return {record["id"]: record for record in result.records()}


def failures(result: RunResult) -> list[dict[str, Any]]:
    lines = result.failures_path.read_text(encoding="utf-8").splitlines()
    return sorted((json.loads(line) for line in lines), key=lambda f: f["id"])


async def test_dict_with_output_keys_is_applied_key_by_key(tmp_path: Path) -> None:
    """A dict whose keys are among output_keys updates exactly those keys."""
    result = await run(tmp_path, {"lambda": "steps.both", "output_keys": ["a", "b"]})
    assert by_id(result) == {
        "r0": {"id": "r0", "n": 0, "a": 0, "b": 0},
        "r1": {"id": "r1", "n": 1, "a": 1, "b": 10},
    }


async def test_dict_may_update_a_subset_of_output_keys(tmp_path: Path) -> None:
    """Returning fewer keys than output_keys leaves the others unset."""
    result = await run(tmp_path, {"lambda": "steps.only_a", "output_keys": ["a", "b"]}, 1)
    assert by_id(result) == {"r0": {"id": "r0", "n": 0, "a": 1}}


async def test_single_output_key_takes_any_value(tmp_path: Path) -> None:
    """With one output key, a non-dict return value becomes that key's value."""
    result = await run(tmp_path, {"lambda": "steps.plain", "output_keys": "k"})
    assert {rid: r["k"] for rid, r in by_id(result).items()} == {"r0": 1, "r1": 2}


async def test_single_output_key_takes_a_foreign_dict_whole(tmp_path: Path) -> None:
    """With one output key, a dict with other keys is that key's value, not an update."""
    result = await run(tmp_path, {"lambda": "steps.foreign_dict", "output_keys": ["k"]}, 1)
    assert by_id(result)["r0"]["k"] == {"x": 1, "y": 2}


async def test_single_output_key_dict_naming_it_is_an_update(tmp_path: Path) -> None:
    """With one output key, a dict keyed by it is applied as an update, not nested."""
    result = await run(tmp_path, {"lambda": "steps.own_key_dict", "output_keys": "k"}, 1)
    assert by_id(result)["r0"]["k"] == "direct"


async def test_key_outside_output_keys_fails_the_record(tmp_path: Path) -> None:
    """Returning a key not in output_keys is a NodeError naming that key."""
    result = await run(tmp_path, {"lambda": "steps.stray_key", "output_keys": ["a", "b"]})
    assert (result.done, result.failed) == (0, 2)
    (first, _) = failures(result)
    assert (first["id"], first["node"], first["error"]) == ("r0", "step", "NodeError")
    assert "returned key(s) 'zzz' outside output_keys ['a', 'b']" in first["reason"]
    assert "record 'r0'" in first["reason"]


async def test_several_output_keys_need_a_dict(tmp_path: Path) -> None:
    """With several output keys, a non-dict return value is a NodeError."""
    result = await run(tmp_path, {"lambda": "steps.not_a_dict", "output_keys": ["a", "b"]}, 1)
    (failure,) = failures(result)
    assert failure["error"] == "NodeError"
    reason = failure["reason"]
    assert "returned a int, but a node with several output_keys must return a dict" in reason


async def test_exception_in_user_code_fails_only_that_record(tmp_path: Path) -> None:
    """An exception raised by the function lands in the failures file with node and type."""
    result = await run(tmp_path, {"lambda": "steps.boom", "output_keys": "k"})
    assert result.failed == 2
    reasons = [f["reason"] for f in failures(result)]
    assert reasons == [
        "record 'r0', node 'step': ValueError: cannot handle n=0",
        "record 'r1', node 'step': ValueError: cannot handle n=1",
    ]


async def test_sync_function_runs_in_a_worker_thread(tmp_path: Path) -> None:
    """With `run_in: thread` a plain function runs off the event loop's thread."""
    node = {"lambda": "steps.where", "output_keys": "off_main", "run_in": "thread"}
    result = await run(tmp_path, node)
    assert [r["off_main"] for r in result.records()] == [True, True]


async def test_cheap_sync_function_runs_on_the_loop_by_default(tmp_path: Path) -> None:
    """By default (`run_in: auto`) a plain function that does not block runs on the loop."""
    result = await run(tmp_path, {"lambda": "steps.where", "output_keys": "off_main"})
    assert [r["off_main"] for r in result.records()] == [False, False]


async def test_inline_sync_function_runs_on_the_loop(tmp_path: Path) -> None:
    """With `inline: true` a plain function runs on the event loop's thread."""
    node = {"lambda": "steps.where", "output_keys": "off_main", "inline": True}
    result = await run(tmp_path, node)
    assert [r["off_main"] for r in result.records()] == [False, False]


async def test_async_function_runs_on_the_loop(tmp_path: Path) -> None:
    """An `async def` function is awaited on the event loop, not sent to a thread."""
    result = await run(tmp_path, {"lambda": "steps.on_loop", "output_keys": "on_main"})
    assert [r["on_main"] for r in result.records()] == [True, True]


@pytest.mark.parametrize(("spec", "factor"), [("steps.Doubler", 2), ("steps.Tripler", 3)])
async def test_class_with_apply_or_call_is_instantiated_once(
    tmp_path: Path, spec: str, factor: int
) -> None:
    """A class is created with no arguments; its `apply` (else `__call__`) is the function."""
    result = await run(tmp_path, {"lambda": spec, "output_keys": "k"}, 3)
    assert {rid: r["k"] for rid, r in by_id(result).items()} == {
        "r0": 0,
        "r1": factor,
        "r2": 2 * factor,
    }


async def test_missing_output_keys_is_a_config_error(tmp_path: Path) -> None:
    """A lambda node without output_keys is refused before any record runs."""
    with pytest.raises(CompileError, match="lambda node 'step' needs output_keys") as info:
        await run(tmp_path, {"lambda": "steps.plain"})
    assert "graph_config.nodes.step" in str(info.value)
    assert not (tmp_path / "out").exists()


async def test_unknown_lambda_path_is_a_config_error(tmp_path: Path) -> None:
    """A dotted path to a missing function names the module and the attribute."""
    with pytest.raises(CompileError, match="'steps' has no attribute 'nothing'"):
        await run(tmp_path, {"lambda": "steps.nothing", "output_keys": "k"})


USER_CODE_RUNS = {
    "in a thread": {"lambda": "steps.{}", "run_in": "thread"},
    "auto": {"lambda": "steps.{}"},
    "inline": {"lambda": "steps.{}", "inline": True},
    "async": {"lambda": "steps.{}_async"},
}


def node_running(function: str, where: str) -> dict[str, Any]:
    spec = USER_CODE_RUNS[where]
    return {**spec, "lambda": spec["lambda"].format(function), "output_keys": "k"}


@pytest.mark.parametrize("where", USER_CODE_RUNS)
async def test_sys_exit_fails_only_that_record(tmp_path: Path, where: str) -> None:
    """sys.exit(3) in a lambda (thread, auto, inline or async) fails its record with a reason that
    says so; the run and the other records go on."""
    result = await run(tmp_path, node_running("exits", where), 3)
    assert {rid: r["k"] for rid, r in by_id(result).items()} == {"r0": 0, "r2": 2}
    (failure,) = failures(result)
    assert (failure["id"], failure["node"], failure["error"]) == ("r1", "step", "NodeError")
    assert failure["reason"].startswith("record 'r1', node 'step': the lambda called sys.exit(3);")


@pytest.mark.parametrize("where", USER_CODE_RUNS)
async def test_keyboard_interrupt_stops_the_run_like_ctrl_c(tmp_path: Path, where: str) -> None:
    """KeyboardInterrupt from a lambda stops the run as Ctrl-C does: the run returns as
    interrupted, that record is neither written nor failed, and a resume writes every record
    exactly once."""
    node = node_running("interrupts", where)
    task = lambda_task(tmp_path, node, 8)
    (tmp_path / "interrupt").touch()
    first = await run_task_async(task, RunOptions(output_dir=tmp_path / "out", window=2))
    assert first.interrupted
    assert first.failed == 0
    assert "r3" not in by_id(first)

    (tmp_path / "interrupt").unlink()
    resumed = await run_task_async(task, RunOptions(output_dir=tmp_path / "out", resume=True))
    assert not resumed.interrupted
    assert (resumed.failed, resumed.previously_failed) == (0, 0)
    assert resumed.done + resumed.previously_done == 8
    ids = [r["id"] for r in resumed.records()]
    assert sorted(ids) == [f"r{i}" for i in range(8)]


EDGES_AFTER_STEP = {
    "lambda": "- {from: step, to: END}",
    "condition": "- {from: step, condition: steps.route_interrupts, path_map: {END: END}}",
}


@pytest.mark.parametrize("raised_by", EDGES_AFTER_STEP)
def test_keyboard_interrupt_in_a_lambda_exits_130_with_the_resume_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], raised_by: str
) -> None:
    """From the CLI, a KeyboardInterrupt from a lambda or an edge condition ends `grasp run`
    like Ctrl-C: exit code 130, the command that resumes, no traceback."""
    from grasp_core.cli import main

    lambda_task(tmp_path, {}, 8)  # writes steps.py and data.jsonl
    (tmp_path / "interrupt").touch()
    task = tmp_path / "task.yaml"
    task.write_text(
        textwrap.dedent(
            """\
            data_config:
              source: {type: disk, file_path: data.jsonl}
              sink: {type: jsonl, file_path: out/result.jsonl}
            graph_config:
              nodes:
                step: {node_type: lambda, lambda: steps.%s, output_keys: k}
              edges:
                - {from: START, to: step}
                %s
            """
        )
        % ("interrupts" if raised_by == "lambda" else "number", EDGES_AFTER_STEP[raised_by]),
        encoding="utf-8",
    )
    assert main(["run", str(task), "--quiet"]) == 130
    err = capsys.readouterr().err
    assert f"grasp run {task} --resume" in err
    assert "stopped early" in err  # the run stopped itself, as on Ctrl-C
    assert "Traceback" not in err


@pytest.mark.parametrize("value", ["'text'", "3", "2.5", "True", "None", "[1, 'a']", "(1, 2)"])
async def test_the_fast_path_for_plain_values_gives_the_general_paths_update(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    """A function returning a str, number, bool, None, list or tuple under one output key
    skips the mapping checks; its records are those of the general path (fast path off)."""
    from grasp_nodes import lambda_node

    (tmp_path / "values.py").write_text(f"def value(state):\n    return {value}\n")
    outputs = []
    for fast in (lambda_node._NOT_MAPPINGS, frozenset()):
        monkeypatch.setattr(lambda_node, "_NOT_MAPPINGS", fast)
        folder = tmp_path / f"run{len(outputs)}"
        folder.mkdir()
        (folder / "values.py").write_text((tmp_path / "values.py").read_text())
        result = await run(folder, {"lambda": "values.value", "output_keys": "k"})
        outputs.append(by_id(result))
    assert outputs[0] == outputs[1]
    assert outputs[0]["r0"]["k"] == json.loads(json.dumps(eval(value)))
