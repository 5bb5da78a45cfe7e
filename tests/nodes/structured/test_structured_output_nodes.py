"""Structured output on multi_llm and agent nodes, over real HTTP against the mock server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from grasp_core import CompileError, RunOptions, RunResult, run_task
from grasp_core.mock_server import MockServer
from grasp_core.models.catalog import ModelCatalog
from tests.conftest import write_task

FIELDS = """
          fields:
            score: {type: int, ge: 1, le: 10}
            label: {enum: [good, bad]}
"""

MULTI = """
data_config:
  source: {{type: disk, file_path: data.jsonl}}
  sink: {{type: jsonl, file_path: out.jsonl}}
graph_config:
  nodes:
    judges:
      node_type: multi_llm
      output_keys: grades
      allow_partial: {partial}
      prompt:
        - user: "{{prompt}}"
      models:
        fast: {{name: fast}}
        local: {{name: local}}
      structured_output:
        max_attempts: 2
        schema:{fields}
  edges:
    - {{from: START, to: judges}}
    - {{from: judges, to: END}}
"""

AGENT = """
data_config:
  source: {{type: disk, file_path: data.jsonl}}
  sink: {{type: jsonl, file_path: out.jsonl}}
graph_config:
  nodes:
    solver:
      node_type: agent
      output_keys: {keys}
      prompt:
        - user: "{{prompt}}"
      model: {{name: fast}}
      tools: [kit.add]
      max_steps: 2
      structured_output:
        mode: {mode}
        schema:{fields}
  edges:
    - {{from: START, to: solver}}
    - {{from: solver, to: END}}
