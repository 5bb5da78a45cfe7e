"""SyGra's eval metric registries, its GraphPostProcessor base, its SimpleResponse schema and
its JSON helpers, as `grasp_nodes.sygra_compat` gives them to converted eval tasks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grasp_core import RunOptions, run_task
from grasp_nodes.sygra_compat import (
    AggregatorMetricRegistry,
    SimpleResponse,
    UnitMetricRegistry,
    UnitMetricResult,
    extract_and_load_json,
    utils,
)
from tests.conftest import write_task

GRAPH_CONFIG = """
data_config:
  source: {type: disk, file_path: items.jsonl}
  sink: {type: jsonl, file_path: out/graded.jsonl}
graph_config:
  nodes:
    guess:
      node_type: llm
      output_keys: predicted
      prompt:
        - user: "{guess}"
      model: {name: student}
    score:
      node_type: lambda
      lambda: grading.Score
      golden_key: label
      predicted_key: predicted
      unit_metrics_map:
        - name: exact_match
          params: {key: text}
      output_keys: [exact_match_result]
  edges:
    - {from: START, to: guess}
    - {from: guess, to: score}
    - {from: score, to: END}
graph_post_process:
  - processor: grading.Report
    params:
      metrics:
        - {name: accuracy}
        - {name: precision, params: {predicted_key: text}}
        - {name: recall, params: {golden_key: text, positive_class: cat}}
"""

GRADING = """
from grasp_nodes.sygra_compat import (
    AggregatorMetricRegistry,
    GraphPostProcessor,
    LambdaFunction,
    UnitMetricRegistry,
    UnitMetricResult,
)


class Score(LambdaFunction):
    def apply(lambda_node_dict, state):
        golden = [{"text": state[lambda_node_dict["golden_key"]]}]
        predicted = [{"text": state[lambda_node_dict["predicted_key"]]}]
        for metric in lambda_node_dict["unit_metrics_map"]:
            unit = UnitMetricRegistry.get_metric(metric["name"], **metric.get("params", {}))
            state[metric["name"] + "_result"] = unit.evaluate(golden, predicted)[0].to_dict()
        return state


class Report(GraphPostProcessor):
    def __init__(self, metrics):
        self.metrics = metrics

    def process(self, data, metadata):
        results = [UnitMetricResult(**row["exact_match_result"]) for row in data]
        summary = {}
        for metric in self.metrics:
            settings = metric.get("params", {})
            aggregator = AggregatorMetricRegistry.get_metric(metric["name"], **settings)
            summary[metric["name"]] = aggregator.calculate(results)
        return [{"id": "report", "results": summary}]
"""

ITEMS = [
    {"id": "1", "guess": "cat", "label": "cat"},
    {"id": "2", "guess": "Dog ", "label": "dog"},
    {"id": "3", "guess": "cat", "label": "dog"},
    {"id": "4", "guess": "bird", "label": "cat"},
]


def test_an_eval_task_scores_records_and_collates_the_metrics(tmp_path: Path) -> None:
    """A lambda scores each record with the registry's exact_match (case and spaces
    ignored), and a processor turns the stored results back into UnitMetricResults and
    aggregates them: accuracy, per-class precision (by the label as predicted) with its
    average, one class's recall."""
    (tmp_path / "items.jsonl").write_text("".join(json.dumps(i) + "\n" for i in ITEMS))
    task = write_task(tmp_path, GRAPH_CONFIG, {"grading.py": GRADING})
    result = run_task(task.rename(tmp_path / "graph_config.yaml"), RunOptions(mock=True))
    assert result.failed == 0
    rows = (tmp_path / "out" / "graded.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(r)["exact_match_result"]["correct"] for r in rows] == [
        True,
        True,
        False,
        False,
    ]
    (report,) = (tmp_path / "out" / "graded.curated.jsonl").read_text().splitlines()
    assert json.loads(report)["results"] == {
        "accuracy": {"accuracy": 0.5},
        "precision": {
            "average_precision": 0.5,
            "precision_per_class": {"cat": 0.5, "Dog": 1.0, "bird": 0.0},
        },
        "recall": {"recall": 0.5},
    }


def test_f1_is_per_class_and_settings_are_checked() -> None:
    """F1 is the harmonic mean of each class's precision and recall; a missing or unknown
    setting and an unknown metric name are refused with the metric's settings listed."""
    results = [
        UnitMetricResult(True, {"t": "a"}, {"t": "a"}),
        UnitMetricResult(False, {"t": "a"}, {"t": "b"}),
        UnitMetricResult(True, {"t": "b"}, {"t": "b"}),
    ]
    f1 = AggregatorMetricRegistry.get_metric("f1_score", predicted_key="t", golden_key="t")
    scores = f1.calculate(results)["f1_score_per_class"]
    assert scores == {"a": pytest.approx(2 / 3), "b": pytest.approx(2 / 3)}
    with pytest.raises(ValueError, match=r"metric 'recall': missing \['golden_key'\]"):
        AggregatorMetricRegistry.get_metric("recall")
    with pytest.raises(ValueError, match=r"unknown setting\(s\) \['keyy'\]"):
        UnitMetricRegistry.get_metric("exact_match", keyy="text")
    with pytest.raises(ValueError, match="'pass@k' is not one GraSP provides"):
        AggregatorMetricRegistry.get_metric("pass@k", k=3)


def test_json_helpers_and_the_simple_response_schema() -> None:
    """extract_and_load_json finds the JSON in a reply with prose or a fence around it, and
    gives None when there is none; SimpleResponse is SyGra's message/success schema."""
    assert extract_and_load_json('Sure:\n```json\n[{"rating": 7}]\n```') == [{"rating": 7}]
    assert utils.extract_and_load_json('{"a": {"b": 1}} and more') == {"a": {"b": 1}}
    assert utils.extract_and_load_json("rate it [{'a': <x>}]") is None
    assert utils.load_json("nope") is None
    assert SimpleResponse(message="hi", success=True).model_dump() == {
        "message": "hi",
        "success": True,
    }
