"""What a task edited through the Studio may reach when it is tried: files inside the
workspace only, code from the workspace or registered plugins only, and a try that never
ends (or whose client leaves) is stopped, its child process gone. Real HTTP against a real
Studio (see ``conftest.py``)."""

from __future__ import annotations

import os
import socket
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

import grasp_studio.child
from tests.studio.conftest import Studio

TASK = """
data_config:
  source: {{type: disk, file_path: {source}}}
  sink: {{type: jsonl, file_path: {sink}}}
graph_config:
  nodes:
    step:
      node_type: lambda
      lambda: {function}
      output_keys: out
  edges:
    - {{from: START, to: step}}
    - {{from: step, to: END}}
"""

STEPS = '''
import os
import time
from pathlib import Path


def length(state):
    return len(state["text"])


def hang(state):
    """Writes this process's id beside the file, then never returns."""
    Path(__file__).with_name("pid").write_text(str(os.getpid()))
    while True:
        time.sleep(0.05)
'''


def _task(
    studio: Studio,
    name: str,
    *,
    source: str = "data.jsonl",
    sink: str = "output/out.jsonl",
    function: str = "probe_steps.length",
) -> Path:
    """A task folder ``name`` with one record and a lambda step (module ``probe_steps``)."""
    folder = studio.workspace / name
    folder.mkdir()
    (folder / "data.jsonl").write_text('{"id": "1", "text": "hello"}\n', encoding="utf-8")
    (folder / "probe_steps.py").write_text(textwrap.dedent(STEPS).lstrip(), encoding="utf-8")
    task = TASK.format(source=source, sink=sink, function=function)
    (folder / "task.yaml").write_text(textwrap.dedent(task).lstrip(), encoding="utf-8")
    return folder


def test_files_named_by_a_task_must_be_inside_the_workspace(studio_server: Studio) -> None:
    """A source outside (absolute), a sink outside (``..``) or a ``models.yaml`` linked
    out: listing records and trying are a 400 naming the YAML path; nothing outside is read
    or written."""
    outside = studio_server.workspace.parent / "outside"
    outside.mkdir()
    secret = outside / "secret.jsonl"
    secret.write_text('{"id": "s", "text": "OUTSIDE-ROW"}\n', encoding="utf-8")
    victim = outside / "victim.jsonl"
    victim.write_text("keep me\n", encoding="utf-8")
    _task(studio_server, "src", source=str(secret))
    _task(studio_server, "sink", sink="../../outside/victim.jsonl")
    linked = _task(studio_server, "models")
    (outside / "models.yaml").write_text("writer:\n  model: openai/x\n", encoding="utf-8")
    (linked / "models.yaml").symlink_to(outside / "models.yaml")
    expected = {
        "src": "data_config.source.file_path",
        "sink": "data_config.sink.file_path",
        "models": "models.yaml beside it",
    }
    with studio_server.client(timeout=120) as client:
        for name, where in expected.items():
            path = f"{name}/task.yaml"
            answers = [
                client.get("/api/try/records", params={"path": path}),
                client.post("/api/try", json={"path": path, "sample": 1}),
            ]
            for answer in answers:
                assert answer.status_code == 400, (name, answer.text)
                error = answer.json()["error"]
                assert where in error
                assert "outside the workspace" in error
                assert "OUTSIDE-ROW" not in answer.text
    assert victim.read_text(encoding="utf-8") == "keep me\n"


@pytest.mark.parametrize(
    "function", ["subprocess.run", "os.system", "grasp_core.config.dotted.os.system"]
)
def test_a_tried_task_calls_no_code_outside_the_workspace(
    studio_server: Studio, function: str
) -> None:
    """``lambda: subprocess.run`` (or any module that is neither the workspace's nor a
    registered plugin's): the try is a 400 saying so, and nothing ran; the workspace's own
    module still runs."""
    _task(studio_server, "rce", function=function)
    _task(studio_server, "own")
    with studio_server.client(timeout=120) as client:
        refused = client.post("/api/try", json={"path": "rce/task.yaml", "sample": 1})
        allowed = client.post("/api/try", json={"path": "own/task.yaml", "sample": 1})
    assert refused.status_code == 400, refused.text
    assert "is not allowed here" in refused.json()["error"]
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["records"][0]["nodes"][0]["update"] == {"out": 5}


