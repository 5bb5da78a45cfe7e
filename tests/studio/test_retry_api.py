"""Re-running the failed records from the Studio: ``grasp run --retry-failures`` in a child
process, started, watched (status and event stream, ``retry``) and stopped like any run,
writing under ``NAME.retry/``; the run's own files are never touched."""

from __future__ import annotations

import json
import textwrap
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

import grasp_core
from tests.studio.conftest import Studio

pytestmark = pytest.mark.timeout(300)

TASK = "flaky/task.yaml"
RETRY_OUTPUT = "flaky/output/flaky.retry/output/flaky.jsonl"

STEPS = '''
from pathlib import Path

import anyio

HERE = Path(__file__).parent


async def double(state):
    """Multiples of three fail while `broken` exists, else wait for the file `gate`."""
    n = state["n"]
    if n % 3 == 0:
        if (HERE / "broken").exists():
            raise ValueError(f"no multiples of three: {n}")
        while not (HERE / "gate").exists():
            await anyio.sleep(0.02)
    return n * 2
'''

FLAKY_TASK = """
data_config:
  source: {type: disk, file_path: numbers.jsonl}
  sink: {type: jsonl, file_path: output/flaky.jsonl}
graph_config:
  nodes:
    double: {node_type: lambda, lambda: steps.double, output_keys: twice}
  edges:
    - {from: START, to: double}
    - {from: double, to: END}
"""


def failed_run(workspace: Path) -> Path:
    """``flaky/``: a finished run of 7 records whose r0, r3 and r6 failed; the cause is
    fixed afterwards (``broken`` removed), and retried records wait for ``gate``."""
    folder = workspace / "flaky"
    folder.mkdir()
    (folder / "task.yaml").write_text(textwrap.dedent(FLAKY_TASK).lstrip(), encoding="utf-8")
    (folder / "steps.py").write_text(textwrap.dedent(STEPS).lstrip(), encoding="utf-8")
    rows = "".join(json.dumps({"id": f"r{n}", "n": n}) + "\n" for n in range(7))
    (folder / "numbers.jsonl").write_text(rows, encoding="utf-8")
    (folder / "broken").touch()
    result = grasp_core.run(folder / "task.yaml", overwrite=True, allowed_failures=10)
    assert (result.done, result.failed) == (4, 3)
    (folder / "broken").unlink()
    return folder


def _wait(client: httpx.Client, retry: bool, done: Any) -> dict[str, Any]:
    """Poll the status (of the retry, or of the run) until ``done(status)`` holds (bounded:
    a hang fails the test)."""
    params = {"path": TASK, "retry": "true" if retry else "false"}
    deadline = time.monotonic() + 120
    while True:
        status: dict[str, Any] = client.get("/api/runs/status", params=params).json()
        if done(status):
            return status
        assert time.monotonic() < deadline, f"the retry never got there: {status}"
        time.sleep(0.1)


def _files(folder: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in (folder / "output").iterdir() if p.is_file()}


def test_a_retry_is_a_watched_run_of_only_the_failed_records(studio_server: Studio) -> None:
    """Started from the API, the retry is ``grasp run --retry-failures`` in a child; its
    status and its event stream follow it to the end: r0, r3, r6 written under
    NAME.retry/, the run's files byte for byte as they were."""
    folder = failed_run(studio_server.workspace)
    (folder / "gate").touch()
    before = _files(folder)
    with studio_server.client(timeout=60) as client:
        started = client.post("/api/runs/start", json={"path": TASK, "retry_failures": True})
        assert started.status_code == 202, started.text
        assert started.json()["retry"] is True
        final = _wait(client, True, lambda s: s["state"] == "finished")
        with client.stream(
            "GET", "/api/runs/events", params={"path": TASK, "retry": "true"}
        ) as stream:
            lines = stream.iter_lines()
            assert next(lines) == "event: progress"
            event = json.loads(next(lines).removeprefix("data: "))
        run = client.get("/api/runs/status", params={"path": TASK}).json()
    assert final["process"]["command"] == ["grasp", "run", TASK, "--retry-failures", "--mock"]
    assert final["process"]["exit_code"] == 0
    assert (final["summary"]["done"], final["summary"]["failed"]) == (3, 0)
    assert final["output"] == RETRY_OUTPUT
    assert (event["state"], event["retry"], event["output"]) == ("finished", True, RETRY_OUTPUT)
    retried = (studio_server.workspace / RETRY_OUTPUT).read_text().splitlines()
    assert [json.loads(line)["twice"] for line in retried] == [0, 6, 12]
    assert (run["state"], run["process"], run["journal"]) == (
        "finished",
        None,
        {"done": 4, "failed": 3},
    )
    assert _files(folder) == before


def test_a_retry_is_stopped_as_ctrl_c_stops_a_run(studio_server: Studio) -> None:
    """While its records wait on the gate, the retry is running; a stop aimed at the run is
    refused, one aimed at the retry ends it interrupted (exit 130); started again with the
    gate open, it runs the three records from the start."""
    folder = failed_run(studio_server.workspace)
    before = _files(folder)
    with studio_server.client(timeout=60) as client:
        assert client.post(
            "/api/runs/start", json={"path": TASK, "retry_failures": True}
        ).is_success
        busy = client.post("/api/runs/start", json={"path": TASK})
        assert busy.status_code == 409
        assert "a retry of the failed records of task.yaml" in busy.json()["error"]
        running = _wait(client, True, lambda s: (s["progress"] or {}).get("in_flight") == 3)
        assert running["state"] == "running"
        wrong = client.post("/api/runs/stop", json={"path": TASK})
        assert wrong.status_code == 409
        stopped = client.post("/api/runs/stop", json={"path": TASK, "retry_failures": True})
        assert stopped.status_code == 200, stopped.text
        status = _wait(client, True, lambda s: s["state"] == "stopped")
        assert status["process"]["exit_code"] == 130
        assert status["journal"] == {"done": 0, "failed": 0}

        (folder / "gate").touch()
        again = client.post("/api/runs/start", json={"path": TASK, "retry_failures": True})
        assert again.status_code == 202, again.text
        final = _wait(client, True, lambda s: s["state"] == "finished")
    assert final["journal"] == {"done": 3, "failed": 0}
    assert _files(folder) == before


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"retry_failures": "yes"}, "`retry_failures` must be true or false"),
        ({"retry_failures": True, "resume": True}, "drop `resume`"),
        ({"retry_failures": True, "num_records": 2}, "drop `num_records`"),
        ({"retry_failures": True, "executor": "ray"}, "drop `executor`"),
    ],
)
def test_bad_retry_options_are_one_line(
    studio_server: Studio, body: dict[str, Any], message: str
) -> None:
    """A retry runs every failed record, here, from the start: options that narrow or
    continue it are a 400 with one line, and nothing starts."""
    with studio_server.client() as client:
        answer = client.post("/api/runs/start", json={"path": "gated/task.yaml", **body})
        assert answer.status_code == 400
        assert message in answer.json()["error"]
        bad = client.get("/api/runs/status", params={"path": "gated/task.yaml", "retry": "x"})
        assert bad.status_code == 400
        idle = client.get("/api/runs/status", params={"path": "gated/task.yaml"}).json()
    assert idle["process"] is None
