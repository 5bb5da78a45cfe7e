"""The fast lane sends what litellm sends: same URL, body and headers (modulo client names)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from grasp_core import RunOptions, run_task
from grasp_core.mock_server import MockServer
from grasp_core.models.catalog import ModelCatalog
from tests.conftest import write_task

TASK = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out.jsonl}
graph_config:
  nodes:
    ask:
      node_type: llm
      output_keys: reply
      prompt:
        - system: "be brief"
        - user: "{prompt}"
      model: {name: m, parameters: {temperature: 0.3, max_tokens: 40, top_p: 0.9, seed: 7}}
  edges:
    - {from: START, to: ask}
    - {from: ask, to: END}
"""

CLIENT_HEADERS = {"user-agent", "accept", "accept-encoding", "connection", "host", "content-length"}
"""Headers that name or describe the HTTP client, not the request."""


@pytest.fixture(scope="module")
def recording_server() -> Any:
    server = MockServer(log_bodies=True, max_seconds=600)
    with server.running():
        yield server


def requests(server: MockServer) -> list[dict[str, Any]]:
    out = []
    for r in server.requests():
        headers = {
            k: v
            for k, v in r["headers"].items()
            if k not in CLIENT_HEADERS and not k.startswith("x-stainless")
        }
        out.append({"target": r["target"], "headers": headers, "body": r["body"]})
    return sorted(out, key=lambda r: json.dumps(r, sort_keys=True))


@pytest.mark.parametrize(
    ("route", "base", "extra"),
    [
        ("openai/gpt-4o-mini", "/v1", {}),
        ("hosted_vllm/Qwen/Qwen2.5-7B-Instruct", "/v1", {}),
        ("azure/my-deployment", "", {"api_version": "2024-10-21"}),
    ],
)
@pytest.mark.parametrize("keyed", [True, False])
def test_fast_lane_and_litellm_send_identical_requests(
    tmp_path: Path,
    recording_server: MockServer,
    monkeypatch: pytest.MonkeyPatch,
    route: str,
    base: str,
    extra: dict[str, str],
    keyed: bool,
) -> None:
    """Same task, both transports: the recorded requests and the outputs are identical."""
    monkeypatch.setenv("EQ_KEY", "sk-equivalence")
    rows = "".join(json.dumps({"id": i, "prompt": f"question {i}"}) + "\n" for i in range(3))
    seen = {}
    for transport in ("auto", "litellm"):
        folder = tmp_path / transport
        task = write_task(folder, TASK, {"data.jsonl": rows})
        entry = {
            "model": route,
            "api_base": recording_server.url + base,
            "transport": transport,
            **extra,
        }
        if keyed:
            entry["api_key_env"] = "EQ_KEY"
        catalog = ModelCatalog.from_mapping({"m": entry}, source="test")
        recording_server.reset()
        result = run_task(task, RunOptions(models=catalog, cache=False))
        assert result.done == 3
        seen[transport] = (
            requests(recording_server),
            sorted((folder / "out.jsonl").read_text().splitlines()),
        )
    assert seen["auto"][0] == seen["litellm"][0]
    assert seen["auto"][1] == seen["litellm"][1]
