"""Schemas of structured output: inline fields of every type, output keys that spread the
object, and a pydantic model named by dotted path, whose validators run.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from grasp_core.mock_server import MockServer
from tests.nodes.structured.helpers import SCHEMAS_PY, bodies, outputs, run

ALL_TYPES = """
          s: {type: str, description: a sentence}
          i: {type: int, ge: 1, le: 5}
          f: float
          b: bool
          tags: list[str]
          counts: dict[str, int]
          mixed: int | str
          colour: {enum: [red, green]}
          maybe: {type: str, optional: true}
          inner:
            description: a nested object
            fields:
              x: int
              level: {enum: [low, high]}
          pairs:
            type: list
            items:
              fields:
                q: str
                a: str
"""


@pytest.mark.parametrize("transport", ["auto", "litellm"])
def test_inline_fields_of_every_type_validate_and_store_json_safe_values(
    tmp_path: Path, server: MockServer, transport: str
) -> None:
    """Scalars, lists, dicts, unions, enums, optional, nested objects and lists of objects
    all reach the state with their types (nested models as plain dicts)."""
    schema = "\n          fields:" + ALL_TYPES.replace("\n  ", "\n    ")
    result = run(tmp_path, server, ["fill it"], schema=schema, keys="out", transport=transport)
    assert result.done == 1, result.failure_reasons
    out = outputs(tmp_path)[0]["out"]
    assert isinstance(out["s"], str)
    assert isinstance(out["i"], int)
    assert 1 <= out["i"] <= 5
    assert isinstance(out["f"], float)
    assert isinstance(out["b"], bool)
    assert all(isinstance(tag, str) for tag in out["tags"])
    assert all(isinstance(k, str) and isinstance(v, int) for k, v in out["counts"].items())
    assert isinstance(out["mixed"], int | str)
    assert out["colour"] in ("red", "green")
    assert "maybe" in out
    assert isinstance(out["inner"]["x"], int)
    assert out["inner"]["level"] in ("low", "high")
    assert out["pairs"]
    assert all(set(pair) == {"q", "a"} for pair in out["pairs"])
    (body,) = bodies(server)
    spec = body["response_format"]["json_schema"]
    # an optional field and a free-form dict are beyond OpenAI's strict mode
    assert spec["strict"] is False
    assert spec["schema"]["properties"]["colour"]["enum"] == ["red", "green"]


def test_output_keys_naming_fields_spread_the_object(tmp_path: Path, server: MockServer) -> None:
    """When every output key names a schema field, each key gets that field's value."""
    result = run(tmp_path, server, ["grade"], keys="[score, reason]")
    assert result.done == 1, result.failure_reasons
    record = outputs(tmp_path)[0]
    assert isinstance(record["score"], int)
    assert isinstance(record["reason"], str)
    assert "verdict" not in record
    assert "judge" not in record


@pytest.mark.parametrize("transport", ["auto", "litellm"])
def test_dotted_pydantic_schema_runs_its_validators(
    tmp_path: Path, server: MockServer, transport: str
) -> None:
    """A model class from the task folder is the schema; its validators shape the values."""
    result = run(
        tmp_path,
        server,
        ["grade"],
        schema=" schemas.Verdict",
        transport=transport,
        files={"schemas.py": SCHEMAS_PY},
    )
    assert result.done == 1, result.failure_reasons
    verdict = outputs(tmp_path)[0]["verdict"]
    assert verdict["reason"] == verdict["reason"].upper()
    assert verdict["reason"].strip()
    (body,) = bodies(server)
    spec = body["response_format"]["json_schema"]
    assert spec["name"] == "Verdict"
    assert spec["schema"]["description"] == "A grade with its reason."
