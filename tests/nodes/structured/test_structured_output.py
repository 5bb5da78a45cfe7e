"""Structured output on llm nodes, over real HTTP against the mock server, both transports."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from grasp_core import ConfigError, RunOptions, RunResult, run_task
from grasp_core.mock_server import MockServer
from grasp_core.models.catalog import ModelCatalog
from tests.conftest import write_task

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

TASK = """
data_config:
  source: {{type: disk, file_path: data.jsonl}}
  sink: {{type: jsonl, file_path: out.jsonl}}
graph_config:
  nodes:
    judge:
      node_type: llm
      output_keys: {keys}
      prompt:
        - system: "You grade answers."
        - user: "{{prompt}}"
      model: {{name: m}}
      structured_output:
        mode: {mode}
        max_attempts: {attempts}
        schema:{schema}
  edges:
    - {{from: START, to: judge}}
    - {{from: judge, to: END}}
"""

SCORE_FIELDS = """
          fields:
            score: {type: int, ge: 1, le: 5}
            reason: str
"""

ROUTES = {
    "openai": ("openai/gpt-4o", "/v1", {}),
    "azure": ("azure/judge", "", {"api_version": "2024-10-21"}),
    "hosted_vllm": ("hosted_vllm/Qwen/Qwen2.5-7B", "/v1", {}),
    "mistral": ("mistral/mistral-small", "/v1", {}),
    "ollama_chat": ("ollama_chat/llama3", "", {}),
}


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    """A mock server that logs request bodies (to see response_format and feedback)."""
    mock = MockServer(log_bodies=True, max_seconds=600)
    with mock.running():
        yield mock


def catalog(server: MockServer, route: str = "openai", transport: str = "auto") -> ModelCatalog:
    model, base, extra = ROUTES[route]
    entry = {"model": model, "api_base": server.url + base, "transport": transport, **extra}
    return ModelCatalog.from_mapping({"m": {**entry, "max_retries": 0}}, source="test")


def run(
    folder: Path,
    server: MockServer,
    prompts: list[str],
    *,
    schema: str = SCORE_FIELDS,
    keys: str = "verdict",
    mode: str = "auto",
    attempts: int = 3,
    route: str = "openai",
    transport: str = "auto",
    files: dict[str, str] | None = None,
) -> RunResult:
    rows = "".join(json.dumps({"id": i, "prompt": p}) + "\n" for i, p in enumerate(prompts))
    task_yaml = TASK.format(keys=keys, mode=mode, attempts=attempts, schema=schema)
    write_task(folder, task_yaml, {"data.jsonl": rows, **(files or {})})
    server.reset()
    options = RunOptions(models=catalog(server, route, transport), cache=False)  # each calls
    return run_task(folder / "task.yaml", options)


def outputs(folder: Path) -> dict[int, dict[str, Any]]:
    lines = (folder / "out.jsonl").read_text().splitlines()
    return {json.loads(line)["id"]: json.loads(line) for line in lines}


def bodies(server: MockServer) -> list[dict[str, Any]]:
    return [entry["body"] for entry in server.requests()]


@pytest.mark.parametrize(
    ("route", "transport"),
    [
        ("openai", "auto"),
        ("openai", "litellm"),
        ("azure", "auto"),
        ("azure", "litellm"),
        ("hosted_vllm", "auto"),
        ("mistral", "litellm"),
        ("ollama_chat", "litellm"),
    ],
)
def test_native_route_sends_the_schema_and_stores_a_validated_object(
    tmp_path: Path, server: MockServer, route: str, transport: str
) -> None:
    """Native routes carry the JSON schema in response_format (Ollama: `format`), and the
    validated object lands in the output key as a dict."""
    result = run(tmp_path, server, ["grade A", "grade B"], route=route, transport=transport)
    assert result.done == 2, result.failure_reasons
    for record in outputs(tmp_path).values():
        verdict = record["verdict"]
        assert set(verdict) == {"score", "reason"}
        assert isinstance(verdict["score"], int)
        assert 1 <= verdict["score"] <= 5
        assert isinstance(verdict["reason"], str)
        assert verdict["reason"]
        assert record["messages"][-1]["content"] == json.dumps(verdict)
    for body in bodies(server):
        if route == "ollama_chat":
            schema = body["format"]
        else:
            assert body["response_format"]["type"] == "json_schema"
            spec = body["response_format"]["json_schema"]
            assert (spec["name"], spec["strict"]) == ("judge", True)
            schema = spec["schema"]
            assert schema["additionalProperties"] is False
        assert schema["required"] == ["score", "reason"]
        assert schema["properties"]["score"]["maximum"] == 5
        assert "<json-schema>" not in json.dumps(body["messages"])


@pytest.mark.parametrize("transport", ["auto", "litellm"])
def test_prompt_mode_puts_the_schema_in_the_prompt_and_keeps_the_transcript_clean(
    tmp_path: Path, server: MockServer, transport: str
) -> None:
    """`mode: prompt` sends no response_format; the schema instruction is appended to the last
    message, the mock answers conforming JSON, and `messages` keeps the original prompt."""
    result = run(tmp_path, server, ["grade A"], mode="prompt", transport=transport)
    assert result.done == 1, result.failure_reasons
    (body,) = bodies(server)
    assert "response_format" not in body
    last = body["messages"][-1]["content"]
    assert last.startswith("grade A\n\n")
    assert "<json-schema>" in last
    schema = json.loads(last.split("<json-schema>")[1].split("</json-schema>")[0])
    assert schema["required"] == ["score", "reason"]
    record = outputs(tmp_path)[0]
    assert 1 <= record["verdict"]["score"] <= 5
    assert record["messages"][0] == {"role": "user", "content": "grade A"}


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


SCHEMAS_PY = """
from pydantic import BaseModel, Field, field_validator


