"""Subgraphs: key mapping, nesting from files, overrides, loops of inclusion, and resume
inside an inner graph."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from grasp_core import RunOptions, run_task
from grasp_core.config.task_file import Task
from grasp_core.errors import CompileError
from grasp_core.mock_server import Latency, MockServer
from tests.conftest import write_task

INNER_LLM = """
nodes:
  ask:
    node_type: llm
    output_keys: answer
    prompt:
      - user: "{level} {question}"
    model: {name: m}
edges:
  - {from: START, to: ask}
  - {from: ask, to: END}
"""

MIDDLE = """
nodes:
  deeper:
    node_type: subgraph
    graph: inner.yaml
  tag:
    node_type: lambda
    lambda: steps.tag
    output_keys: tagged
edges:
  - {from: START, to: deeper}
  - {from: deeper, to: tag}
  - {from: tag, to: END}
"""

OUTER = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out/result.jsonl}
graph_config:
  nodes:
    outer:
      node_type: subgraph
      graph: middle.yaml
      output_map: {final: answer, tag: tagged}
  edges:
    - {from: START, to: outer}
    - {from: outer, to: END}
output_config:
  output_map:
    id: {from: id}
    final: {from: final}
    tag: {from: tag}
"""

STEPS = """
def tag(state):
    return "tagged:" + state["answer"]
"""


def nested_task(folder: Path, n: int, concurrency: int = 8) -> Path:
    rows = "".join(
        json.dumps({"id": f"q{i:03d}", "question": f"question {i}", "level": "L1"}) + "\n"
        for i in range(n)
    )
    models = (
        "m:\n  model: openai/m\n  api_base: http://127.0.0.1:1/v1\n"
        f"  max_concurrency: {concurrency}\n"
    )
    return write_task(
        folder,
        OUTER,
        {
            "data.jsonl": rows,
            "middle.yaml": MIDDLE,
            "inner.yaml": INNER_LLM,
            "steps.py": STEPS,
            "models.yaml": models,
        },
    )


def outputs(path: Path) -> dict[str, dict[str, str]]:
    return {json.loads(x)["id"]: json.loads(x) for x in path.read_text().splitlines()}


