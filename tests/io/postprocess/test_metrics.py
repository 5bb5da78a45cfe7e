"""The `metrics` step on planted data: unit metrics (exact, fuzzy, numeric, judge),
classification scores and pass@k / pass^k equal values computed by hand, the records carry
their unit results, and a run's summary and `metrics.json` hold the aggregates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from grasp_core import RunOptions, run_task
from grasp_core.errors import ConfigError
from grasp_core.mock_server import MockServer
from grasp_core.postprocess import (
    CurationResult,
    CurationTarget,
    curate,
    load_steps_file,
    read_output,
)
from tests.conftest import write_task

Records = list[dict[str, Any]]


def run_steps(folder: Path, records: Records, steps_yaml: str) -> tuple[Records, CurationResult]:
    data = folder / "data.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    (folder / "steps.yaml").write_text(steps_yaml, encoding="utf-8")
    target = CurationTarget.at({"type": "jsonl"}, folder / "scored.jsonl")
    result = curate(
        read_output([data], "jsonl", "id"),
        load_steps_file(folder / "steps.yaml"),
        target,
        base_dir=folder,
    )
    lines = target.output.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines], result


def results_of(result: CurationResult) -> dict[str, Any]:
    return result.steps[0].results


QA = [
    {
        "id": "1",
        "answer": "Paris",
        "golden": "paris.",
        "value": "about 3.1416",
        "expected": 3.14159,
        "grade": "A",
    },
    {"id": "2", "answer": "Lyon", "golden": "Paris", "value": "42", "expected": 41, "grade": "B"},
    {
        "id": "3",
        "answer": "Berlin",
        "golden": "Berlin",
        "value": "1,000",
        "expected": 1000,
        "grade": "correct",
    },
    {"id": "4", "answer": "Madrd", "golden": "Madrid", "expected": 7, "grade": "C"},
]

UNIT_STEPS = """
- metrics:
    unit:
      - {name: exact, type: exact_match, predicted: answer, golden: golden}
      - {name: fuzzy, type: fuzzy_match, predicted: answer, golden: golden, threshold: 0.8}
      - {name: number, type: numeric, predicted: value, golden: expected, tolerance: 0.001}
      - {name: judged, type: judge, predicted: grade}