class Verdict(BaseModel):
    \"\"\"A grade with its reason.\"\"\"

    score: int = Field(ge=1, le=5)
    reason: str

    @field_validator("reason")
    @classmethod
    def shout(cls, value: str) -> str:
        return value.upper()


class Picky(BaseModel):
    reason: str

    @field_validator("reason")
    @classmethod
    def cite(cls, value: str) -> str:
        raise ValueError("the reason must cite a source")
"""


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


@pytest.mark.parametrize("transport", ["auto", "litellm"])
@pytest.mark.parametrize("marker", ["bad_json", "schema_violation"])
def test_an_invalid_reply_is_fed_back_and_the_retry_succeeds(
    tmp_path: Path, server: MockServer, transport: str, marker: str
) -> None:
    """After an invalid reply the next request carries it as the assistant turn and the
    validation error as a user turn; the corrected reply is stored."""
    prompt = f"grade [[mock:{marker}:2]]"
    result = run(tmp_path, server, [prompt, "fine"], transport=transport)
    assert result.done == 2, result.failure_reasons
    assert 1 <= outputs(tmp_path)[0]["verdict"]["score"] <= 5
    mine = [b for b in bodies(server) if "mock:" in b["messages"][1]["content"]]
    assert [len(b["messages"]) for b in mine] == [2, 4, 6]
    second = mine[1]["messages"]
    assert second[2]["role"] == "assistant"
    assert second[3]["role"] == "user"
    feedback = second[3]["content"]
    if marker == "bad_json":
        assert "Invalid JSON" in feedback
        assert second[2]["content"].startswith('{"answer": "this reply stops')
    else:
        assert "score: Input should be a valid integer" in feedback
        assert "reason: Input should be a valid string" in feedback
    transcript = outputs(tmp_path)[0]["messages"]
    assert len(transcript) == 2, "failed attempts stay out of the dataset transcript"


def test_exhausted_attempts_fail_the_record_with_the_last_error(
    tmp_path: Path, server: MockServer
) -> None:
    """After max_attempts invalid replies the record fails (counted, in the failures file)
    with the last validation error; the other records are written."""
    result = run(tmp_path, server, ["ok", "never [[mock:bad_json]]"], attempts=2)
    assert (result.done, result.failed) == (1, 1)
    assert result.failure_reasons == {"judge: StructuredOutputError": 1}
    (failure,) = [json.loads(line) for line in result.failures_path.read_text().splitlines()]
    assert failure["id"] == "1"
    assert "2 attempt(s)" in failure["reason"]
    assert "Invalid JSON" in failure["reason"]
    failing = [b for b in bodies(server) if "bad_json" in b["messages"][1]["content"]]
    assert len(failing) == 2


@pytest.mark.parametrize("transport", ["auto", "litellm"])
def test_a_rejecting_validator_exhausts_attempts_with_its_message(
    tmp_path: Path, server: MockServer, transport: str
) -> None:
    """A pydantic validator's message is what the model is told and what the failure says."""
    result = run(
        tmp_path,
        server,
        ["grade"],
        schema=" schemas.Picky",
        attempts=2,
        transport=transport,
        files={"schemas.py": SCHEMAS_PY},
    )
    assert result.failed == 1
    reason = json.loads(result.failures_path.read_text())["reason"]
    assert "reason: Value error, the reason must cite a source" in reason
    assert "the reason must cite a source" in bodies(server)[1]["messages"][-1]["content"]


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


@pytest.mark.parametrize("route", ["openai", "hosted_vllm", "azure"])
def test_both_transports_send_the_same_structured_request_bodies(
    tmp_path: Path, server: MockServer, route: str
) -> None:
    """The fast lane sends response_format and the feedback turns exactly as litellm does."""
    sent = {}
    for transport in ("auto", "litellm"):
        run(
            tmp_path / transport,
            server,
            ["x [[mock:bad_json:1]]"],
            route=route,
            transport=transport,
        )
        sent[transport] = bodies(server)
    assert len(sent["auto"]) == 2
    assert sent["auto"] == sent["litellm"]
