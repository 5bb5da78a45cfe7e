"""Native structured output against llama.cpp's server, which takes a schema as
``response_format: {type: json_object, schema: ...}`` (enforced by a grammar) and refuses
``{type: json_schema}``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grasp_core import RunOptions, run_task
from tests.conftest import write_task
from tests.realserver.conftest import RECORDS, models_file, reply_text
from tests.realserver.recording_proxy import RecordingProxy

pytestmark = [pytest.mark.realserver, pytest.mark.timeout(900)]


TASK = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out/structured.jsonl}
graph_config:
  nodes:
    judge:
      node_type: llm
      output_keys: [answer]
      prompt:
        - user: "judge {id}: answer in JSON about {topic}"
      model: {name: MODEL}
      structured_output:
        mode: native
        schema:
          fields:
            answer: str
  edges:
    - {from: START, to: judge}
    - {from: judge, to: END}
output_config:
  output_map:
    id: {from: id}
    answer: {from: answer}
"""


def structured_task(folder: Path, proxy: RecordingProxy, name: str) -> Path:
    rows = "".join(
        json.dumps({"id": f"r{i}", "topic": f"thing {i}"}) + "\n" for i in range(RECORDS)
    )
    entries = {"object": "openai/tiny", "schema": "openai/tiny"}
    extra = {"object": "schema_mode: json_object\n", "schema": "schema_mode: json_schema\n"}
    models = models_file(proxy.url, entries, extra)
    return write_task(
        folder, TASK.replace("MODEL", name), {"data.jsonl": rows, "models.yaml": models}
    )


def test_json_object_with_a_schema_gives_typed_fields(
    tmp_path: Path, proxy: RecordingProxy
) -> None:
    """With `schema_mode: json_object` the schema goes in `response_format.schema`; the
    server's grammar-bound replies, raw control characters and all, validate and each record
    holds the field the server answered."""
    result = run_task(structured_task(tmp_path, proxy, "object"), RunOptions())
    exchanges = proxy.exchanges()
    assert (result.done, result.failed) == (RECORDS, 0), result.summary_path.read_text()
    assert len(exchanges) == RECORDS
    for exchange in exchanges:
        sent = exchange.request["response_format"]
        assert sent["type"] == "json_object"
        assert sent["schema"]["properties"]["answer"]["type"] == "string"
        assert exchange.status == 200
    contents = {e.user_text.split(":")[0]: reply_text(e) for e in exchanges}
    # The server's grammar lets a raw newline into the string (the tiny model writes one):
    # not strict JSON, but what json.loads(strict=False) reads.
    assert all("\n" in content for content in contents.values())
    for record in result.records():
        sent = json.loads(contents[f"judge {record['id']}"], strict=False)
        assert record["answer"] == sent["answer"]


def test_a_rejected_json_schema_fails_once_and_names_schema_mode(
    tmp_path: Path, proxy: RecordingProxy
) -> None:
    """llama.cpp answers `response_format: {type: json_schema}` with an error; each record
    fails after that one request (an invalid request is not retried) and its reason names
    `schema_mode`, the option to change."""
    result = run_task(structured_task(tmp_path, proxy, "schema"), RunOptions())
    exchanges = proxy.exchanges()
    assert (result.done, result.failed) == (0, RECORDS)
    assert len(exchanges) == RECORDS
    assert all(e.status >= 400 for e in exchanges)
    reasons = [json.loads(line)["reason"] for line in result.failures_path.read_text().splitlines()]
    assert len(reasons) == RECORDS
    assert all("schema_mode" in reason for reason in reasons), reasons
