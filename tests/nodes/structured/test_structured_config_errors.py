"""Structured-output mistakes stop the run before any model call, naming the file, line and
YAML path, or the way out.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grasp_core import ConfigError, RunOptions, run_task
from grasp_core.mock_server import MockServer
from grasp_core.models.catalog import ModelCatalog
from tests.conftest import write_task
from tests.nodes.structured.helpers import SCORE_FIELDS, TASK, run


@pytest.mark.parametrize(
    ("schema", "keys", "expected"),
    [
        (
            "\n          fields:\n            score: {type: integr}\n",
            "verdict",
            ["task.yaml:19:", "structured_output.schema.fields.score.type", "'integr'"],
        ),
        (
            "\n          fields:\n            inner:\n              fields:\n"
            "                deep: list[strr]\n",
            "verdict",
            ["task.yaml:21:", "fields.inner.fields.deep", "'list[strr]'"],
        ),
        (
            "\n          fields:\n            score: {enum: []}\n",
            "verdict",
            ["task.yaml:19:", "fields.score.enum", "at least one value"],
        ),
        (
            "\n          fields:\n            s: {type: str, ge: 1}\n",
            "verdict",
            ["task.yaml:19:", "fields.s", "`ge` and `le` bound numbers"],
        ),
        (SCORE_FIELDS, "[score, grade]", ["judge", "output_keys", "'grade'"]),
        (" schemas.Nope", "verdict", ["judge", "structured_output.schema", "Nope"]),
        (" schemas.helper", "verdict", ["judge", "is not a pydantic model"]),
    ],
)
def test_schema_mistakes_are_config_errors_naming_the_yaml_path(
    tmp_path: Path, server: MockServer, schema: str, keys: str, expected: list[str]
) -> None:
    """Bad type names, empty enums, misplaced bounds, stray output keys and bad dotted
    paths stop the run before any model call, naming the file, line and YAML path."""
    files = {"schemas.py": "def helper():\n    pass\n"}
    with pytest.raises(ConfigError) as caught:
        run(tmp_path, server, ["x"], schema=schema, keys=keys, files=files)
    for text in expected:
        assert text in str(caught.value)
    assert server.requests() == []


def test_native_mode_on_a_route_without_response_format_is_a_config_error(
    tmp_path: Path, server: MockServer
) -> None:
    """`mode: native` on a route that cannot take response_format names the way out."""
    rows = json.dumps({"id": 0, "prompt": "x"}) + "\n"
    task_yaml = TASK.format(keys="v", mode="native", attempts=1, schema=SCORE_FIELDS)
    write_task(tmp_path, task_yaml, {"data.jsonl": rows})
    models = ModelCatalog.from_mapping(
        {"m": {"model": "huggingface/tgi", "api_base": server.url}}, source="test"
    )
    with pytest.raises(ConfigError, match="use mode: prompt or auto"):
        run_task(tmp_path / "task.yaml", RunOptions(models=models))