def test_a_try_imports_nothing_into_the_studio(studio_server: Studio) -> None:
    """The task's modules are imported by the try's child process, never by the Studio:
    its ``sys.path`` and ``sys.modules`` are as before the try."""
    folder = _task(studio_server, "shadow")
    path_before = list(sys.path)
    with studio_server.client(timeout=120) as client:
        listed = client.get("/api/try/records", params={"path": "shadow/task.yaml"})
        tried = client.post("/api/try", json={"path": "shadow/task.yaml", "sample": 1})
    assert listed.status_code == 200, listed.text
    assert listed.json()["records"] == [{"id": "1", "data": {"id": "1", "text": "hello"}}]
    assert tried.status_code == 200, tried.text
    assert "probe_steps" not in sys.modules
    assert str(folder) not in sys.path
    assert sys.path == path_before


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_a_try_that_never_ends_is_stopped_at_the_timeout(
    studio_server: Studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A step that never returns: the try answers 504 once its time is up, and its child
    process is gone (killed and reaped), so nothing piles up."""
    monkeypatch.setattr(grasp_studio.child, "TIMEOUT", 5.0)
    folder = _task(studio_server, "stuck", function="probe_steps.hang")
    with studio_server.client(timeout=120) as client:
        answer = client.post("/api/try", json={"path": "stuck/task.yaml", "sample": 1})
        assert client.get("/api/tasks").status_code == 200
    assert answer.status_code == 504, answer.text
    assert "did not finish within 5 s" in answer.json()["error"]
    assert _gone(int((folder / "pid").read_text()))


def test_a_try_whose_client_goes_away_is_stopped(studio_server: Studio) -> None:
    """The client closes the connection while its try runs: the child process is killed
    (long before the try's timeout)."""
    folder = _task(studio_server, "left", function="probe_steps.hang")
    body = b'{"path": "left/task.yaml", "sample": 1}'
    port = studio_server.port
    pid_file = folder / "pid"
    with socket.create_connection(("127.0.0.1", port), timeout=60) as conn:
        conn.sendall(
            f"POST /{studio_server.token}/api/try HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        deadline = time.monotonic() + 120
        while not pid_file.exists() or not pid_file.read_text():
            assert time.monotonic() < deadline, "the try's step never started"
            time.sleep(0.05)
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 120
    while not _gone(pid):
        assert time.monotonic() < deadline, "the try's child outlived its client"
        time.sleep(0.05)


def test_a_run_started_from_the_studio_is_confined_like_a_try(studio_server: Studio) -> None:
    """``/api/runs/start`` checks the files the task names (a sink outside is a 400 and the
    file outside is untouched) and confines the run's code (``lambda: os.system`` fails its
    record with the refusal; the workspace's own module still runs)."""
    outside = studio_server.workspace.parent / "outside"
    outside.mkdir()
    victim = outside / "victim.jsonl"
    victim.write_text("keep me\n", encoding="utf-8")
    _task(studio_server, "sink", sink="../../outside/victim.jsonl")
    _task(studio_server, "rce", function="os.system")
    own = _task(studio_server, "own")
    with studio_server.client(timeout=120) as client:
        refused = client.post("/api/runs/start", json={"path": "sink/task.yaml"})
        assert refused.status_code == 400, refused.text
        assert "outside the workspace" in refused.json()["error"]
        for name in ("rce", "own"):
            started = client.post("/api/runs/start", json={"path": f"{name}/task.yaml"})
            assert started.status_code == 202, started.text
        deadline = time.monotonic() + 120
        ended: dict[str, Any] = {}
        for name in ("rce", "own"):
            while True:
                status = client.get("/api/runs/status", params={"path": f"{name}/task.yaml"})
                process = status.json()["process"]
                if process is not None and process["exit_code"] is not None:
                    ended[name] = process
                    break
                assert time.monotonic() < deadline, status.text
                time.sleep(0.2)
    assert victim.read_text(encoding="utf-8") == "keep me\n"
    assert ended["own"]["exit_code"] == 0, ended["own"]["log"]
    assert (own / "output" / "out.jsonl").read_text(encoding="utf-8").count("\n") == 1
    assert ended["rce"]["exit_code"] == 2, ended["rce"]["log"]
    assert "is not allowed here" in "\n".join(ended["rce"]["log"])
    assert not (studio_server.workspace / "rce" / "output" / "out.jsonl").is_file()
