"""``preview``: a few records run through the graph and shown node by node, checked against
a real run of the same task; the estimate of the full run is within 20% of that run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grasp_core import RunOptions, preview, run_task
from grasp_core.errors import ConfigError
from grasp_core.mock_server import MockServer
from tests.conftest import write_task

LOOP = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out/out.jsonl}
graph_config:
  nodes:
    write:
      node_type: llm
      output_keys: draft
      prompt: [{user: "write about {topic}"}]
      model: {name: m}
    revise:
      node_type: llm
      output_keys: draft
      prompt: [{user: "revise: {draft}"}]
      model: {name: m}
    count: {node_type: lambda, lambda: steps.count, output_keys: done}
  edges:
    - {from: START, to: write}
    - {from: write, to: revise}
    - {from: revise, to: count}
    - {from: count, condition: steps.more, path_map: {again: revise, stop: END}}
output_config:
  output_map:
    id: {from: id}
    draft: {from: draft}
"""

STEPS = """
def count(state):
    return {"done": state.get("done", 0) + 1}

def more(state):
    return "again" if state["done"] < state["rounds"] else "stop"
"""

ROWS = "".join(
    json.dumps({"id": f"r{i}", "topic": f"topic {i}", "rounds": 1 + i % 3}) + "\n"
    for i in range(20)
)
"""Records loop 1, 2 or 3 times: the first five average 1.8 passes, all twenty 1.95."""


def loop_task(folder: Path) -> Path:
    files = {"data.jsonl": ROWS, "steps.py": STEPS, "models.yaml": "m: {model: openai/m}\n"}
    return write_task(folder, LOOP, files)


