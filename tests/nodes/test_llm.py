"""The llm node over real HTTP through litellm against the bundled mock server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grasp_core import RunOptions, RunResult, run_task
from grasp_core.mock_server import MockServer
from tests.conftest import write_task

TASK = """
data_config:
  source: {{type: disk, file_path: data.jsonl}}
  sink: {{type: jsonl, file_path: out.jsonl}}
graph_config:
  {props}
  nodes:
    ask:
      node_type: llm
      output_keys: reply
      prompt:
        - system: "be brief"
        - user: "{prompt}"
      model: {{name: m, parameters: {{max_tokens: 50}}}}
  edges:
    - {{from: START, to: ask}}
    - {{from: ask, to: END}}
"""

MODELS = """
m:
  model: openai/m
  api_base: http://127.0.0.1:1/v1
  max_concurrency: 8
  max_retries: {retries}
  timeout: {timeout}
  transport: {transport}
"""


@pytest.fixture(params=["auto", "litellm"])
def transport(request: pytest.FixtureRequest) -> str:
    """Every behaviour holds for both transports: the fast lane (auto) and litellm."""
    return str(request.param)


def run(
    tmp_path: Path,
    server: MockServer,
    prompts: list[str],
    *,
    transport: str,
    retries: int = 3,
    timeout: float = 10,
    props: str = "",
    backend: str = "asyncio",
) -> RunResult:
    rows = "".join(json.dumps({"id": i, "prompt": p}) + "\n" for i, p in enumerate(prompts))
    task = write_task(
        tmp_path,
        TASK.format(props=props, prompt="{prompt}"),
        {
            "data.jsonl": rows,
            "models.yaml": MODELS.format(retries=retries, timeout=timeout, transport=transport),
        },
    )
    return run_task(task, RunOptions(mock=server.url), backend=backend)  # type: ignore[arg-type]


def outputs(tmp_path: Path) -> dict[int, dict[str, object]]:
    lines = (tmp_path / "out.jsonl").read_text().splitlines()
    return {json.loads(line)["id"]: json.loads(line) for line in lines}


def failures(result: RunResult) -> list[dict[str, object]]:
    return [json.loads(line) for line in result.failures_path.read_text().splitlines()]


def test_prompt_variables_are_substituted_and_the_reply_stored(
    tmp_path: Path, mock_server: MockServer, transport: str
) -> None:
    """The rendered prompt reaches the server; the reply lands in the output key and messages."""
    result = run(tmp_path, mock_server, ["hello world", "second prompt"], transport=transport)
    assert result.done == 2
    out = outputs(tmp_path)
    assert out[0]["reply"] == "hello world"
    assert out[1]["messages"] == [
        {"role": "user", "content": "second prompt"},
        {"role": "assistant", "content": "second prompt"},
    ]


def test_retryable_errors_are_retried_until_success(
    tmp_path: Path, mock_server: MockServer, transport: str
) -> None:
    """429 (with Retry-After), 500 and 503 are retried until success; retries are counted."""
    mock_server.reset()
    prompts = ["a [[mock:429:2:retry_after=0.01]]", "b [[mock:500:1]]", "c [[mock:503:1]]"]
    result = run(tmp_path, mock_server, prompts, transport=transport)
    assert result.done == 3
    assert result.metrics["models"]["m"]["retries"] == 4
    assert sorted(r["status"] for r in mock_server.requests()) == [200] * 3 + [429, 429, 500, 503]


def test_dropped_connections_and_malformed_bodies_are_retried(
    tmp_path: Path, mock_server: MockServer, transport: str
) -> None:
    """A dropped connection, a non-JSON body and empty choices all count as transient."""
    prompts = ["a [[mock:drop:1]]", "b [[mock:malformed:1]]", "c [[mock:empty:1]]"]
    result = run(tmp_path, mock_server, prompts, transport=transport)
    assert result.done == 3, failures(result)
    assert {v["reply"] for v in outputs(tmp_path).values()} == {"a", "b", "c"}


def test_exhausted_retries_fail_the_record_with_attempts(
    tmp_path: Path, mock_server: MockServer, transport: str
) -> None:
    """After max_retries the record fails, naming the node, the model and the attempt count."""
    result = run(tmp_path, mock_server, ["ok", "x [[mock:500]]"], retries=2, transport=transport)
    assert (result.done, result.failed) == (1, 1)
    (failure,) = failures(result)
    assert failure["id"] == "1"
    assert failure["node"] == "ask"
    assert failure["attempts"] == 3
    assert "HTTP 500" in str(failure["reason"])
    assert "'m'" in str(failure["reason"])
    assert failure["input"] == {"id": 1, "prompt": "x [[mock:500]]"}


def test_timeouts_are_retried_then_fail(
    tmp_path: Path, mock_server: MockServer, transport: str
) -> None:
    """A request slower than the timeout is abandoned and retried; for good it fails the record."""
    result = run(
        tmp_path,
        mock_server,
        ["slow [[mock:timeout:hang=5]]"],
        retries=1,
        timeout=0.3,
        transport=transport,
    )
    assert result.failed == 1
    assert "timed out" in str(failures(result)[0]["reason"])


def test_missing_prompt_variable_fails_only_that_record(
    tmp_path: Path, mock_server: MockServer, transport: str
) -> None:
    """A record without a prompt variable fails with a message naming it; others are written."""
    rows = json.dumps({"id": 0, "prompt": "fine"}) + "\n" + json.dumps({"id": 1}) + "\n"
    task = write_task(
        tmp_path,
        TASK.format(props="", prompt="{prompt}"),
        {
            "data.jsonl": rows,
            "models.yaml": MODELS.format(retries=0, timeout=5, transport=transport),
        },
    )
    result = run_task(task, RunOptions(mock=mock_server.url))
    assert (result.done, result.failed) == (1, 1)
    reason = str(failures(result)[0]["reason"])
    assert "{prompt}" in reason
    assert "'ask'" in reason
    assert "'1'" in reason


def test_multiturn_sends_the_history_window(
    tmp_path: Path, mock_server: MockServer, transport: str
) -> None:
    """Multiturn graphs send earlier messages before the prompt, trimmed to the window."""
    mock_server.reset()
    rows = (
        json.dumps(
            {
                "id": 0,
                "prompt": "now",
                "messages": [{"role": "user", "content": f"old {i}"} for i in range(5)],
            }
        )
        + "\n"
    )
    task = write_task(
        tmp_path,
        TASK.format(
            props="chat_conversation: multiturn\n  chat_history_window_size: 2", prompt="{prompt}"
        ),
        {
            "data.jsonl": rows,
            "models.yaml": MODELS.format(retries=0, timeout=5, transport=transport),
        },
    )
    run_task(task, RunOptions(mock=mock_server.url))
    (request,) = mock_server.requests()
    assert [m["content"] for m in request["messages"]] == ["old 3", "old 4", "be brief", "now"]


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_llm_tasks_run_under_asyncio_and_trio(
    tmp_path: Path, mock_server: MockServer, backend: str, transport: str
) -> None:
    """The same task gives the same output under both event loops."""
    result = run(
        tmp_path,
        mock_server,
        ["one", "two [[mock:429:1:retry_after=0.01]]"],
        backend=backend,
        transport=transport,
    )
    assert result.done == 2
    assert {v["reply"] for v in outputs(tmp_path).values()} == {"one", "two"}
