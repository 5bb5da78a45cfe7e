"""Options every node type has: idle state, timeout, retry override, pre/post-process hooks;
and multiturn chat history as each llm node sees it, message by message."""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anyio

from grasp_core import RunOptions, RunResult, run_task
from grasp_core.config.task_file import Task
from grasp_core.mock_server import MockServer


def run(tmp_path: Path, nodes: dict[str, Any], edges: list[dict[str, Any]], **kw: Any) -> RunResult:
    graph = {"nodes": nodes, "edges": edges, **kw.pop("graph", {})}
    data = {"data_config": {"num_records": kw.pop("n", 1)}, "graph_config": graph}
    return run_task(Task.from_dict(data, task_dir=tmp_path), RunOptions(output_dir=tmp_path, **kw))


def chain(*names: str) -> list[dict[str, Any]]:
    path = ["START", *names, "END"]
    return [{"from": a, "to": b} for a, b in itertools.pairwise(path)]


def lam(fn: Any, key: str, **extra: Any) -> dict[str, Any]:
    return {"node_type": "lambda", "lambda": fn, "output_keys": key, **extra}


def records(result: RunResult) -> list[dict[str, Any]]:
    return list(result.records())


def failures(result: RunResult) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.failures_path.read_text().splitlines()]


def test_idle_node_is_skipped_and_edges_pass_through(tmp_path: Path) -> None:
    """An idle node does no work; the nodes after it still run."""
    calls: list[str] = []

    def step(name: str) -> Any:
        return lambda s: calls.append(name) or name

    result = run(
        tmp_path,
        {
            "a": lam(step("a"), "a"),
            "b": lam(step("b"), "b", node_state="idle"),
            "c": lam(step("c"), "c"),
        },
        chain("a", "b", "c"),
    )
    assert calls == ["a", "c"]
    (record,) = records(result)
    assert "b" not in record
    assert record["c"] == "c"


def test_node_timeout_fails_the_record_with_the_limit(tmp_path: Path) -> None:
    """A node slower than its timeout fails the record with a message naming the timeout."""

    async def slow(_state: Mapping[str, Any]) -> str:
        await anyio.sleep(5)
        return "late"

    result = run(tmp_path, {"slow": lam(slow, "x", timeout=0.1)}, chain("slow"))
    (failure,) = failures(result)
    assert failure["node"] == "slow"
    assert "timeout of 0.1s" in failure["reason"]


def test_hooks_run_before_and_after_the_node(tmp_path: Path) -> None:
    """pre_process updates what the node sees (and is stored); post_process gets the node's
    result and the state, and returns what is stored."""

    async def pre(state: Mapping[str, Any]) -> dict[str, Any]:
        return {"x": 20}

    def post(result: Mapping[str, Any], state: Mapping[str, Any]) -> dict[str, Any]:
        return {"y": result["y"] + state["x"]}

    result = run(
        tmp_path,
        {"n": lam(lambda s: s["x"] + 1, "y", pre_process=pre, post_process=post)},
        chain("n"),
    )
    (record,) = records(result)
    assert (record["x"], record["y"]) == (20, 41)


def test_retry_override_on_an_llm_node(tmp_path: Path, mock_server: MockServer) -> None:
    """A node's `retry.max_retries` replaces the models file's for that node's calls."""

    def llm(retries: int) -> dict[str, Any]:
        return {
            "node_type": "llm",
            "prompt": [{"user": f"retries {retries} [[mock:500:1]]"}],
            "model": {"name": "m"},
            "retry": {"max_retries": retries},
        }

    no_retry = run(tmp_path / "a", {"ask": llm(0)}, chain("ask"), mock=mock_server.url)
    one_retry = run(tmp_path / "b", {"ask": llm(1)}, chain("ask"), mock=mock_server.url)
    assert (no_retry.failed, one_retry.done) == (1, 1)


def test_multiturn_history_as_each_node_sees_it(tmp_path: Path, mock_server: MockServer) -> None:
    """Each llm node gets earlier turns as role messages, windowed, with its own role labels."""
    mock_server.reset()
    nodes = {
        "user_sim": {
            "node_type": "llm",
            "prompt": [{"system": "play the user"}, {"user": "ask about it"}],
            "model": {"name": "m"},
            "output_keys": "q",
        },
        "bot": {
            "node_type": "llm",
            "prompt": [{"user": "answer: {q}"}],
            "model": {"name": "m"},
            "output_keys": "a",
        },
        "user_again": {
            "node_type": "llm",
            "prompt": [{"user": "follow up"}],
            "model": {"name": "m"},
            "output_keys": "q2",
            "history_role_map": {"user": "assistant", "assistant": "user"},
        },
    }
    run(
        tmp_path,
        nodes,
        chain("user_sim", "bot", "user_again"),
        mock=mock_server.url,
        graph={"chat_conversation": "multiturn", "chat_history_window_size": 3},
    )
    sent = [[(m["role"], m["content"]) for m in r["messages"]] for r in mock_server.requests()]
    assert sent[0] == [("system", "play the user"), ("user", "ask about it")]
    assert sent[1] == [
        ("user", "ask about it"),
        ("assistant", "ask about it"),
        ("user", "answer: ask about it"),
    ]
    assert sent[2] == [
        ("user", "ask about it"),
        ("assistant", "answer: ask about it"),
        ("user", "answer: ask about it"),
        ("user", "follow up"),
    ]
