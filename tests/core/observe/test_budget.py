"""Budget caps: a run stops admitting records at its cap, commits what is in flight, and a
resume with a higher cap finishes the dataset without repeating a record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grasp_core import ConfigError, RunOptions, SinkError, Task, run_task
from grasp_core.observe.budget import BudgetCap, Spending
from tests.conftest import write_task

TASK = """
data_config:
  num_records: 30
  sink: {{type: jsonl, file_path: out.jsonl}}
graph_config:
  nodes:
    ask:
      node_type: llm
      output_keys: answer
      prompt: [{{user: "{tag} one two three four [[mock:latency=0.02]]"}}]
      model: {{name: {model}}}
  edges:
    - {{from: START, to: ask}}
    - {{from: ask, to: END}}
{extra}
"""

MODELS = """
priced: {model: hosted_vllm/x, cost: {input_per_million: 1000000, output_per_million: 0}}
unpriced: {model: hosted_vllm/y}
"""


def _task(folder: Path, model: str = "priced", extra: str = "") -> Path:
    text = TASK.format(tag=folder.name, model=model, extra=extra)
    return write_task(folder, text, {"models.yaml": MODELS})


def _ids(path: Path) -> list[str]:
    return [json.loads(line)["id"] for line in path.read_text().splitlines()]


def _journaled_ids(path: Path) -> list[str]:
    events = [json.loads(line) for line in path.read_text().splitlines()]
    return [i for e in events if e["e"] == "record_done" for i in e["ids"]]


def test_token_cap_stops_and_a_higher_cap_finishes_without_duplicates(
    tmp_path: Path, mock_url: str
) -> None:
    """At the cap the run stops early with every committed record in the sink and journal;
    resuming with the same cap admits nothing; a higher cap finishes the other records."""
    task = _task(tmp_path)
    options = RunOptions(mock=mock_url, window=2, max_tokens=40)
    first = run_task(task, options)
    assert first.stopped_by_budget
    assert first.interrupted
    assert not first.ok
    assert 0 < first.done < 30
    assert first.metrics["budget"]["spent_total"]["tokens"] >= 40
    written = _ids(tmp_path / "out.jsonl")
    assert len(written) == len(set(written)) == first.done
    assert sorted(_journaled_ids(tmp_path / "out.journal.jsonl")) == sorted(written)

    again = run_task(task, RunOptions(mock=mock_url, max_tokens=40, resume=True))
    assert again.stopped_by_budget
    assert again.done == 0
    assert _ids(tmp_path / "out.jsonl") == written

    final = run_task(task, RunOptions(mock=mock_url, max_tokens=100_000, resume=True))
    assert not final.stopped_by_budget
    assert final.ok
    assert final.done + first.done == 30
    ids = _ids(tmp_path / "out.jsonl")
    assert sorted(ids, key=int) == [str(i) for i in range(30)]
    budget = json.loads((tmp_path / "out.metrics.json").read_text())["budget"]
    assert budget["spent_earlier"] == first.metrics["budget"]["spent_total"]
    assert budget["stopped_by_budget"] is False


def test_cost_cap_uses_model_prices(tmp_path: Path, mock_url: str) -> None:
    """A dollar cap stops the run once priced calls cost that much."""
    result = run_task(_task(tmp_path), RunOptions(mock=mock_url, window=2, max_cost=20))
    assert result.stopped_by_budget
    assert result.metrics["budget"]["spent_total"]["cost_usd"] >= 20
    assert "max-cost" in result.metrics["budget"]["reason"]


def test_cap_in_the_task_file_and_flag_override(tmp_path: Path, mock_url: str) -> None:
    """`budget: {max_tokens: N}` in the task file caps the run; a flag overrides it."""
    task = _task(tmp_path, extra="budget: {max_tokens: 30}")
    capped = run_task(task, RunOptions(mock=mock_url, window=2))
    assert capped.stopped_by_budget
    assert capped.metrics["budget"]["max_tokens"] == 30
    done = run_task(task, RunOptions(mock=mock_url, resume=True, max_tokens=10**6))
    assert done.ok
    assert capped.done + done.done == 30


def test_cost_cap_needs_a_price_for_every_model(tmp_path: Path, mock_url: str) -> None:
    """--max-cost with a model litellm cannot price fails before the run, naming the model
    and the fix."""
    with pytest.raises(ConfigError, match=r"'unpriced'.*cost: \{input_per_million"):
        run_task(_task(tmp_path, model="unpriced"), RunOptions(mock=mock_url, max_cost=1))
    assert not (tmp_path / "out.jsonl").exists()


@pytest.mark.parametrize(
    ("budget", "message"),
    [
        ("{max_cost: -1}", r"budget\.max_cost"),
        ("{max_tokens: 0}", r"budget\.max_tokens"),
        ("{max_costs: 1}", r"max_cost"),
    ],
)
def test_bad_budget_blocks_are_config_errors(tmp_path: Path, budget: str, message: str) -> None:
    """Invalid caps in the task file name the YAML path."""
    with pytest.raises(ConfigError, match=message):
        Task.load(_task(tmp_path, extra=f"budget: {budget}"))


def test_bad_caps_from_python_are_config_errors() -> None:
    """Non-positive caps given in code are refused with the value."""
    with pytest.raises(ConfigError, match="-2"):
        BudgetCap(max_cost=-2)
    with pytest.raises(ConfigError, match="0"):
        BudgetCap(max_tokens=0)


def test_spending_of_earlier_runs_tolerates_missing_files(tmp_path: Path) -> None:
    """A run killed before writing its metrics counts as having spent nothing."""
    assert Spending.recorded_in(tmp_path / "missing.json") == Spending()
    (tmp_path / "bad.json").write_text("{not json")
    assert Spending.recorded_in(tmp_path / "bad.json") == Spending()


def test_editing_the_budget_block_needs_no_force() -> None:
    """The `budget` block is not part of the fingerprint: raising a cap in the file keeps the
    journal resumable without --force."""
    from grasp_core.config.task_file import Task

    base = {
        "data_config": {"num_records": 1},
        "graph_config": {
            "nodes": {"a": {"node_type": "lambda", "lambda": "json.dumps", "output_keys": "x"}},
            "edges": [{"from": "START", "to": "a"}, {"from": "a", "to": "END"}],
        },
    }
    plain = Task.from_dict(base, task_dir=".")
    capped = Task.from_dict({**base, "budget": {"max_tokens": 10}}, task_dir=".")
    raised = Task.from_dict({**base, "budget": {"max_tokens": 99}}, task_dir=".")
    assert plain.fingerprint() == capped.fingerprint() == raised.fingerprint()


def test_a_cap_reached_by_the_last_records_leaves_a_finished_run(
    tmp_path: Path, mock_url: str
) -> None:
    """When the calls of the last records reach the cap, nothing was left to admit: the run
    is finished (not interrupted, output finalized), and a resume has nothing to do."""
    full = run_task(_task(tmp_path / "full"), RunOptions(mock=mock_url, num_records=3))
    spent = full.metrics["budget"]["spent_total"]["tokens"]
    task = _task(tmp_path / "exact")
    exact = run_task(task, RunOptions(mock=mock_url, num_records=3, max_tokens=spent))
    assert exact.done == 3
    assert not exact.interrupted
    assert not exact.stopped_by_budget
    assert exact.ok
    assert exact.output_paths
    again = run_task(task, RunOptions(mock=mock_url, num_records=3, max_tokens=spent, resume=True))
    assert (again.done, again.previously_done, again.interrupted) == (0, 3, False)


def test_a_run_stopped_by_an_error_still_records_its_spending(
    tmp_path: Path, mock_url: str
) -> None:
    """A sink error ends the run, but metrics.json keeps what it spent, so a resume counts it
    against the cap; --overwrite starts from nothing."""
    mark = """
    mark:
      node_type: lambda
      lambda: steps.mark
      output_keys: [extra]
"""
    text = TASK.format(tag="t", model="priced", extra="")
    text = text.replace("{type: jsonl, file_path: out.jsonl}", "{type: csv, file_path: out.csv}")
    text = text.replace("  edges:\n", mark.rstrip("\n") + "\n  edges:\n")
    text = text.replace(
        "{from: ask, to: END}", "{from: ask, to: mark}\n    - {from: mark, to: END}"
    )
    steps = (
        "import itertools\n_calls = itertools.count()\n"
        "def mark(state):\n    return {'extra': 1} if next(_calls) == 5 else {}\n"
    )
    task = write_task(tmp_path, text, {"models.yaml": MODELS, "steps.py": steps})
    with pytest.raises(SinkError, match="csv columns"):
        run_task(task, RunOptions(mock=mock_url, window=1, batch_size=1))
    recorded = json.loads((tmp_path / "out.metrics.json").read_text())
    assert recorded["records"]["stopped_by_error"] is True
    assert Spending.recorded_in(tmp_path / "out.metrics.json").tokens > 0
    options = RunOptions(mock=mock_url, overwrite=True, num_records=1)
    fresh = run_task(task, options)
    assert fresh.metrics["budget"]["spent_earlier"]["tokens"] == 0
