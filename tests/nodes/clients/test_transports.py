"""Both transports over real HTTP: every route, identical outputs, and secrets kept out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grasp_core import RunOptions, RunResult, run_task
from grasp_core.mock_server import MockServer
from grasp_core.models.catalog import ModelCatalog
from grasp_nodes.clients import FastLaneClient, LiteLLMClient
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
        - system: "sys"
        - user: "{prompt}"
      model: {name: m, parameters: {temperature: 0.2, max_tokens: 20}}
  edges:
    - {from: START, to: ask}
    - {from: ask, to: END}
"""

ROWS = "".join(json.dumps({"id": i, "prompt": f"prompt number {i}"}) + "\n" for i in range(6))


def run_route(
    tmp_path: Path, server: MockServer, route: str, *, transport: str, base: str, **extra: str
) -> RunResult:
    entry = {"model": route, "api_base": server.url + base, "transport": transport, **extra}
    catalog = ModelCatalog.from_mapping({"m": entry}, source="test")
    task = write_task(tmp_path, TASK, {"data.jsonl": ROWS})
    return run_task(task, RunOptions(models=catalog, cache=False))  # each transport calls


def replies(tmp_path: Path) -> dict[int, str]:
    lines = (tmp_path / "out.jsonl").read_text().splitlines()
    return {json.loads(line)["id"]: json.loads(line)["reply"] for line in lines}


@pytest.mark.parametrize(
    ("route", "base", "extra", "fast"),
    [
        ("openai/gpt-4o", "/v1", {}, True),
        ("hosted_vllm/Qwen/Qwen2.5-7B", "/v1", {}, True),
        ("mistral/mistral-small", "/v1", {}, True),
        ("azure/my-deployment", "", {"api_version": "2024-10-21"}, True),
        ("ollama_chat/llama3", "", {}, False),
    ],
)
@pytest.mark.parametrize("transport", ["auto", "litellm"])
def test_each_route_answers_over_http(
    tmp_path: Path,
    mock_server: MockServer,
    route: str,
    base: str,
    extra: dict[str, str],
    fast: bool,
    transport: str,
) -> None:
    """Every supported route reaches the server and yields the echoed reply."""
    mock_server.reset()
    result = run_route(tmp_path, mock_server, route, transport=transport, base=base, **extra)
    assert result.done == 6, result.failure_reasons
    assert replies(tmp_path) == {i: f"prompt number {i}" for i in range(6)}
    paths = {r["path"].split("?")[0] for r in mock_server.requests()}
    if route.startswith("azure/"):
        assert paths == {"/openai/deployments/my-deployment/chat/completions"}
    elif route.startswith("ollama"):
        assert paths == {"/api/chat"}
    else:
        assert paths == {"/v1/chat/completions"}


@pytest.mark.parametrize(
    ("route", "expected"),
    [
        ("openai/x", FastLaneClient),
        ("hosted_vllm/x", FastLaneClient),
        ("azure/x", FastLaneClient),
        ("mistral/x", LiteLLMClient),
        ("ollama_chat/x", LiteLLMClient),
    ],
)
@pytest.mark.anyio
async def test_fast_lane_is_chosen_for_openai_compatible_routes(route: str, expected: type) -> None:
    """Routes litellm sends unchanged take the fast lane; mistral and ollama stay on litellm,
    and `transport: litellm` forces litellm."""
    from grasp_core.models.backends import BackendPool
    from grasp_core.observe.metrics import RunMetrics
    from grasp_core.protocols import BuildEnv
    from grasp_nodes.clients import client_for

    for transport, wanted in (("auto", expected), ("litellm", LiteLLMClient)):
        catalog = ModelCatalog.from_mapping(
            {"m": {"model": route, "api_base": "http://127.0.0.1:1", "transport": transport}},
            source="test",
        )
        env = BuildEnv(Path.cwd(), catalog, BackendPool(catalog), RunMetrics())
        assert type(client_for(env, "m")) is wanted


def test_both_transports_send_the_same_requests_and_write_the_same_output(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """The fast lane and litellm produce identical outputs and identical request logs."""
    seen = {}
    for transport in ("auto", "litellm"):
        mock_server.reset()
        folder = tmp_path / transport
        run_route(folder, mock_server, "hosted_vllm/q", transport=transport, base="/v1")
        seen[transport] = (
            sorted(json.dumps([r["model"], r["messages"]]) for r in mock_server.requests()),
            (folder / "out.jsonl").read_text().splitlines(),
        )
    assert seen["auto"][0] == seen["litellm"][0]
    assert sorted(seen["auto"][1]) == sorted(seen["litellm"][1])


@pytest.mark.parametrize("transport", ["auto", "litellm"])
def test_api_keys_never_reach_outputs_journal_or_logs(
    tmp_path: Path,
    mock_server: MockServer,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    transport: str,
) -> None:
    """A key from api_key_env appears in no file the run writes and in no log line."""
    secret = "sk-test-SECRET-9f8e7d6c5b4a"
    monkeypatch.setenv("GRASP_TEST_KEY", secret)
    rows = ROWS + json.dumps({"id": 99, "prompt": "fails [[mock:500]]"}) + "\n"
    write_task(tmp_path, TASK, {"data.jsonl": rows})
    catalog = ModelCatalog.from_mapping(
        {
            "m": {
                "model": "openai/m",
                "api_base": mock_server.url + "/v1",
                "max_retries": 1,
                "api_key_env": "GRASP_TEST_KEY",
                "transport": transport,
            }
        },
        source="test",
    )
    result = run_task(tmp_path / "task.yaml", RunOptions(models=catalog))
    assert (result.done, result.failed) == (6, 1)
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert secret not in path.read_text(errors="replace"), path
    out, err = capfd.readouterr()
    assert secret not in out + err
