"""The multi_llm node over real HTTP against the bundled mock server, on both transports."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from grasp_core import RunOptions, RunResult, run_task
from grasp_core.errors import ConfigError
from grasp_core.mock_server import MockServer
from grasp_core.models.backends import BackendPool
from grasp_core.models.catalog import ModelCatalog
from grasp_core.observe.metrics import RunMetrics
from grasp_core.protocols import BuildEnv
from grasp_nodes.multi_llm import MultiLLMNode, MultiLLMNodeConfig
from tests.conftest import write_task

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

TASK = """
data_config:
  source: {{type: disk, file_path: data.jsonl}}
  sink: {{type: jsonl, file_path: out.jsonl}}
graph_config:
  nodes:
    answers:
      node_type: multi_llm
      prompt:
        - system: "be brief"
        - user: "{{prompt}}"
      models:
        a: {{name: ma}}
        b: {{name: mb, parameters: {{max_tokens: 2}}}}
{extra}
  edges:
    - {{from: START, to: answers}}
    - {{from: answers, to: END}}
"""

MODELS = """
ma: {{model: openai/ma, api_base: "{base}", max_concurrency: {limit}, max_retries: 0,
      api_key_env: GRASP_TEST_KEY, transport: {transport}}}
mb: {{model: openai/mb, api_base: "{bad_base}", max_concurrency: {limit}, max_retries: 0,
      api_key_env: GRASP_TEST_KEY, transport: {transport}, timeout: 5, on_truncated: keep}}
"""

PAIRS = """
def to_dpo(results, state):
    return {"chosen": results["a"], "rejected": results["b"]}

async def to_dpo_async(results, state):
    return {"chosen": results["a"], "rejected": results["b"]}

def with_extra(results, state):
    return {"chosen": results["a"], "score": 1}
