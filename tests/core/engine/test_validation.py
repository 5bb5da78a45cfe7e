"""`schema_config`: every rule passes and fails; failing records reach the failures file only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest

from grasp_core import RunOptions, check_task, run_task
from grasp_core.cli import main
from grasp_core.config import SchemaConfig
from grasp_core.config.task_file import Task
from grasp_core.engine.validation import RecordValidator, parse_type
from grasp_core.errors import ConfigError
from grasp_core.models.catalog import ModelCatalog
from tests.conftest import write_task


def validator(*fields: dict[str, Any], task_dir: Path | None = None) -> RecordValidator:
    return RecordValidator(SchemaConfig.model_validate({"fields": list(fields)}), task_dir)


def rules_broken(field: dict[str, Any], value: Any) -> list[str]:
    found = validator({"name": "x", **field}).violations({"x": value})
    return [v["rule"] for v in found]


@pytest.mark.parametrize(
    ("rule", "passing", "failing"),
    [
        ({"type": "int", "is_greater_than": 3}, 4, 3),
        ({"type": "float", "is_less_than": 1.5}, 1.4, 1.5),
        ({"is_equal_to": "yes"}, "yes", "no"),
        ({"type": "str", "regex": r"^\d{3}-\d{4}$"}, "555-1234", "5551234"),
        ({"type": "str", "min_length": 3}, "abc", "ab"),
        ({"type": "list[int]", "min_length": 2}, [1, 2], [1]),
        ({"type": "str", "max_length": 3}, "abc", "abcd"),
        ({"type": "list[str]", "max_length": 1}, ["a"], ["a", "b"]),
        ({"one_of": ["red", "green"]}, "green", "blue"),
        ({"type": "list[dict[str, any]]"}, [{"role": "user", "n": 1}], [{"role": "user"}, 3]),
        ({"type": "dict[str, int]"}, {"a": 1}, {"a": "1"}),
        ({"type": "int | none"}, 3, "3"),
        ({"type": "bool"}, True, 1),
        ({"type": "int"}, 1, True),
    ],
)
def test_each_rule_passes_and_fails(rule: dict[str, Any], passing: Any, failing: Any) -> None:
    """A value inside the rule breaks nothing; one outside it breaks exactly that rule."""
    assert rules_broken(rule, passing) == []
    expected = next((k for k in rule if k != "type"), "type")
    assert rules_broken(rule, failing) == [expected]


def test_a_float_field_accepts_an_integer_number() -> None:
    """JSON has one number type: 4 is a valid `float`."""
    assert rules_broken({"type": "float", "is_greater_than": 3}, 4) == []


@pytest.mark.parametrize(
    ("rule", "value"),
    [
        ({"is_greater_than": 1}, "abc"),
        ({"is_less_than": 1}, [0]),
        ({"regex": "a"}, 12),
        ({"min_length": 1}, 5),
        ({"max_length": 1}, 5.0),
    ],
)
def test_a_rule_that_cannot_apply_to_the_value_is_a_violation(
    rule: dict[str, Any], value: Any
) -> None:
    """`is_greater_than` on a string (or `regex` on a number) fails; it is not skipped."""
    assert rules_broken(rule, value) == [next(iter(rule))]


def test_missing_and_null_fields_break_required_unless_optional() -> None:
    """A missing or null field is a `required` violation; `optional: true` allows both."""
    strict = validator({"name": "x", "type": "int"})
    loose = validator({"name": "x", "type": "int", "optional": True})
    assert [v["rule"] for v in strict.violations({})] == ["required"]
    assert [v["rule"] for v in strict.violations({"x": None})] == ["required"]
    assert loose.violations({}) == []
    assert loose.violations({"x": None}) == []


def test_every_violation_is_listed_with_field_rule_and_value() -> None:
    """One record breaking three rules on two fields gets three entries, each with its value."""
    check = validator(
        {"name": "score", "type": "int", "is_greater_than": 0, "one_of": [1, 2, 3]},
        {"name": "answer", "type": "str", "min_length": 5},
    )
    found = check.violations({"score": -1, "answer": "hi"})
    assert [(v["field"], v["rule"], v["value"]) for v in found] == [
        ("score", "is_greater_than", -1),
        ("score", "one_of", -1),
        ("answer", "min_length", "hi"),
    ]
    assert all(v["message"] for v in found)


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("list[dict[str, any]]", True),
        ("dict[str, list[int | none]]", True),
        ("lisst[int]", False),
        ("list[int", False),
        ("dict[str]", False),
        ("int]", False),
    ],
)
def test_type_names_parse_or_raise_config_error(text: str, ok: bool) -> None:
    """Type names are parsed when the validator is built, before any record runs."""
    if ok:
        parse_type(text)
    else:
        with pytest.raises(ConfigError, match="type"):
            validator({"name": "x", "type": text})


MODELS = """
from pydantic import BaseModel, field_validator, model_validator