"""


def test_unit_metrics_match_hand_computed_values(tmp_path: Path) -> None:
    """exact 2/4 ('Paris' = 'paris.' once normalised), fuzzy 3/4 ('Madrd' vs 'Madrid' is
    10/11 similar), numeric 2/3 (one record has no value: null, counted missing), judge 2/4
    (`A` and `correct` are correct verdicts); each record carries its own results."""
    records, result = run_steps(tmp_path, QA, UNIT_STEPS)
    assert [r["eval"] for r in records] == [
        {"exact": True, "fuzzy": True, "number": True, "judged": True},
        {"exact": False, "fuzzy": False, "number": False, "judged": False},
        {"exact": True, "fuzzy": True, "number": True, "judged": True},
        {"exact": False, "fuzzy": True, "number": None, "judged": False},
    ]
    assert results_of(result)["headline"] == "exact 0.500; fuzzy 0.750; number 0.667; judged 0.500"
    unit = results_of(result)["unit"]
    assert {name: unit[name]["accuracy"] for name in unit} == {
        "exact": 0.5,
        "fuzzy": 0.75,
        "number": pytest.approx(2 / 3, abs=1e-6),
        "judged": 0.5,
    }
    assert (unit["number"]["scored"], unit["number"]["missing"], unit["number"]["correct"]) == (
        3,
        1,
        2,
    )


def test_classification_scores_match_hand_computed_values(tmp_path: Path) -> None:
    """Six labelled records (one with the label in another case): accuracy 4/6; cat P=R=1/2,
    dog P=2/3 R=1 F1=0.8, bird P=1 R=1/2 F1=2/3; macro averages of those."""
    pairs = [
        ("cat", "cat"),
        ("cat", "dog"),
        ("dog", "Dog"),
        ("dog", "dog"),
        ("bird", "cat"),
        ("bird", "bird"),
    ]
    rows = [{"id": str(i), "label": g, "guess": p} for i, (g, p) in enumerate(pairs)]
    rows.append({"id": "x", "guess": "cat"})  # no golden label: not scored
    records, result = run_steps(
        tmp_path, rows, "- metrics: {classification: {predicted: guess, golden: label}}\n"
    )
    assert records == rows  # no unit metric: records unchanged
    scores = results_of(result)["classification"]
    assert (scores["labelled"], scores["unlabelled"], scores["unanswered"]) == (6, 1, 0)
    assert scores["accuracy"] == pytest.approx(4 / 6, abs=1e-6)
    per_class = scores["per_class"]
    assert per_class["cat"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    assert per_class["dog"]["precision"] == pytest.approx(2 / 3, abs=1e-6)
    assert (per_class["dog"]["recall"], per_class["dog"]["f1"]) == (1.0, pytest.approx(0.8))
    assert per_class["bird"]["f1"] == pytest.approx(2 / 3, abs=1e-6)
    macro = scores["macro"]
    assert macro["precision"] == pytest.approx((0.5 + 2 / 3 + 1) / 3, abs=1e-6)
    assert macro["recall"] == pytest.approx((0.5 + 1 + 0.5) / 3, abs=1e-6)
    assert macro["f1"] == pytest.approx((0.5 + 0.8 + 2 / 3) / 3, abs=1e-6)


def test_a_missing_prediction_is_wrong_and_no_class(tmp_path: Path) -> None:
    """cat→cat, cat→null, dog→dog, dog→cat, dog→(absent): accuracy 2/5; cat P=1/2 R=1/2
    F1=1/2, dog P=1 R=1/3 F1=1/2; no class for the missing answers in the macro means."""
    rows: Records = [
        {"id": "1", "label": "cat", "guess": "cat"},
        {"id": "2", "label": "cat", "guess": None},
        {"id": "3", "label": "dog", "guess": "dog"},
        {"id": "4", "label": "dog", "guess": "cat"},
        {"id": "5", "label": "dog"},
    ]
    _, result = run_steps(
        tmp_path, rows, "- metrics: {classification: {predicted: guess, golden: label}}\n"
    )
    scores = results_of(result)["classification"]
    assert (scores["labelled"], scores["unanswered"], scores["unlabelled"]) == (5, 2, 0)
    assert scores["accuracy"] == pytest.approx(2 / 5)
    assert set(scores["per_class"]) == {"cat", "dog"}
    assert scores["per_class"]["dog"]["recall"] == pytest.approx(1 / 3, abs=1e-6)
    assert scores["macro"] == {
        "precision": pytest.approx(3 / 4),
        "recall": pytest.approx((1 / 2 + 1 / 3) / 2, abs=1e-6),
        "f1": pytest.approx(1 / 2),
    }


def test_nothing_labelled_gives_null_scores_and_a_warning(tmp_path: Path) -> None:
    """A golden path no record has (`lable`) scores nothing: accuracy and the macro means
    are null, not 0, `labelled` is 0, and one warning names the path."""
    rows: Records = [{"id": "1", "label": "cat", "guess": "cat"}]
    with capture_logs() as logs:
        _, result = run_steps(
            tmp_path, rows, "- metrics: {classification: {predicted: guess, golden: lable}}\n"
        )
    results = results_of(result)
    scores = results["classification"]
    assert (scores["labelled"], scores["unlabelled"], scores["accuracy"]) == (0, 1, None)
    assert scores["macro"] == {"precision": None, "recall": None, "f1": None}
    assert scores["per_class"] == {}
    assert results["headline"] == "nothing scored"
    warnings = [log["event"] for log in logs if log["log_level"] == "warning"]
    assert warnings == [
        "classification scored no record: none of the 1 records has a golden label at "
        "'lable'; check the path"
    ]


def samples(item: str, answers: list[str]) -> Records:
    return [
        {"id": f"{item}-{i}", "item": item, "answer": a, "golden": "42"}
        for i, a in enumerate(answers)
    ]


def test_pass_at_k_and_pass_hat_k_match_the_unbiased_estimators(tmp_path: Path) -> None:
    """q1: 5 samples, 2 correct; q2: 5, none; q3: 3, all. pass@1 = (2/5 + 0 + 1)/3, pass@3
    = (1 - 1/10 + 0 + 1)/3, pass@5 over q1, q2 only = (1 + 0)/2; pass^1 = pass@1, pass^3 =
    (0 + 0 + 1)/3, pass^5 = 0; q3 has fewer than 5 samples and is counted."""
    rows = [
        *samples("q1", ["42", "41", "42", "x", "y"]),
        *samples("q2", ["1", "2", "3", "4", "5"]),
        *samples("q3", ["42", "42", "42"]),
    ]
    _records, result = run_steps(
        tmp_path,
        rows,
        """
- metrics:
    unit: [{name: ok, type: exact_match, predicted: answer, golden: golden}]
    pass_at_k: {metric: ok, item_key: item, k: [1, 3, 5]}
