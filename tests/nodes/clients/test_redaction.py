"""A server that echoes the request's key in its error body: the key reaches no file the run
writes (output, failures, journal, summary, metrics) and no log line, on either transport."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from grasp_core import RunOptions, run_task
from grasp_core.models.catalog import ModelCatalog
from tests.conftest import write_task

TASK = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out/out.jsonl}
graph_config:
  nodes:
    ask: {node_type: llm, prompt: [{user: "{p}"}], model: {name: m}}
  edges: [{from: START, to: ask}, {from: ask, to: END}]
"""


class _EchoKey(BaseHTTPRequestHandler):
    """Answers every request 401, quoting its Authorization header and the bare key."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        auth = self.headers.get("authorization", "")
        bare = auth.removeprefix("Bearer ")
        message = f"Incorrect API key provided: {auth}. The key {bare} is not valid here."
        body = json.dumps({"error": {"message": message, "type": "invalid_request_error"}})
        self.send_response(401)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *_args: object) -> None:
        """Quiet: the test reads the run's own output."""


@pytest.fixture
def echoing_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoKey)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/v1"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.parametrize("transport", ["auto", "litellm"])
def test_a_key_echoed_by_the_server_is_redacted_everywhere(
    tmp_path: Path,
    echoing_server: str,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    transport: str,
) -> None:
    """The 401's reason is kept (status, the server's words) with the key masked: the
    bare key (masked because the catalog registered it) and the bearer form alike."""
    secret = (
        f"local-token-{transport}-7f3a9c2e1b5d"  # no `sk-` shape: only its registration hides it
    )
    monkeypatch.setenv("GRASP_ECHO_TEST_KEY", secret)
    rows = "".join(json.dumps({"id": i, "p": f"hello {i}"}) + "\n" for i in range(2))
    task = write_task(tmp_path, TASK, {"data.jsonl": rows})
    entry = {
        "model": "openai/m",
        "api_base": echoing_server,
        "api_key_env": "GRASP_ECHO_TEST_KEY",
        "transport": transport,
        "max_retries": 0,
    }
    catalog = ModelCatalog.from_mapping({"m": entry}, source="test")
    result = run_task(task, RunOptions(models=catalog))
    assert (result.done, result.failed) == (0, 2)
    failures = [json.loads(line) for line in (tmp_path / "out/out.failures.jsonl").open()]
    assert all("401" in f["reason"] and "<redacted>" in f["reason"] for f in failures)
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    names = {p.name for p in written}
    assert {"out.jsonl", "out.failures.jsonl", "out.journal.jsonl"} <= names
    assert any(name.endswith("summary.json") for name in names)
    for path in written:
        assert secret not in path.read_text(errors="replace"), path
    out, err = capfd.readouterr()
    assert "record failed" in err
    assert secret not in out + err
