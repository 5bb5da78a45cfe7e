"""Resume inside a subgraph that runs in a loop (`evolve@1.inc`) rebuilds the same state."""

from __future__ import annotations

import json
from pathlib import Path

from grasp_core import RunOptions, run_task
from tests.conftest import write_task

TASK = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out/result.jsonl}
graph_config:
  nodes:
    evolve:
      node_type: subgraph
      graph_config:
        nodes:
          inc: {node_type: lambda, lambda: steps.inc, output_keys: n}
          tag: {node_type: lambda, lambda: steps.tag, output_keys: [messages, last]}
        edges:
          - {from: START, to: inc}
          - {from: inc, to: tag}
          - {from: tag, to: END}
    collect: {node_type: lambda, lambda: steps.collect, output_keys: seen}
  edges:
    - {from: START, to: evolve}
    - {from: evolve, to: collect}
    - from: collect
      condition: steps.again
      path_map: {again: evolve, done: END}
output_config:
  output_map:
    id: {from: id}
    n: {from: n}
    seen: {from: seen}
    messages: {from: messages}
"""

STEPS = """
import pathlib
LOG = pathlib.Path(__file__).with_name("calls.log")

def inc(state):
    with LOG.open("a") as f:
        f.write("inc\\n")
    return state.get("n", 0) + 1

def tag(state):
    return {"messages": [{"role": "assistant", "content": f"n={state['n']}"}], "last": state["n"]}

def collect(state):
    return [*(state.get("seen") or []), state["last"]]

def again(state):
    return "done" if state["n"] >= 3 else "again"
"""


DATA = "".join(json.dumps({"id": str(i)}) + "\n" for i in range(3))


def test_resume_inside_a_looped_subgraph(tmp_path: Path) -> None:
    """A resume inside a subgraph run in a loop gives the uninterrupted output."""
    straight = write_task(tmp_path / "a", TASK, {"steps.py": STEPS, "data.jsonl": DATA})
    run_task(straight, RunOptions())
    expected = (tmp_path / "a/out/result.jsonl").read_text().splitlines()

    split = write_task(tmp_path / "b", TASK, {"steps.py": STEPS, "data.jsonl": DATA})
    run_task(split, RunOptions())
    journal = tmp_path / "b/out/result.journal.jsonl"
    events = [json.loads(x) for x in journal.read_text().splitlines()]
    kept, cut = [], False
    for e in events:
        if e["e"] in ("record_done", "record_failed"):
            continue
        if cut and e["e"] == "node_done" and e["r"] == "1":
            continue
        kept.append(e)
        if e["e"] == "node_done" and e["r"] == "1" and e["n"] == "evolve@1.inc":
            cut = True
    assert cut
    journal.write_text("".join(json.dumps(e) + "\n" for e in kept))
    (tmp_path / "b/out/result.jsonl").unlink()
    log = tmp_path / "b/calls.log"
    log.write_text("")
    result = run_task(split, RunOptions(resume=True))
    assert result.failed == 0
    got = sorted((tmp_path / "b/out/result.jsonl").read_text().splitlines())
    assert got == sorted(expected)
    # records 0 and 2 replay entirely; record 1 only redoes evolve@2.inc
    assert log.read_text().count("inc") == 1
