"""`schema_mode` in the models file: how each model takes a JSON schema (json_schema,
json_object, a forced tool call, the prompt), over HTTP, and replies with bare newlines."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from grasp_core import ConfigError, ModelSpec, RunOptions, RunResult, run_task
from grasp_core.mock_server import MockServer
from grasp_core.models.catalog import ModelCatalog
from grasp_nodes.structured import StructuredOutput, StructuredOutputConfig
from grasp_nodes.structured._forms import choose_form
from tests.conftest import write_task
from tests.nodes.structured.helpers import SCORE_FIELDS, TASK, bodies, outputs


@pytest.fixture(scope="module")
def llama() -> Iterator[MockServer]:
    """A llama.cpp-like mock (refuses json_schema, bare newlines in JSON strings)."""
    mock = MockServer(like="llamacpp", log_bodies=True, max_seconds=600)
    with mock.running():
        yield mock


def run(
    folder: Path,
    server: MockServer,
    prompts: list[str],
    *,
    transport: str = "auto",
    mode: str = "auto",
    attempts: int = 3,
    **entry: Any,
) -> RunResult:
    rows = "".join(json.dumps({"id": i, "prompt": p}) + "\n" for i, p in enumerate(prompts))
    task_yaml = TASK.format(keys="verdict", mode=mode, attempts=attempts, schema=SCORE_FIELDS)
    write_task(folder, task_yaml, {"data.jsonl": rows})
    model = {
        "model": "openai/m",
        "api_base": server.url + "/v1",
        "transport": transport,
        "max_retries": 0,
        **entry,
    }
    server.reset()
    catalog = ModelCatalog.from_mapping({"m": model}, source="test")
    return run_task(folder / "task.yaml", RunOptions(models=catalog))


def check_verdicts(folder: Path) -> list[dict[str, Any]]:
    """Every record holds a valid verdict, and `messages` ends with its JSON."""
    records = list(outputs(folder).values())
    for record in records:
        verdict = record["verdict"]
        assert 1 <= verdict["score"] <= 5
        assert isinstance(verdict["reason"], str)
        assert json.loads(record["messages"][-1]["content"], strict=False) == verdict
    return records


@pytest.mark.parametrize("transport", ["auto", "litellm"])
def test_json_object_sends_the_schema_as_llamacpp_takes_it(
    tmp_path: Path, llama: MockServer, transport: str
) -> None:
    """`schema_mode: json_object` sends `response_format: {type: json_object, schema}` and the
    prompt instruction (servers may ignore `schema`); the llama.cpp-like server's replies,
    bare newlines and all, validate."""
    result = run(
        tmp_path, llama, ["grade A", "grade B"], transport=transport, schema_mode="json_object"
    )
    assert result.done == 2, result.failure_reasons
    records = check_verdicts(tmp_path)
    assert any("\n" in record["verdict"]["reason"] for record in records)
    for body in bodies(llama):
        fmt = body["response_format"]
        assert fmt["type"] == "json_object"
        assert fmt["schema"]["required"] == ["score", "reason"]
        assert fmt["schema"]["additionalProperties"] is False
        assert "<json-schema>" in body["messages"][-1]["content"]


@pytest.mark.parametrize("transport", ["auto", "litellm"])
def test_tool_mode_forces_one_call_whose_arguments_are_the_object(
    tmp_path: Path, llama: MockServer, transport: str
) -> None:
    """`schema_mode: tool` offers one function (the schema as its parameters) and forces it;
    its arguments are validated, stored, and written to `messages` as the reply."""
    result = run(tmp_path, llama, ["grade A"], transport=transport, schema_mode="tool")
    assert result.done == 1, result.failure_reasons
    check_verdicts(tmp_path)
    (body,) = bodies(llama)
    assert "response_format" not in body
    (tool,) = body["tools"]
    assert tool["function"]["name"] == "judge"
    assert tool["function"]["parameters"]["required"] == ["score", "reason"]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "judge"}}
    assert "<json-schema>" not in json.dumps(body["messages"])


def test_tool_mode_feeds_invalid_arguments_back(tmp_path: Path, llama: MockServer) -> None:
    """Arguments that are not valid JSON are shown to the model with the error, and the next
    attempt's call validates."""
    result = run(tmp_path, llama, ["x [[mock:bad_json:1]]"], schema_mode="tool")
    assert result.done == 1, result.failure_reasons
    first, second = bodies(llama)
    feedback = second["messages"][len(first["messages"]) :]
    assert [m["role"] for m in feedback] == ["assistant", "user"]
    assert feedback[1]["content"].startswith("Your reply is not valid: the reply: Invalid JSON")