""",
    )
    found = results_of(result)["pass_at_k"]
    assert found["items"] == 3
    assert found["pass@1"] == pytest.approx((0.4 + 0 + 1) / 3, abs=1e-6)
    assert found["pass@3"] == pytest.approx((0.9 + 0 + 1) / 3, abs=1e-6)
    assert found["pass@5"] == 0.5
    assert found["pass^1"] == pytest.approx((0.4 + 0 + 1) / 3, abs=1e-6)
    assert found["pass^3"] == pytest.approx(1 / 3, abs=1e-6)
    assert found["pass^5"] == 0.0
    assert found["items_with_fewer_than_5_samples"] == 1
    assert found["items_with_fewer_than_3_samples"] == 0


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        ("- metrics: {}\n", "nothing to score"),
        ("- metrics: {unit: [{name: a, type: exact_match, predicted: x}]}\n", "needs `golden`"),
        (
            "- metrics: {unit: [{name: a, type: judge, predicted: x}],\n"
            "    pass_at_k: {metric: b, item_key: q}}\n",
            "pass_at_k.metric 'b' is not a unit metric",
        ),
    ],
)
def test_bad_metric_settings_are_one_clear_line(tmp_path: Path, steps: str, expected: str) -> None:
    """Settings that cannot score anything are refused when the steps load, naming the file."""
    (tmp_path / "steps.yaml").write_text(steps, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_steps_file(tmp_path / "steps.yaml")
    assert expected in str(caught.value)
    assert "steps.yaml" in str(caught.value)


TASK = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out/answers.jsonl}
graph_config:
  nodes:
    answer:
      node_type: llm
      output_keys: answer
      prompt:
        - user: "{question}"
      model: {name: m}
  edges:
    - {from: START, to: answer}
    - {from: answer, to: END}
output_config:
  output_map:
    id: {from: id}
    answer: {from: answer}
    golden: {from: golden}
post_process:
  - metrics:
      unit: [{name: exact, type: exact_match, predicted: answer, golden: golden}]
"""


def test_a_runs_metrics_reach_the_summary_and_metrics_json(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """The mock echoes each prompt: two of three golden answers equal their question, so
    the run's summary and `metrics.json` both report an accuracy of 2/3."""
    rows = [
        {"id": "a", "question": "blue", "golden": "blue"},
        {"id": "b", "question": "red", "golden": "green"},
        {"id": "c", "question": "Seven", "golden": "seven"},
    ]
    (tmp_path / "data.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8"
    )
    task = write_task(
        tmp_path,
        TASK,
        {"models.yaml": "m:\n  model: openai/m\n  api_base: http://127.0.0.1:1/v1\n"},
    )
    run_task(task, RunOptions(mock=mock_server.url))
    out = tmp_path / "out"
    for name in ("answers.summary.json", "answers.metrics.json"):
        steps = json.loads((out / name).read_text())["post_process"]["steps"]
        assert steps[0]["results"]["unit"]["exact"]["accuracy"] == pytest.approx(2 / 3, abs=1e-6)


def test_grasp_curate_prints_the_headline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`grasp curate` prints each step's headline under its counts."""
    from grasp_core.cli import main

    (tmp_path / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in QA))
    (tmp_path / "steps.yaml").write_text(UNIT_STEPS, encoding="utf-8")
    args = ["curate", str(tmp_path / "data.jsonl"), "--steps", str(tmp_path / "steps.yaml")]
    assert main([*args, "--output", str(tmp_path / "scored.jsonl")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1:3] == [
        "  metrics          removed 0 of 4",
        "    exact 0.500; fuzzy 0.750; number 0.667; judged 0.500",
    ]


def test_exact_match_keeps_the_sign_of_a_number(tmp_path: Path) -> None:
    """Punctuation does not count, but a number's sign does: `-40` is not `40` (the hyphen
    is Unicode punctuation), `(-0.5)` is `-0.5`, the minus sign is the hyphen, `1-2` is `1 2`."""
    pairs = [
        ("-40", "40"),
        ("(-0.5)", "-0.5"),
        ("\u22125", "-5"),
        ("1-2", "1 2"),
        ("Paris.", "paris"),
    ]
    rows = [{"id": str(i), "answer": p, "golden": g} for i, (p, g) in enumerate(pairs)]
    steps = (
        "- metrics: {unit: [{name: exact, type: exact_match, predicted: answer, golden: golden}]}\n"
    )
    records, _ = run_steps(tmp_path, rows, steps)
    assert [r["eval"]["exact"] for r in records] == [False, True, True, True, True]