class Answer(BaseModel):
    question: str
    score: int

    @field_validator("question")
    @classmethod
    def _ends_with_question_mark(cls, value: str) -> str:
        if not value.endswith("?"):
            raise ValueError("a question ends with '?'")
        return value

    @model_validator(mode="after")
    def _score_fits_question(self) -> "Answer":
        if self.score > len(self.question):
            raise ValueError("score exceeds question length")
        return self
"""


def test_a_pydantic_schema_runs_its_validators(tmp_path: Path) -> None:
    """`schema:` a dotted path to a model; field and model validators report violations."""
    (tmp_path / "answer_models.py").write_text(MODELS, encoding="utf-8")
    config = SchemaConfig.model_validate({"schema": "answer_models.Answer"})
    check = RecordValidator(config, tmp_path)
    assert check.violations({"question": "why?", "score": 2}) == []
    broken = check.violations({"question": "why", "score": "x"})
    assert sorted((v["field"], v["rule"]) for v in broken) == [
        ("question", "value_error"),
        ("score", "int_parsing"),
    ]
    whole = check.violations({"question": "why?", "score": 9})
    assert [(v["field"], v["rule"]) for v in whole] == [("<record>", "value_error")]
    missing = check.violations({"question": "why?"})
    assert [(v["field"], v["rule"], v["value"]) for v in missing] == [("score", "missing", None)]


RAISING_MODEL = """
from pydantic import BaseModel, field_validator


class Scored(BaseModel):
    score: int

    @field_validator("score")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 0:
            raise TypeError("negative score")
        return value
"""


def test_a_validator_raising_another_exception_is_a_violation_not_a_crash(
    tmp_path: Path,
) -> None:
    """A validator that raises TypeError (which pydantic does not wrap) breaks the record
    with a violation naming the error, so the record fails as a schema failure."""
    (tmp_path / "scored_models.py").write_text(RAISING_MODEL, encoding="utf-8")
    check = RecordValidator(
        SchemaConfig.model_validate({"schema": "scored_models.Scored"}), tmp_path
    )
    assert check.violations({"score": 1}) == []
    (violation,) = check.violations({"score": -1})
    assert (violation["field"], violation["rule"]) == ("<record>", "validator_error")
    assert "a validator of Scored raised TypeError: negative score" in violation["message"]


def test_a_schema_that_is_not_a_pydantic_model_is_a_config_error(tmp_path: Path) -> None:
    """A dotted path to anything but a BaseModel subclass fails when the task compiles."""
    (tmp_path / "not_models.py").write_text("Answer = dict\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not a pydantic model"):
        RecordValidator(SchemaConfig.model_validate({"schema": "not_models.Answer"}), tmp_path)


TASK = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out/out.jsonl}
graph_config:
  nodes:
    copy: {node_type: lambda, lambda: schema_steps.score, output_keys: score}
  edges:
    - {from: START, to: copy}
    - {from: copy, to: END}
output_config:
  output_map:
    id: {from: id}
    score: {from: score}
    label: {from: label}
schema_config:
  fields:
    - {name: score, type: int, is_greater_than: 0, is_less_than: 10}
    - {name: label, type: str, one_of: [good, bad], regex: '^[a-z]+$'}
"""


def test_a_failing_record_goes_to_failures_only_and_is_counted(tmp_path: Path) -> None:
    """The sink gets valid records; the failures file lists every violation; the summary counts."""
    rows = [
        {"id": "ok", "n": 3, "label": "good"},
        {"id": "bad", "n": 30, "label": "Ugly"},
    ]
    task = write_task(
        tmp_path,
        TASK,
        {
            "data.jsonl": "".join(json.dumps(r) + "\n" for r in rows),
            "schema_steps.py": "def score(state):\n    return state['n']\n",
        },
    )
    result = run_task(task, RunOptions())
    assert (result.done, result.failed) == (1, 1)
    written = [json.loads(line) for line in result.output_paths[0].read_text().splitlines()]
    assert written == [{"id": "ok", "score": 3, "label": "good"}]
    (failure,) = [json.loads(line) for line in result.failures_path.read_text().splitlines()]
    assert failure["id"] == "bad"
    assert failure["error"] == "schema"
    assert [(v["field"], v["rule"], v["value"]) for v in failure["violations"]] == [
        ("score", "is_less_than", 30),
        ("label", "regex", "Ugly"),
        ("label", "one_of", "Ugly"),
    ]
    summary = json.loads(result.summary_path.read_text())
    assert summary["failed"] == 1
    assert summary["done"] == 1


def test_bad_type_names_fail_validate_before_any_record(tmp_path: Path) -> None:
    """`grasp validate` and compile report an unknown type with the file and YAML path."""
    bad = TASK.replace("type: int,", "type: integr,")
    task = write_task(tmp_path, bad, {"data.jsonl": '{"id": "a", "n": 1}\n'})
    with pytest.raises(ConfigError, match=r"task\.yaml:\d+.*schema_config.*integr"):
        anyio.run(check_task, Task.load(task), ModelCatalog())
    assert main(["validate", str(task)]) == 2
    assert not (tmp_path / "out").exists()
