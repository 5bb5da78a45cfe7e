"""A two-node task whose first model is batched and second live, against a mock server
with a batch plan of the test's own."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from grasp_core.mock_server import BatchPlan, MockServer
from tests.conftest import write_task

TASK = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out.jsonl}
graph_config:
  nodes:
    draft:
      node_type: llm
      output_keys: draft
      prompt: [{user: "write about {topic}"}]
      model: {name: batched}
    polish:
      node_type: llm
      output_keys: final
      prompt: [{user: "polish: {draft}"}]
      model: {name: live}
  edges:
    - {from: START, to: draft}
    - {from: draft, to: polish}
    - {from: polish, to: END}
output_config:
  output_map:
    id: {from: id}
    draft: {from: draft}
    final: {from: final}
"""

BATCH = "{max_requests: 4, max_wait: 0.2, poll_interval: 0.05, max_resubmits: 1}"


def models_yaml(url: str, batch: str = BATCH) -> str:
    """``batched`` (a batch model) and ``live``, both at the mock ``url``."""
    return (
        f"batched: {{model: openai/b, api_base: '{url}/v1', batch: {batch}}}\n"
        f"live: {{model: openai/live, api_base: '{url}/v1'}}\n"
    )


def batch_task(folder: Path, url: str, records: int = 10, batch: str = BATCH) -> Path:
    rows = "".join(
        json.dumps({"id": f"r{i}", "topic": f"topic {i}"}) + "\n" for i in range(records)
    )
    files = {"data.jsonl": rows, "models.yaml": models_yaml(url, batch)}
    return write_task(folder, TASK, files)


@pytest.fixture
def plan() -> BatchPlan:
    return BatchPlan()


@pytest.fixture
def server(plan: BatchPlan) -> Iterator[MockServer]:
    server = MockServer(batches=plan, max_seconds=600)
    with server.running():
        yield server


def submitted(server: MockServer) -> list[str]:
    """Every custom_id the server received in a created batch, once per submission."""
    return [i for r in server.requests() if r["path"] == "/v1/batches" for i in r["messages"]]


def batch_lines(server: MockServer) -> list[dict[str, object]]:
    """The log entries of requests answered inside batches."""
    return [r for r in server.requests() if r["path"].startswith("/v1/batches/")]


def live_calls(server: MockServer) -> list[dict[str, object]]:
    return [r for r in server.requests() if r["path"] == "/v1/chat/completions"]