def files_in(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_the_preview_shows_what_a_real_run_does(tmp_path: Path, mock_server: MockServer) -> None:
    """Each sampled record's node runs, prompts and output are those of a real run of the
    same task (the mock's echo replies are deterministic)."""
    task = loop_task(tmp_path)
    shown = preview(task, sample=3, mock=mock_server.url, cache=False)
    mock_server.reset()
    run_task(task, RunOptions(mock=mock_server.url, cache=False))
    written = {
        row["id"]: row
        for row in map(json.loads, (tmp_path / "out/out.jsonl").read_text().splitlines())
    }
    sent = [r["messages"] for r in mock_server.requests()]
    assert [r.record_id for r in shown.records] == ["r0", "r1", "r2"]
    for record in shown.records:
        assert record.output is not None
        assert record.output == written[record.record_id]
        passes = 1 + int(record.record_id[1:]) % 3
        assert [(n.node, n.iteration) for n in record.nodes] == [
            ("write", 0),
            *[(name, i) for i in range(passes) for name in ("revise", "count")],
        ]
        for call in record.calls:
            assert call.messages in sent
            assert call.response == call.messages[-1]["content"]  # echo
            assert call.prompt_tokens > 0
            assert call.cost_usd is None
            assert not call.cached
        assert record.nodes[-2].update["draft"] == record.output["draft"]
        assert record.nodes[-1].update == {"done": passes}


def test_the_estimate_is_within_20_percent_of_the_real_run(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """Calls (loops averaged over the sample) and tokens scale from 5 records to the 20 the
    source counts, within 20% of what the full run used; the range holds the real value."""
    task = loop_task(tmp_path)
    estimate = preview(task, sample=5, mock=mock_server.url, cache=False).estimate
    result = run_task(task, RunOptions(mock=mock_server.url, cache=False))
    totals = result.metrics["totals"]
    assert estimate.records == 20
    assert estimate.sample == 5
    real = {
        "calls": totals["model_calls"],
        "prompt_tokens": totals["prompt_tokens"],
        "completion_tokens": totals["completion_tokens"],
    }
    assert real["calls"] == 59  # 20 first drafts + 39 passes
    for key, value in real.items():
        guess = estimate.total[key]
        assert abs(guess.value - value) <= 0.2 * value, (key, guess, value)
        assert guess.low <= value <= guess.high, (key, guess, value)
    assert estimate.total["calls"].value == pytest.approx(20 * 2.8)
    assert estimate.wall_seconds is not None
    assert estimate.bound_by is not None


def test_a_preview_writes_nothing_where_the_task_writes(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """No output, journal, lock, metrics or media beside the task: the folder is unchanged."""
    task = loop_task(tmp_path / "task")
    before = files_in(tmp_path / "task")
    preview(task, sample=2, mock=mock_server.url, cache_dir=tmp_path / "cache")
    assert files_in(tmp_path / "task") == before
    assert not (tmp_path / "task" / "out").exists()


def test_records_and_node_select_what_is_shown(tmp_path: Path, mock_server: MockServer) -> None:
    """``records`` runs those ids in the order given; ``node`` keeps that node's runs only,
    while the estimate still counts every node's calls."""
    task = loop_task(tmp_path)
    shown = preview(task, records=["r5", "r1"], node="revise", mock=mock_server.url, cache=False)
    assert [r.record_id for r in shown.records] == ["r5", "r1"]
    assert [[(n.node, n.iteration) for n in r.nodes] for r in shown.records] == [
        [("revise", 0), ("revise", 1), ("revise", 2)],
        [("revise", 0), ("revise", 1)],
    ]
    assert shown.estimate.per_record["calls"].value == pytest.approx((4 + 3) / 2)
    assert shown.to_dict()["node"] == "revise"


def test_calls_the_cache_answers_are_marked(tmp_path: Path, mock_server: MockServer) -> None:
    """A second preview is answered from the response cache: every call says so, none
    reaches the server, and the estimate still counts their tokens."""
    task = loop_task(tmp_path)
    first = preview(task, sample=2, mock=mock_server.url, cache_dir=tmp_path / "cache")
    mock_server.reset()
    again = preview(task, sample=2, mock=mock_server.url, cache_dir=tmp_path / "cache")
    assert mock_server.requests() == []
    calls = [call for record in again.records for call in record.calls]
    assert calls
    assert all(call.cached for call in calls)
    assert [c.response for r in again.records for c in r.calls] == [
        c.response for r in first.records for c in r.calls
    ]
    assert again.estimate.total["prompt_tokens"] == first.estimate.total["prompt_tokens"]
    assert again.estimate.wall_seconds is None  # no call reached a backend to time


def test_the_json_form_holds_every_field(tmp_path: Path, mock_server: MockServer) -> None:
    """``to_dict`` is plain JSON: per node its update, calls, tokens, seconds and cost."""
    shown = preview(loop_task(tmp_path), sample=1, mock=mock_server.url, cache=False)
    data = json.loads(json.dumps(shown.to_dict()))
    first = data["records"][0]["nodes"][0]
    assert first["node"] == "write"
    assert first["update"]["draft"] == "write about topic 0"
    assert first["calls"][0]["messages"] == [{"role": "user", "content": "write about topic 0"}]
    assert first["prompt_tokens"] == first["calls"][0]["prompt_tokens"]
    assert set(data["estimate"]["total"]) == {"calls", "prompt_tokens", "completion_tokens"} | {
        "seconds"
    }
    assert data["estimate"]["mock"] is True
    assert "standard errors" in data["estimate"]["method"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"node": "nope"}, "--node 'nope' is not a node of this graph; its nodes are count, "),
        ({"records": ["r1", "zz"]}, "--records: no record with id 'zz' in the task's data"),
        ({"sample": 0}, "the preview needs at least one record, got 0"),
    ],
)
def test_bad_selections_are_one_clear_error(
    tmp_path: Path, mock_server: MockServer, kwargs: dict[str, object], message: str
) -> None:
    """An unknown node or record id, or no records, is refused before any model call."""
    mock_server.reset()
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        preview(loop_task(tmp_path), mock=mock_server.url, cache=False, **kwargs)  # type: ignore[arg-type]
    assert mock_server.requests() == []
