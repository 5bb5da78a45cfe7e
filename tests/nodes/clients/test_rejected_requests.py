"""A request the server refuses is not retried, does not trip the breaker, and says what to set;
tools go out with `tool_choice` and tool-call turns with `content: ""`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from grasp_core import ModelCatalog, RunOptions, RunResult, run_task
from grasp_core.errors import ModelCallError, RejectedRequestError, RetryableModelError
from grasp_core.mock_server import MockServer
from grasp_nodes.clients.errors import error_for_status, rejects_request
from grasp_nodes.clients.wire import request_parameters, wire_message
from tests.conftest import write_task

TASK = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out.jsonl}
graph_config:
  nodes:
    judge:
      node_type: llm
      prompt: [{user: "{prompt}"}]
      model: {name: m}
      structured_output: {schema: {fields: {score: int}}}
  edges: [{from: START, to: judge}, {from: judge, to: END}]
"""
LLAMA_JSON_SCHEMA = (
    'response_format type must be one of "text" or "json_object", but got: json_schema'
)


@pytest.fixture(scope="module")
def llama() -> Iterator[MockServer]:
    """A mock server behaving like llama.cpp's (it refuses json_schema with a 500)."""
    server = MockServer(like="llamacpp", max_seconds=600)
    with server.running():
        yield server


def run(folder: Path, server: MockServer, prompts: list[str], **entry: Any) -> RunResult:
    rows = "".join(json.dumps({"id": i, "prompt": p}) + "\n" for i, p in enumerate(prompts))
    write_task(folder, TASK, {"data.jsonl": rows})
    model = {"model": "openai/m", "api_base": server.url + "/v1", "max_retries": 3, **entry}
    catalog = ModelCatalog.from_mapping({"m": model}, source="test")
    server.reset()
    return run_task(folder / "task.yaml", RunOptions(models=catalog))


def reasons(result: RunResult) -> list[str]:
    lines = result.failures_path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["reason"] for line in lines]


@pytest.mark.parametrize("transport", ["auto", "litellm"])
def test_a_refused_schema_form_fails_at_once_naming_schema_mode_and_warns_once(
    tmp_path: Path, llama: MockServer, transport: str
) -> None:
    """A 500 whose body calls response_format json_schema unsupported is not retried (one
    request per record, with max_retries 3); each record fails with a reason naming the
    server, the form and `schema_mode: json_object`; the warning is logged once."""
    with capture_logs() as logs:
        result = run(tmp_path, llama, ["a", "b", "c"], transport=transport)
    assert (result.done, result.failed) == (0, 3)
    assert len(llama.requests()) == 3
    for reason in reasons(result):
        assert f"the server at {llama.url}/v1 rejected response_format json_schema" in reason
        assert "HTTP 500" in reason
        assert "set `schema_mode: json_object` (or tool, prompt) on model 'm'" in reason
    warnings = [entry for entry in logs if entry["event"] == "server rejects requests"]
    assert len(warnings) == 1
    assert "schema_mode: json_object" in warnings[0]["error"]


def test_refused_requests_never_open_the_circuit_breaker(tmp_path: Path, llama: MockServer) -> None:
    """Twelve refusals in a row (the breaker opens after 8 failures) leave the circuit closed,
    so the schema_mode fix is not masked by pauses."""
    result = run(tmp_path, llama, [f"q{i}" for i in range(12)], max_concurrency=1)
    assert result.failed == 12
    assert result.metrics["backends"]["m"]["circuit_opened"] == 0
    assert result.metrics["models"]["m"]["errors"] == {"500": 12}


def test_with_json_object_the_same_server_answers(tmp_path: Path, llama: MockServer) -> None:
    """The fix the error names works: `schema_mode: json_object` sends the schema the way
    llama.cpp takes it, and the records validate."""
    result = run(tmp_path, llama, ["a", "b"], schema_mode="json_object")
    assert (result.done, result.failed) == (2, 0)
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert all(isinstance(row["judge"]["score"], int) for row in rows)


@pytest.mark.parametrize(
    ("status", "message", "rejected"),
    [
        (400, "Invalid schema for response_format", True),
        (422, "field required", True),
        (500, LLAMA_JSON_SCHEMA, True),
        (500, "Unsupported value: 'tool_choice'", True),
        (500, "Bad Request: messages", True),
        (500, "internal error", False),
        (500, "CUDA out of memory", False),
        (500, "The model produced invalid content. Consider modifying your prompt", False),
        (500, "OpenAIException - Invalid \\escape: line 1 column 126 (char 125)", False),
        (500, "Invalid request: messages[1]", True),
        (500, "Invalid tool_choice", True),
        (503, "invalid state, retry", False),
        (401, "invalid api key", False),
        (404, "model not found", False),
        (408, "invalid", False),
        (429, "slow down", False),
    ],
)
def test_refusals_are_told_from_transient_errors(status: int, message: str, rejected: bool) -> None:
    """4xx other than auth/route/transient ones, and a 500 whose message calls the request
    invalid, are refusals (never retried); other 5xx stay retryable."""
    assert rejects_request(status, message) is rejected
    error = error_for_status(status, message, model="m", headers=None)
    assert isinstance(error, RejectedRequestError) is rejected
    if rejected:
        assert not isinstance(error, RetryableModelError)
        assert error.kind == str(status)
    elif status >= 500 or status in (408, 429):
        assert isinstance(error, RetryableModelError)
    else:
        assert type(error) is ModelCallError


def test_tool_choice_is_auto_when_tools_are_offered_unless_set() -> None:
    """`tools` without `tool_choice` get `"auto"` (some servers ignore tools otherwise); a
    choice set in the models file or the node wins; `tool_choice: null` sends none."""
    tools = [{"type": "function", "function": {"name": "f"}}]
    assert request_parameters({}, {"tools": tools})["tool_choice"] == "auto"
    assert request_parameters({"tool_choice": "required"}, {"tools": tools})["tool_choice"] == (
        "required"
    )
    assert "tool_choice" not in request_parameters({}, {"tools": tools, "tool_choice": None})
    assert "tool_choice" not in request_parameters({"temperature": 0}, {})


def test_tool_call_turns_without_text_go_out_with_empty_content() -> None:
    """An assistant turn with tool_calls and null or no content is sent with `content: ""`;
    other messages are sent as they are."""
    calls = [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]
    assert (
        wire_message({"role": "assistant", "content": None, "tool_calls": calls})["content"] == ""
    )
    assert wire_message({"role": "assistant", "tool_calls": calls})["content"] == ""
    assert wire_message({"role": "assistant", "content": "hi", "tool_calls": calls})["content"] == (
        "hi"
    )
    assert wire_message({"role": "user", "content": None}) == {"role": "user", "content": None}