def test_nested_subgraphs_map_keys_and_journal_qualified_names(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """Three graphs deep, outputs come back through output_map; the journal names inner
    nodes by their path (`outer.deeper.ask`)."""
    task = nested_task(tmp_path, 3)
    result = run_task(task, RunOptions(mock=mock_server.url))
    assert result.done == 3
    out = outputs(tmp_path / "out/result.jsonl")
    assert out["q001"] == {"id": "q001", "final": "L1 question 1", "tag": "tagged:L1 question 1"}
    journal = (tmp_path / "out/result.journal.jsonl").read_text().splitlines()
    names = {e["n"] for e in map(json.loads, journal) if e["e"] == "node_done"}
    assert names == {"outer", "outer.deeper", "outer.deeper.ask", "outer.tag"}


def test_inline_subgraph_with_input_map_and_overrides(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """input_map renames keys going in; node_config_map renames prompt placeholders and
    the subgraph's `model` replaces inner models."""
    mock_server.reset()
    task = Task.from_dict(
        {
            "data_config": {"num_records": 1},
            "graph_config": {
                "nodes": {
                    "seed": {
                        "node_type": "lambda",
                        "lambda": lambda s: "the topic",
                        "output_keys": "subject",
                    },
                    "sub": {
                        "node_type": "subgraph",
                        "graph_config": {
                            "nodes": {
                                "ask": {
                                    "node_type": "llm",
                                    "output_keys": "answer",
                                    "prompt": [{"user": "about {topic}"}],
                                    "model": {"name": "placeholder"},
                                }
                            },
                            "edges": [{"from": "START", "to": "ask"}, {"from": "ask", "to": "END"}],
                        },
                        "input_map": {"theme": "subject"},
                        "model": {"name": "real-model"},
                        "node_config_map": {"ask": {"prompt_placeholder_map": {"topic": "theme"}}},
                        "output_map": {"reply": "answer"},
                    },
                },
                "edges": [
                    {"from": "START", "to": "seed"},
                    {"from": "seed", "to": "sub"},
                    {"from": "sub", "to": "END"},
                ],
            },
        },
        task_dir=tmp_path,
    )
    result = run_task(task, RunOptions(mock=mock_server.url, output_dir=tmp_path))
    (record,) = result.records()
    assert record["reply"] == "about the topic"
    (request,) = mock_server.requests()
    assert request["model"] == "real-model"


def test_subgraph_that_includes_itself_is_a_compile_error(tmp_path: Path) -> None:
    """A graph file that (indirectly) includes itself names the chain of files."""
    loop_a = (
        "nodes:\n  b: {node_type: subgraph, graph: b.yaml}\n"
        "edges:\n  - {from: START, to: b}\n  - {from: b, to: END}\n"
    )
    loop_b = (
        loop_a.replace("b.yaml", "a.yaml")
        .replace("b:", "a:")
        .replace("to: b", "to: a")
        .replace("from: b", "from: a")
    )
    task = write_task(
        tmp_path,
        "data_config: {num_records: 1}\ngraph_config:\n  nodes:\n"
        "    top: {node_type: subgraph, graph: a.yaml}\n"
        "  edges:\n    - {from: START, to: top}\n    - {from: top, to: END}\n",
        {"a.yaml": loop_a, "b.yaml": loop_b},
    )
    with pytest.raises(CompileError, match=r"includes itself: .*a\.yaml -> .*b\.yaml -> .*a\.yaml"):
        run_task(task, RunOptions())


def test_unknown_inner_node_in_node_config_map_is_reported(tmp_path: Path) -> None:
    """node_config_map may only name inner nodes; a typo lists them."""
    task = nested_task(tmp_path, 1)
    text = task.read_text().replace(
        "graph: middle.yaml", "graph: middle.yaml\n      node_config_map: {tagg: {}}"
    )
    task.write_text(text)
    with pytest.raises(
        CompileError, match=r"'tagg', which is not an inner node; inner nodes: deeper, tag"
    ):
        run_task(task, RunOptions(mock="http://127.0.0.1:1"))


def test_resume_continues_inside_the_inner_graph(tmp_path: Path, mock_server: MockServer) -> None:
    """Inner node runs in the journal are replayed on resume; their model calls are not repeated."""
    task = nested_task(tmp_path, 4)
    run_task(task, RunOptions(mock=mock_server.url))
    journal = tmp_path / "out/result.journal.jsonl"
    events = [json.loads(x) for x in journal.read_text().splitlines()]
    kept = [
        e
        for e in events
        if e["e"] == "run" or (e["e"] == "node_done" and e["n"] == "outer.deeper.ask")
    ]
    journal.write_text("".join(json.dumps(e) + "\n" for e in kept))
    mock_server.reset()
    result = run_task(task, RunOptions(mock=mock_server.url, resume=True))
    assert result.done == 4
    assert mock_server.requests() == []
    assert len(outputs(tmp_path / "out/result.jsonl")) == 4


@pytest.mark.slow
def test_sigkill_inside_subgraphs_then_resume(tmp_path: Path) -> None:
    """Killed mid-run three graphs deep: resumed output has every record once, and no
    journaled inner call is made again."""
    n = 60
    task = nested_task(tmp_path, n, concurrency=3)
    server = MockServer(latency=Latency.fixed(0.05), max_seconds=300)
    output = tmp_path / "out/result.jsonl"
    journal = tmp_path / "out/result.journal.jsonl"
    with server.running() as url:
        cmd = [sys.executable, "-m", "grasp_core", "run", str(task), "--mock-url", url, "--quiet"]
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
        proc = subprocess.Popen(cmd, env=env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if output.exists() and len(output.read_text().splitlines()) >= 10:
                break
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        lines = journal.read_text().splitlines()[:-1]
        asked = {
            e["r"]
            for e in map(json.loads, lines)
            if e["e"] == "node_done" and e["n"] == "outer.deeper.ask"
        }
        assert 0 < len(outputs(output)) < n
        resumed = subprocess.run([*cmd, "--resume"], env=env, capture_output=True, timeout=120)
        assert resumed.returncode == 0, resumed.stderr.decode()
        prompts = Counter(r["messages"][-1]["content"] for r in server.requests())
    out = outputs(output)
    assert sorted(out) == [f"q{i:03d}" for i in range(n)]
    assert len(output.read_text().splitlines()) == n
    for record in asked:
        assert prompts[f"L1 question {int(record[1:])}"] == 1, record