"""

KIT = '''
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b
'''


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    mock = MockServer(log_bodies=True, max_seconds=600)
    with mock.running():
        yield mock


@pytest.fixture(params=["auto", "litellm"])
def transport(request: pytest.FixtureRequest) -> str:
    """`auto` takes the fast lane for the openai route; `litellm` forces litellm."""
    return str(request.param)


def run(
    folder: Path, server: MockServer, task_yaml: str, prompts: list[str], transport: str
) -> RunResult:
    rows = "".join(json.dumps({"id": i, "prompt": p}) + "\n" for i, p in enumerate(prompts))
    write_task(folder, task_yaml, {"data.jsonl": rows, "kit.py": KIT})
    models = {
        "fast": {"model": "openai/judge", "api_base": server.url + "/v1", "transport": transport},
        "local": {"model": "ollama_chat/llama3", "api_base": server.url},
    }
    server.reset()
    catalog = ModelCatalog.from_mapping(models, source="test")
    return run_task(folder / "task.yaml", RunOptions(models=catalog))


def outputs(folder: Path) -> dict[str, dict[str, Any]]:
    lines = (folder / "out.jsonl").read_text().splitlines()
    return {str(json.loads(line)["id"]): json.loads(line) for line in lines}


def check_grade(grade: dict[str, Any]) -> None:
    assert set(grade) == {"score", "label"}
    assert isinstance(grade["score"], int)
    assert 1 <= grade["score"] <= 10
    assert grade["label"] in ("good", "bad")


def test_multi_llm_validates_every_models_reply(
    tmp_path: Path, server: MockServer, transport: str
) -> None:
    """Each label maps to its model's validated object; each route gets the schema its
    own way (response_format for openai, `format` for ollama)."""
    task_yaml = MULTI.format(partial="false", fields=FIELDS)
    result = run(tmp_path, server, task_yaml, ["grade this", "and this"], transport)
    assert result.done == 2, result.failure_reasons
    for record in outputs(tmp_path).values():
        assert set(record["grades"]) == {"fast", "local"}
        for grade in record["grades"].values():
            check_grade(grade)
    requests = server.requests()
    openai = [r["body"] for r in requests if r["path"] == "/v1/chat/completions"]
    ollama = [r["body"] for r in requests if r["path"] == "/api/chat"]
    assert len(openai) == len(ollama) == 2
    assert all(b["response_format"]["json_schema"]["schema"]["required"] for b in openai)
    assert all(b["format"]["properties"]["label"]["enum"] == ["good", "bad"] for b in ollama)


def test_multi_llm_retries_each_model_and_fails_the_record_when_none_validates(
    tmp_path: Path, server: MockServer, transport: str
) -> None:
    """A reply that never validates fails the record (each model got max_attempts calls);
    one that validates on the retry is kept."""
    # allow_partial keeps both models running to the end, so the request counts are exact
    task_yaml = MULTI.format(partial="true", fields=FIELDS)
    prompts = ["once [[mock:schema_violation:1]]", "never [[mock:bad_json]]"]
    result = run(tmp_path, server, task_yaml, prompts, transport)
    assert (result.done, result.failed) == (1, 1)
    for grade in outputs(tmp_path)["0"]["grades"].values():
        check_grade(grade)
    assert outputs(tmp_path)["0"]["grades_errors"] == {}
    reason = json.loads(result.failures_path.read_text())["reason"]
    assert "every model failed" in reason
    assert reason.count("no reply matched the structured_output schema in 2 attempt(s)") == 2
    retried = [r for r in server.requests() if "schema_violation" in json.dumps(r["messages"])]
    assert len(retried) == 4, "two attempts for each of the two models"


def test_agent_final_answer_is_validated_after_tool_calls_with_feedback(
    tmp_path: Path, server: MockServer, transport: str
) -> None:
    """The agent calls its tool, its first final answer is invalid and sent back with the
    error, the second validates; retries do not use up max_steps."""
    task_yaml = AGENT.format(keys="[score, label]", mode="auto", fields=FIELDS)
    prompt = 'sum [[mock:call:add {"a": 2, "b": 3}]] [[mock:bad_json:1]]'
    result = run(tmp_path, server, task_yaml, [prompt], transport)
    assert result.done == 1, result.failure_reasons
    record = outputs(tmp_path)["0"]
    check_grade({"score": record["score"], "label": record["label"]})
    bodies = [r["body"] for r in server.requests()]
    assert len(bodies) == 3
    assert all("tools" in b and b["response_format"]["type"] == "json_schema" for b in bodies)
    roles = [m["role"] for m in bodies[2]["messages"]]
    assert roles == ["user", "assistant", "tool", "assistant", "user"]
    assert "Invalid JSON" in bodies[2]["messages"][-1]["content"]
    transcript = record["solver_transcript"]
    assert [m["role"] for m in transcript] == [*roles, "assistant"]
    assert transcript[2]["content"] == "5"
    assert record["messages"][-1]["content"] == json.dumps(
        {"score": record["score"], "label": record["label"]}
    )


@pytest.mark.parametrize("mode", ["native", "prompt"])
def test_agent_transcript_key_naming_a_spread_field_is_refused_at_compile_time(
    tmp_path: Path, server: MockServer, mode: str
) -> None:
    """A transcript_key equal to a field spread over output_keys would overwrite it: the
    task does not compile, and no model is called."""
    task_yaml = AGENT.format(keys="[score, label]", mode=mode, fields=FIELDS).replace(
        "max_steps: 2", "max_steps: 2\n      transcript_key: score"
    )
    with pytest.raises(
        CompileError, match=r"transcript_key 'score' collides with the answer's key\(s\)"
    ):
        run(tmp_path, server, task_yaml, ["q"], "auto")
    assert server.requests() == []
    assert not (tmp_path / "out.jsonl").exists()


def test_agent_in_prompt_mode_fails_the_record_after_max_attempts(
    tmp_path: Path, server: MockServer, transport: str
) -> None:
    """On the prompt path the schema rides in the prompt; an answer that never validates
    fails the record with the structured-output reason, not a step-limit one."""
    task_yaml = AGENT.format(keys="answer", mode="prompt", fields=FIELDS)
    prompts = ["plain", "never [[mock:schema_violation]]"]
    result = run(tmp_path, server, task_yaml, prompts, transport)
    assert (result.done, result.failed) == (1, 1)
    check_grade(outputs(tmp_path)["0"]["answer"])
    assert result.failure_reasons == {"solver: StructuredOutputError": 1}
    bodies = [r["body"] for r in server.requests()]
    assert all("response_format" not in b for b in bodies)
    assert all("<json-schema>" in b["messages"][0]["content"] for b in bodies)
    assert len(bodies) == 1 + 3, "one answer for the plain record, three attempts for the other"