def test_prompt_mode_from_the_models_file_sends_no_response_format(
    tmp_path: Path, llama: MockServer
) -> None:
    """`schema_mode: prompt` puts the schema in the prompt, whatever the route."""
    result = run(tmp_path, llama, ["grade A"], schema_mode="prompt")
    assert result.done == 1, result.failure_reasons
    (body,) = bodies(llama)
    assert "response_format" not in body
    assert "tools" not in body
    assert "<json-schema>" in body["messages"][-1]["content"]


@pytest.mark.parametrize("transport", ["auto", "litellm"])
def test_replies_with_bare_newlines_in_strings_validate(tmp_path: Path, transport: str) -> None:
    """A json_schema reply whose strings hold raw newlines (strict JSON refuses it) is read
    as `json.loads(..., strict=False)` reads it, then validated."""
    mock = MockServer(raw_newlines=True, log_bodies=True, max_seconds=600)
    with mock.running():
        result = run(tmp_path, mock, ["grade A"], transport=transport)
    assert result.done == 1, result.failure_reasons
    (record,) = check_verdicts(tmp_path)
    assert "\n" in record["verdict"]["reason"]


@pytest.mark.parametrize(
    ("mode", "schema_mode", "provider", "form"),
    [
        ("auto", "auto", "openai", "json_schema"),
        ("auto", "auto", "azure", "json_schema"),
        ("auto", "auto", "hosted_vllm", "json_schema"),
        ("auto", "auto", "ollama_chat", "json_schema"),
        ("auto", "auto", "huggingface", "prompt"),
        ("auto", "json_object", "openai", "json_object"),
        ("auto", "tool", "huggingface", "tool"),
        ("native", "json_object", "openai", "json_object"),
        ("prompt", "json_object", "openai", "prompt"),
    ],
)
def test_the_form_follows_node_mode_then_schema_mode_then_the_route(
    mode: str, schema_mode: str, provider: str, form: str
) -> None:
    """A node's `mode: prompt` wins; otherwise the model's schema_mode; `auto` is json_schema
    on the routes that take it, else prompt."""
    assert choose_form(mode, schema_mode, provider, node="n", model="m") == form


@pytest.mark.parametrize(
    ("schema_mode", "route", "message"),
    [
        ("prompt", "openai/x", "model 'm' has `schema_mode: prompt` in the models file"),
        ("auto", "huggingface/x", "'huggingface' routes do not take response_format"),
    ],
)
def test_native_mode_with_no_native_form_names_both_settings(
    schema_mode: str, route: str, message: str
) -> None:
    """`mode: native` on a model whose schema goes in the prompt says what to change."""
    config = StructuredOutputConfig.model_validate(
        {"schema": {"fields": {"a": "int"}}, "mode": "native"}
    )
    spec = ModelSpec(model=route, schema_mode=schema_mode)
    with pytest.raises(ConfigError, match=re.escape(message)) as caught:
        StructuredOutput.build(config, node="n", model="m", spec=spec, parameters={}, task_dir=None)
    assert "set schema_mode (json_schema, json_object or tool) on model 'm'" in str(caught.value)


@pytest.mark.parametrize(
    ("schema_mode", "parameters", "key"),
    [
        ("json_object", {"response_format": {"type": "text"}}, "response_format"),
        ("tool", {"tool_choice": "auto"}, "tool_choice"),
    ],
)
def test_parameters_the_form_sets_are_refused_in_the_node(
    schema_mode: str, parameters: dict[str, Any], key: str
) -> None:
    """A node may not set the request parameters its model's schema form carries."""
    config = StructuredOutputConfig.model_validate({"schema": {"fields": {"a": "int"}}})
    spec = ModelSpec(model="openai/x", schema_mode=schema_mode)
    with pytest.raises(ConfigError, match=f"model.parameters.{key} is set by structured_output"):
        StructuredOutput.build(
            config, node="n", model="m", spec=spec, parameters=parameters, task_dir=None
        )


def test_an_unknown_schema_mode_is_refused_with_its_yaml_path(tmp_path: Path) -> None:
    """`schema_mode` takes the documented values only; the error names the models file's line."""
    models = tmp_path / "models.yaml"
    models.write_text("m:\n  model: openai/x\n  schema_mode: xml\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"models.yaml:3: m.schema_mode: .*json_object"):
        ModelCatalog.load(models)
