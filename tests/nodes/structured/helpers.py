"""A one-node structured-output task run over real HTTP against the mock server, on a chosen
model route and transport, and reading what it wrote and sent.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from grasp_core import RunOptions, RunResult, run_task
from grasp_core.mock_server import MockServer
from grasp_core.models.catalog import ModelCatalog
from tests.conftest import write_task

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