"""

CLOSED_PORT = "http://127.0.0.1:9/v1"


@pytest.fixture(params=["auto", "litellm"])
def transport(request: pytest.FixtureRequest) -> str:
    """Every behaviour holds for both transports: the fast lane (auto) and litellm."""
    return str(request.param)


@pytest.fixture(autouse=True)
def _api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRASP_TEST_KEY", "sk-test")


def run(
    tmp_path: Path,
    server: MockServer,
    prompts: list[str],
    *,
    transport: str,
    extra: str = "",
    limit: int = 8,
    mb_down: bool = False,
    ma_down: bool = False,
    backend: str = "asyncio",
) -> RunResult:
    """Run the task; the models file points at the mock itself (or at a closed port)."""
    rows = "".join(json.dumps({"id": i, "prompt": p}) + "\n" for i, p in enumerate(prompts))
    good = server.url + "/v1"
    models = MODELS.format(
        base=CLOSED_PORT if ma_down else good,
        bad_base=CLOSED_PORT if mb_down else good,
        limit=limit,
        transport=transport,
    )
    files = {"data.jsonl": rows, "models.yaml": models, "pairs.py": PAIRS}
    task = write_task(tmp_path, TASK.format(extra=extra), files)
    return run_task(task, RunOptions(output_dir=tmp_path), backend=backend)  # type: ignore[arg-type]


def outputs(tmp_path: Path) -> dict[int, dict[str, object]]:
    lines = (tmp_path / "out.jsonl").read_text().splitlines()
    return {json.loads(line)["id"]: json.loads(line) for line in lines}


def failures(result: RunResult) -> list[dict[str, object]]:
    return [json.loads(line) for line in result.failures_path.read_text().splitlines()]


def test_replies_are_stored_by_label(
    tmp_path: Path, mock_server: MockServer, transport: str
) -> None:
    """Each model's reply lands under its label in the node's key; messages stay untouched.
    Label b's reply, cut off at its max_tokens and kept (its model entry says `on_truncated:
    keep`), is flagged on the record."""
    result = run(tmp_path, mock_server, ["hello big world"], transport=transport)
    assert result.done == 1, failures(result)
    out = outputs(tmp_path)[0]
    assert out["answers"] == {"a": "hello big world", "b": "hello big"}
    assert "messages" not in out
    assert out["reply_flags"] == [{"node": "answers", "model": "mb", "flag": "truncated"}]
    assert result.metrics["nodes"]["answers"]["truncated_replies"] == 1


def test_the_nodes_on_truncated_applies_to_every_label(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """`on_truncated: fail` on the node wins over label b's model entry (`keep`): b's cut
    reply fails the record, naming the label, the model and its max_tokens."""
    result = run(
        tmp_path,
        mock_server,
        ["hello big world"],
        transport="auto",
        extra="      on_truncated: fail",
    )
    assert (result.done, result.failed) == (0, 1)
    (failure,) = failures(result)
    for part in ("label 'b'", "model 'mb'", "max_tokens=2"):
        assert part in str(failure["reason"])


def test_models_are_called_concurrently(tmp_path: Path, transport: str) -> None:
    """Two models behind separate backends (each max_concurrency 1) are in flight together:
    the server answers neither request until both have arrived, so calls made one after the
    other could not finish (the barrier's timeout only bounds such a failure)."""
    with _meeting_server(parties=2) as (url, met):
        models = (
            f"ma: {{model: openai/ma, api_base: '{url}', max_concurrency: 1, max_retries: 0,\n"
            f"      api_key_env: GRASP_TEST_KEY, transport: {transport}, timeout: 300}}\n"
            f"mb: {{model: openai/mb, api_base: '{url}', max_concurrency: 1, max_retries: 0,\n"
            f"      api_key_env: GRASP_TEST_KEY, transport: {transport}, timeout: 300}}\n"
        )
        files = {"data.jsonl": json.dumps({"id": 0, "prompt": "hi"}) + "\n", "models.yaml": models}
        task = write_task(tmp_path, TASK.format(extra=""), files)
        result = run_task(task, RunOptions(output_dir=tmp_path))
    assert result.done == 1, failures(result)
    assert sorted(met) == ["ma", "mb"], "a request was answered before the other arrived"
    assert outputs(tmp_path)[0]["answers"] == {"a": "met", "b": "met"}


@contextmanager
def _meeting_server(*, parties: int) -> Iterator[tuple[str, list[str]]]:
    """An OpenAI-compatible server on loopback that holds each chat request until
    ``parties`` requests are waiting together, then answers them all ``"met"``; yields its
    URL and the models of the requests that met (a request left alone for 60 s gets 503)."""
    barrier = threading.Barrier(parties)
    met: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            del format, args

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            try:
                barrier.wait(timeout=60)
            except threading.BrokenBarrierError:
                self._answer(503, {"error": {"message": "no other request came"}})
                return
            met.append(body["model"])
            message = {"role": "assistant", "content": "met"}
            choice = {"index": 0, "message": message, "finish_reason": "stop"}
            usage = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
            reply = {"id": "c", "object": "chat.completion", "created": 0, "model": body["model"]}
            self._answer(200, {**reply, "choices": [choice], "usage": usage})

        def _answer(self, status: int, payload: dict[str, object]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", met
    finally:
        barrier.abort()
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("fn", ["to_dpo", "to_dpo_async"])
def test_post_process_combines_replies_into_chosen_and_rejected(
    tmp_path: Path, mock_server: MockServer, fn: str
) -> None:
    """multi_llm_post_process (sync or async) turns the replies into the keys it returns."""
    extra = f"      multi_llm_post_process: pairs.{fn}\n      output_keys: [chosen, rejected]"
    result = run(tmp_path, mock_server, ["one two three"], transport="auto", extra=extra)
    assert result.done == 1, failures(result)
    out = outputs(tmp_path)[0]
    assert (out["chosen"], out["rejected"]) == ("one two three", "one two")
    assert "answers" not in out


def test_post_process_keys_outside_output_keys_fail_the_record(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """A post-process returning a key outside output_keys fails the record, naming the key."""
    extra = "      multi_llm_post_process: pairs.with_extra\n      output_keys: [chosen, rejected]"
    result = run(tmp_path, mock_server, ["x"], transport="auto", extra=extra)
    assert result.failed == 1
    reason = str(failures(result)[0]["reason"])
    assert "'score'" in reason
    assert "output_keys" in reason


def test_a_failing_model_fails_the_record_naming_its_label(
    tmp_path: Path, mock_server: MockServer, transport: str
) -> None:
    """One model failing fails the node, naming the model's label and its model name."""
    result = run(tmp_path, mock_server, ["hi"], transport=transport, mb_down=True)
    assert (result.done, result.failed) == (0, 1)
    (failure,) = failures(result)
    assert failure["node"] == "answers"
    reason = str(failure["reason"])
    assert "label 'b'" in reason
    assert "'mb'" in reason
    assert "allow_partial" in reason


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_a_failure_cancels_the_other_calls(
    tmp_path: Path, mock_server: MockServer, backend: str
) -> None:
    """Without allow_partial the first failure cancels the slower calls (asyncio and trio)."""
    prompt = "slow [[mock:latency=30]]"
    result = run(tmp_path, mock_server, [prompt], transport="auto", mb_down=True, backend=backend)
    assert result.failed == 1
    assert "label 'b'" in str(failures(result)[0]["reason"])
    # A call cancelled before it ends is never counted; one waited for (30 s) would be.
    assert result.metrics["models"].get("ma", {}).get("calls", 0) == 0


def test_allow_partial_keeps_the_other_replies_and_lists_the_error(
    tmp_path: Path, mock_server: MockServer, transport: str
) -> None:
    """With allow_partial, failed labels are omitted and listed under `<key>_errors`."""
    extra = "      allow_partial: true"
    result = run(tmp_path, mock_server, ["hi"], transport=transport, extra=extra, mb_down=True)
    assert result.done == 1, failures(result)
    out = outputs(tmp_path)[0]
    assert out["answers"] == {"a": "hi"}
    errors = out["answers_errors"]
    assert isinstance(errors, dict)
    assert list(errors) == ["b"]
    assert "'mb'" in errors["b"]


def test_allow_partial_still_fails_when_every_model_fails(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """allow_partial has nothing to keep when no model answers: the record fails."""
    extra = "      allow_partial: true"
    result = run(
        tmp_path, mock_server, ["hi"], transport="auto", extra=extra, ma_down=True, mb_down=True
    )
    assert result.failed == 1
    reason = str(failures(result)[0]["reason"])
    assert "every model failed" in reason
    assert "'a'" in reason
    assert "'b'" in reason


def test_append_to_messages_appends_only_the_named_label(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """append_to_messages adds the prompt turns and that one model's reply to messages."""
    extra = "      append_to_messages: b"
    result = run(tmp_path, mock_server, ["one two three"], transport="auto", extra=extra)
    assert result.done == 1, failures(result)
    assert outputs(tmp_path)[0]["messages"] == [
        {"role": "user", "content": "one two three"},
        {"role": "assistant", "content": "one two"},
    ]


COMPILE_TASK = """
data_config:
  source: {type: disk, file_path: data.jsonl}
graph_config:
  nodes:
    answers:
      node_type: multi_llm
      models: {a: {name: ma}, b: {name: mb}}
%s
  edges:
    - {from: START, to: answers}
    - {from: answers, to: END}
"""


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ("prompt: [{user: hi}]\nappend_to_messages: c", "'c', which is not a label"),
        ("prompt: [{user: hi}]\noutput_keys: [x, y]", "add multi_llm_post_process"),
        ("prompt: [{tool: hi}]", "unknown prompt role 'tool'"),
        ("prompt: [{user: hi}]\nmodels: {}", "at least one"),
    ],
)
def test_bad_options_fail_at_compile_time(
    tmp_path: Path, mock_url: str, options: str, message: str
) -> None:
    """An unknown append label, several keys without a post-process, a bad role: ConfigError."""
    body = "\n".join("      " + line for line in options.splitlines())
    text = COMPILE_TASK % body
    if "models: {}" in options:
        text = text.replace("      models: {a: {name: ma}, b: {name: mb}}\n", "")
    task = write_task(tmp_path, text, {"data.jsonl": ""})
    with pytest.raises(ConfigError, match=message):
        run_task(task, RunOptions(mock=mock_url, output_dir=tmp_path))


@pytest.mark.anyio
async def test_model_names_lists_every_model(tmp_path: Path) -> None:
    """`model_names` names each distinct model, so the engine sizes its window from all."""
    catalog = ModelCatalog().with_mock("http://127.0.0.1:1")
    env = BuildEnv(tmp_path, catalog, BackendPool(catalog), RunMetrics())
    config = MultiLLMNodeConfig.model_validate(
        {
            "prompt": [{"user": "hi"}],
            "models": {"a": {"name": "ma"}, "b": {"name": "mb"}, "c": {"name": "ma"}},
        }
    )
    node = MultiLLMNode.build("answers", config, env)
    assert node.model_names == ("ma", "mb")
    assert node.output_keys == ("answers",)


def test_dpo_example_runs_with_the_mock(tmp_path: Path, mock_url: str) -> None:
    """examples/dpo_pairs: two answers, a structured judge, a DPO conversation per record;
    the weak model's answers cut off at its max_tokens are kept, and flagged."""
    result = run_task(
        EXAMPLES / "dpo_pairs" / "task.yaml", RunOptions(mock=mock_url, output_dir=tmp_path)
    )
    assert (result.done, result.failed) == (6, 0)
    records = list(result.records())
    for record in records:
        question, pair = record["conversation"]
        cut = len(question["content"].split()) > 10  # the weak label's max_tokens
        flags = [{"node": "answers", "model": "weak", "flag": "truncated"}] if cut else None
        assert record.pop("reply_flags", None) == flags
        assert set(record) == {"id", "conversation", "margin", "judge_reason"}
        assert question["role"] == "user"
        assert pair["role"] == "assistant"
        assert pair["chosen"] != pair["rejected"]
        assert {pair["chosen"], pair["rejected"]} >= {question["content"]}
        assert 0 <= record["margin"] <= 9


def test_dpo_example_writes_trl_rows(tmp_path: Path, mock_url: str) -> None:
    """With format dpo, each record becomes TRL's conversational prompt/chosen/rejected."""
    options = RunOptions(mock=mock_url, output_dir=tmp_path, format="dpo")
    result = run_task(EXAMPLES / "dpo_pairs" / "task.yaml", options)
    rows = list(result.records())
    assert len(rows) == 6
    for row in rows:
        assert set(row) == {"prompt", "chosen", "rejected"}
        assert [m["role"] for m in row["prompt"]] == ["user"]
        assert [m["role"] for m in row["chosen"]] == [m["role"] for m in row["rejected"]]
