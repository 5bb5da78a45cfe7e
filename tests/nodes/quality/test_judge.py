"""The quality_judge recipe, run by the `quality` node over HTTP against the mock server."""

from __future__ import annotations

import json
from pathlib import Path
from statistics import mean

import pytest

from grasp_core import RunOptions, run_task
from grasp_core.config.task_file import Task
from grasp_core.errors import ConfigError
from grasp_nodes.quality import CATEGORIES, CRITERIA
from tests.conftest import write_task

TASK = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out.jsonl}
graph_config:
  nodes:
    quality:
      node_type: quality
      tasks: [heuristics, judge]
      judge_model: strict_judge
  edges:
    - {from: START, to: quality}
    - {from: quality, to: END}
"""


def conversations(count: int) -> str:
    lines = []
    for i in range(count):
        record = {
            "id": f"r{i}",
            "conversation": [
                {"role": "user", "content": f"Question number {i}: how do I sort a list?"},
                {"role": "assistant", "content": f"Use sorted(items). Answer {i}."},
            ],
        }
        lines.append(json.dumps(record))
    return "\n".join(lines) + "\n"


def journal_nodes(path: Path) -> dict[str, set[str]]:
    """Record id → names of the nodes the journal says finished for it."""
    nodes: dict[str, set[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        if event.get("e") == "node_done":
            nodes.setdefault(event["r"], set()).add(event["n"])
    return nodes


def test_judge_scores_each_record_with_its_categorys_rubric(tmp_path: Path, mock_url: str) -> None:
    """Every record gets a question score, a category and six 1-5 criterion scores; the
    rubric node that ran is the one for the record's category, and all six rubrics occur."""
    task = write_task(tmp_path, TASK, {"data.jsonl": conversations(30)})
    result = run_task(task, RunOptions(mock=mock_url))
    assert result.failed == 0, result.failure_reasons
    records = list(result.records())
    assert len(records) == 30
    ran = journal_nodes(result.journal_path)
    for record in records:
        judge = record["quality"]["judge"]
        assert judge["category"] in CATEGORIES
        assert judge["rubric"] == judge["category"]
        assert 1 <= judge["question_quality"] <= 5
        scores = judge["response_scores"]
        assert set(scores) == set(CRITERIA)
        assert all(isinstance(v, int) and 1 <= v <= 5 for v in scores.values())
        assert judge["response_quality"] == round(mean(scores.values()), 2)
        expected = round(mean([judge["response_quality"], judge["question_quality"]]), 2)
        assert record["quality"]["overall"] == expected
        rubrics = {n for n in ran[record["id"]] if ".rubric_" in n}
        assert rubrics == {f"quality.rubric_{judge['category']}"}
        assert {"quality.taxonomy", "quality.question", "quality.combine"} <= ran[record["id"]]
    assert {r["quality"]["judge"]["category"] for r in records} == set(CATEGORIES)
    assert set(result.metrics["models"]) == {"strict_judge"}
    assert result.metrics["models"]["strict_judge"]["calls"] == 30 * 3


def test_judge_resumes_without_repeating_finished_calls(tmp_path: Path, mock_url: str) -> None:
    """A second run over the same journal (resume) makes no new judge call."""
    task = write_task(tmp_path, TASK, {"data.jsonl": conversations(3)})
    first = run_task(task, RunOptions(mock=mock_url))
    assert first.done == 3
    again = run_task(task, RunOptions(mock=mock_url, resume=True))
    assert (again.done, again.previously_done) == (0, 3)
    assert again.metrics.get("models", {}).get("strict_judge", {}).get("calls", 0) == 0


def test_judge_needs_a_reply_and_says_so(tmp_path: Path, mock_url: str) -> None:
    """A record with no assistant turn fails (counted, with the reason), the others pass."""
    lonely = json.dumps({"id": "q", "conversation": [{"role": "user", "content": "Hi?"}]})
    task = write_task(tmp_path, TASK, {"data.jsonl": conversations(2) + lonely + "\n"})
    result = run_task(task, RunOptions(mock=mock_url))
    assert (result.done, result.failed) == (2, 1)
    failure = json.loads(result.failures_path.read_text(encoding="utf-8").splitlines()[0])
    assert (failure["id"], failure["node"]) == ("q", "quality")
    assert "needs an assistant reply" in failure["reason"]


def test_quality_node_rejects_unknown_tasks(tmp_path: Path) -> None:
    """`tasks` names only heuristics and judge; a typo is a config error at its YAML path."""
    bad = TASK.replace("[heuristics, judge]", "[heuristic]")
    task = write_task(tmp_path, bad, {"data.jsonl": conversations(1)})
    with pytest.raises(ConfigError, match=r"tasks"):
        run_task(Task.load(task), RunOptions(mock="http://127.0.0.1:9"))


CUSTOM_JUDGE = """
graph_config:
  nodes:
    rate: {node_type: lambda, lambda: rate.rate, output_keys: judge}
  edges:
    - {from: START, to: rate}
    - {from: rate, to: END}
"""
RATE = """
def rate(state):
    if "Answer 0" in state["response"]:
        return {"score": 3}
    return {"response_quality": 4, "question_quality": 5}
"""


def test_a_custom_judge_without_the_scores_fails_the_record_naming_them(
    tmp_path: Path, mock_url: str
) -> None:
    """A custom judge graph's `judge` block must hold both scores `overall` averages; one
    without them fails its record with a reason naming them, the others are tagged."""
    custom = TASK.replace("judge_model: strict_judge", "judge_graph: judge.yaml")
    files = {"data.jsonl": conversations(2), "judge.yaml": CUSTOM_JUDGE, "rate.py": RATE}
    task = write_task(tmp_path, custom, files)
    result = run_task(task, RunOptions(mock=mock_url))
    assert (result.done, result.failed) == (1, 1)
    failure = json.loads(result.failures_path.read_text(encoding="utf-8").splitlines()[0])
    assert (failure["id"], failure["node"]) == ("r0", "quality")
    assert "judge graph 'judge.yaml'" in failure["reason"]
    assert (
        "without numeric 'response_quality' and 'question_quality' (keys: score)"
        in (failure["reason"])
    )
    tagged = json.loads((tmp_path / "out.jsonl").read_text(encoding="utf-8"))
    assert tagged["quality"]["overall"] == 4.5
