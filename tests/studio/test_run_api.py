"""The run view's API: a run started from the Studio, stopped as Ctrl-C does and resumed;
and a run started with ``grasp run`` in a terminal, watched the same way (progress file,
journal, server-sent events)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest

from tests.studio.conftest import Studio

pytestmark = pytest.mark.timeout(300)

TASK = "gated/task.yaml"


def _wait(client: httpx.Client, done: Any, *, limit: float = 120.0) -> dict[str, Any]:
    """Poll the run's status until ``done(status)`` holds (bounded: a hang fails the test)."""
    deadline = time.monotonic() + limit
    while True:
        status: dict[str, Any] = client.get("/api/runs/status", params={"path": TASK}).json()
        if done(status):
            return status
        assert time.monotonic() < deadline, f"the run never got there: {status}"
        time.sleep(0.1)


def _half_way(status: dict[str, Any]) -> bool:
    progress = status["progress"] or {}
    return status["state"] == "running" and progress.get("done") == 100


def test_start_stop_resume_from_the_studio(studio_server: Studio) -> None:
    """Started, it runs 100 records and waits on the gate; stopped, it ends interrupted
    (exit 130, resumable); resumed with the gate open, it finishes all 200 once each."""
    with studio_server.client(timeout=60) as client:
        started = client.post("/api/runs/start", json={"path": TASK})
        assert started.status_code == 202, started.text
        again = client.post("/api/runs/start", json={"path": TASK})
        assert again.status_code == 409
        half = _wait(client, _half_way)
        assert half["progress"]["total"] == 200
        assert half["metrics"]["models"]["writer"]["calls"] >= 100
        stopped = client.post("/api/runs/stop", json={"path": TASK})
        assert stopped.status_code == 200
        status = _wait(client, lambda s: s["state"] == "stopped")
        assert status["process"]["exit_code"] == 130
        assert status["summary"]["done"] == 100
        assert status["journal"] == {"done": 100, "failed": 0}

        (studio_server.workspace / "gated" / "gate").touch()
        resumed = client.post("/api/runs/start", json={"path": TASK, "resume": True})
        assert resumed.status_code == 202
        final = _wait(client, lambda s: s["state"] == "finished")
        listed = {t["path"]: t["run"] for t in client.get("/api/tasks").json()["tasks"]}
    assert listed[TASK] == {"state": "finished", "done": 200, "failed": 0}
    assert listed["quickstart/task.yaml"]["state"] == "none"
    assert final["process"]["exit_code"] == 0
    assert final["process"]["command"] == ["grasp", "run", TASK, "--resume", "--mock"]
    assert final["progress"]["done"] + final["progress"]["earlier"] == 200
    assert final["summary"]["failed_total"] == 0
    lines = (studio_server.workspace / "gated" / "output" / "facts.jsonl").read_text().splitlines()
    assert sorted(int(json.loads(line)["id"]) for line in lines) == list(range(200))


def test_a_run_started_in_a_terminal_is_watched_the_same_way(studio_server: Studio) -> None:
    """``grasp run`` started outside the Studio: its status and its event stream show it
    running with 100 done; after Ctrl-C in its terminal, stopped."""
    task = studio_server.workspace / TASK
    proc = subprocess.Popen(
        [sys.executable, "-m", "grasp_core", "run", str(task), "--mock", "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with studio_server.client(timeout=60) as client:
            half = _wait(client, _half_way)
            assert half["process"] is None  # not one of the Studio's
            assert half["progress"]["in_flight"] > 0
            with client.stream("GET", "/api/runs/events", params={"path": TASK}) as stream:
                assert stream.headers["content-type"].startswith("text/event-stream")
                lines = stream.iter_lines()
                assert next(lines) == "event: progress"
                event = json.loads(next(lines).removeprefix("data: "))
            assert event["state"] == "running"
            assert event["progress"]["done"] == 100
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=60) == 130
            stopped = _wait(client, lambda s: s["state"] == "stopped")
        assert stopped["summary"]["done"] == 100
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"num_records": 0}, "`num_records` must be a whole number"),
        ({"executor": "moon"}, "`executor` must be 'local' or 'ray'"),
        ({"resume": True, "overwrite": True}, "pick one"),
        ({"mock": "yes"}, "`mock` must be true or false"),
    ],
)
def test_bad_run_options_are_one_line(
    studio_server: Studio, body: dict[str, Any], message: str
) -> None:
    """Each refused option: 400 with one line; no process is started."""
    with studio_server.client() as client:
        answer = client.post("/api/runs/start", json={"path": TASK, **body})
        assert answer.status_code == 400
        assert message in answer.json()["error"]
        assert client.get("/api/runs/status", params={"path": TASK}).json()["process"] is None


def test_stopping_when_nothing_runs_is_a_conflict(studio_server: Studio) -> None:
    """Stop with no run of ours going: 409 and one line."""
    with studio_server.client() as client:
        answer = client.post("/api/runs/stop", json={"path": TASK})
    assert answer.status_code == 409
    assert "no run of this task" in answer.json()["error"]


def test_the_event_stream_reports_a_task_that_does_not_load(studio_server: Studio) -> None:
    """While the task file does not load (mid-edit), the stream sends one ``problem`` event
    with the one-line error, and goes on (it is not cut, and nothing fails)."""
    task = studio_server.workspace / TASK
    task.write_text(task.read_text(encoding="utf-8") + "graph_config: {}\n", encoding="utf-8")
    with studio_server.client(timeout=60) as client:
        with client.stream("GET", "/api/runs/events", params={"path": TASK}) as stream:
            lines = stream.iter_lines()
            assert next(lines) == "event: problem"
            problem = json.loads(next(lines).removeprefix("data: "))
        assert "graph_config" in problem["error"]
        assert str(studio_server.workspace) not in problem["error"]
        status = client.get("/api/runs/status", params={"path": TASK})
    assert status.status_code == 400
    assert status.json()["error"] == problem["error"]
