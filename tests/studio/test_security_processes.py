"""The second security review of the Studio: nothing a task names is imported into the
Studio's own process; built-in methods are refused like any code outside the workspace;
subgraph files nested in subgraph files, media paths in records and the files a child opens
stay inside the workspace; what a task's code starts is stopped with its try or run, and a
finished run is reaped. Real HTTP against a real Studio (see ``conftest.py``)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

import grasp_studio.child
from grasp_studio.task_guard import child_env
from grasp_studio.workspace import Workspace
from tests.conftest import REPO_ROOT
from tests.studio.conftest import Studio
from tests.studio.test_security_tasks import TASK, _gone, _task

SHADOW = """
import os
from pathlib import Path

with Path(__file__).with_name("imported_in").open("a") as seen:
    seen.write(f"{os.getpid()}\\n")


class Step:
    def __init__(self, **params):
        pass

    def process(self, data, metadata):
        return data
"""

SPAWN = '''
import subprocess
import time
from pathlib import Path


def spawn(state):
    """Starts a process that would outlive the step, writes its id, never returns."""
    child = subprocess.Popen(["sleep", "600"])
    Path(__file__).with_name("spawned").write_text(str(child.pid))
    while True:
        time.sleep(0.05)
'''


def _wait(until: Any, what: str, seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while not until():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_nothing_a_task_names_is_imported_into_the_studio(studio_server: Studio) -> None:
    """``post_process: [shadowmod.Step]``: listing records, validating, trying, starting
    and watching a run import ``shadowmod`` only in child processes, never in the Studio's
    (its ``sys.modules`` and ``sys.path`` are as before)."""
    folder = _task(studio_server, "shadow")
    (folder / "shadowmod.py").write_text(textwrap.dedent(SHADOW).lstrip(), encoding="utf-8")
    task = folder / "task.yaml"
    task.write_text(task.read_text() + "post_process:\n  - shadowmod.Step\n")
    path_before = list(sys.path)
    path = "shadow/task.yaml"
    with studio_server.client(timeout=120) as client:
        assert client.get("/api/try/records", params={"path": path}).status_code == 200
        assert client.get("/api/validate", params={"path": path}).json()["ok"] is True
        assert client.post("/api/try", json={"path": path, "sample": 1}).status_code == 200
        assert client.post("/api/runs/start", json={"path": path}).status_code == 202

        def ended() -> bool:
            status = client.get("/api/runs/status", params={"path": path}).json()
            return status["process"]["exit_code"] is not None

        _wait(ended, "the run never ended")
        assert client.get("/api/tasks").status_code == 200
    assert "shadowmod" not in sys.modules
    assert sys.path == path_before
    pids = (folder / "imported_in").read_text().split()
    assert pids  # imported, by the children only
    assert str(os.getpid()) not in pids


@pytest.mark.parametrize(
    "function", ["sys.stdout.write", "os.__all__.remove", "builtins.__dict__.update"]
)
def test_built_in_methods_are_refused_like_code_outside(
    studio_server: Studio, function: str
) -> None:
    """Bound C methods of modules nobody allowed: the try is a 400 saying so, validate
    lists the refusal."""
    _task(studio_server, "builtin", function=function)
    with studio_server.client(timeout=120) as client:
        tried = client.post("/api/try", json={"path": "builtin/task.yaml", "sample": 1})
        checked = client.get("/api/validate", params={"path": "builtin/task.yaml"})
    assert tried.status_code == 400, tried.text
    assert "is not allowed here" in tried.json()["error"]
    assert "is not allowed here" in checked.json()["problems"][0]["message"]


NESTED = """
graph_config:
  nodes:
    inner: {{node_type: subgraph, graph: {graph}}}
  edges:
    - {{from: START, to: inner}}
    - {{from: inner, to: END}}
"""


def test_subgraph_files_nested_in_subgraph_files_stay_inside(studio_server: Studio) -> None:
    """task.yaml → sub.yaml (inside) → a file outside: a 400 naming sub.yaml and the YAML
    path there, and the outside file is never run; a cycle of subgraph files ends."""
    outside = studio_server.workspace.parent / "outside"
    outside.mkdir()
    (outside / "evil.yaml").write_text(NESTED.format(graph="evil.yaml"), encoding="utf-8")
    nest = studio_server.workspace / "nest"
    nest.mkdir()
    (nest / "task.yaml").write_text(NESTED.format(graph="sub.yaml"), encoding="utf-8")
    (nest / "sub.yaml").write_text(NESTED.format(graph="../../outside/evil.yaml"))
    loop = studio_server.workspace / "loop"
    loop.mkdir()
    (loop / "task.yaml").write_text(NESTED.format(graph="a.yaml"), encoding="utf-8")
    (loop / "a.yaml").write_text(NESTED.format(graph="task.yaml"), encoding="utf-8")
    with studio_server.client(timeout=120) as client:
        refused = client.post("/api/try", json={"path": "nest/task.yaml", "sample": 1})
        looped = client.post("/api/try", json={"path": "loop/task.yaml", "sample": 1})
    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    assert error.startswith("nest/sub.yaml: graph_config.nodes.inner.graph = ")
    assert "is outside the workspace" in error
    assert "outside the workspace" not in looped.text, looped.text


MEDIA_TASK = """
data_config:
  source: {type: disk, file_path: data.jsonl}
graph_config:
  nodes:
    look:
      node_type: llm
      output_keys: desc
      prompt:
        - user:
            - {type: text, text: describe}
            - {type: image_url, image_url: "{pic}"}
      model: {name: writer}
  edges:
    - {from: START, to: look}
    - {from: look, to: END}
"""


def test_a_media_path_outside_the_workspace_fails_its_record(studio_server: Studio) -> None:
    """A record naming an image outside the workspace: the try's record fails with one line
    saying so; nothing of the file is sent."""
    outside = studio_server.workspace.parent / "secret.png"
    shutil.copy(REPO_ROOT / "docs" / "assets" / "studio" / "flow.png", outside)
    folder = studio_server.workspace / "media"
    folder.mkdir()
    shutil.copy(studio_server.workspace / "quickstart" / "models.yaml", folder)
    (folder / "data.jsonl").write_text(f'{{"id": "1", "pic": "{outside}"}}\n')
    (folder / "task.yaml").write_text(textwrap.dedent(MEDIA_TASK).lstrip(), encoding="utf-8")
    with studio_server.client(timeout=120) as client:
        tried = client.post("/api/try", json={"path": "media/task.yaml", "sample": 1})
    assert tried.status_code == 200, tried.text
    failure = tried.json()["records"][0]["failure"]
    assert "is outside the folder GRASP_DATA_ROOT names" in failure["reason"]
    assert "\n" not in failure["reason"]


def test_the_child_checks_the_data_file_when_it_opens_it(tmp_path: Path) -> None:
    """The source swapped for a symlink out after the Studio's check (a race): the child
    that lists the records refuses it when it opens it, and prints none of its rows."""
    ws = Workspace(tmp_path / "ws")
    folder = ws.root / "swap"
    folder.mkdir(parents=True)
    secret = tmp_path / "secret.jsonl"
    secret.write_text('{"id": "s", "text": "OUTSIDE-ROW"}\n', encoding="utf-8")
    (folder / "data.jsonl").symlink_to(secret)
    task = TASK.format(source="data.jsonl", sink="out.jsonl", function="steps.f")
    (folder / "task.yaml").write_text(task, encoding="utf-8")
    command = [sys.executable, "-m", "grasp_studio.child_tasks", "records", "task.yaml", "5"]
    env = child_env(ws, os.environ)
    done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)
    assert done.returncode == 1, done.stdout
    assert "OUTSIDE-ROW" not in done.stdout + done.stderr
    assert "is outside the folder GRASP_DATA_ROOT names" in done.stderr


def test_what_a_tried_task_started_is_stopped_with_it(
    studio_server: Studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A step starts a process and never returns: when the try is stopped (its time is up),
    the process the step started is gone too (the child's whole process group)."""
    monkeypatch.setattr(grasp_studio.child, "TIMEOUT", 5.0)
    folder = _task(studio_server, "spawn", function="spawn_steps.spawn")
    (folder / "spawn_steps.py").write_text(textwrap.dedent(SPAWN).lstrip(), encoding="utf-8")
    with studio_server.client(timeout=120) as client:
        answer = client.post("/api/try", json={"path": "spawn/task.yaml", "sample": 1})
    assert answer.status_code == 504, answer.text
    spawned = int((folder / "spawned").read_text())
    _wait(lambda: _gone(spawned), "the process the try's step started outlived the try")


def test_a_stopped_run_stops_what_its_code_started(studio_server: Studio) -> None:
    """``/api/runs/stop`` signals the run's whole process group: the process a step started
    is gone once the run has stopped."""
    folder = _task(studio_server, "spawnrun", function="spawn_steps.spawn")
    (folder / "spawn_steps.py").write_text(textwrap.dedent(SPAWN).lstrip(), encoding="utf-8")
    path = "spawnrun/task.yaml"
    with studio_server.client(timeout=120) as client:
        assert client.post("/api/runs/start", json={"path": path}).status_code == 202
        _wait((folder / "spawned").is_file, "the run's step never started")
        _wait(lambda: bool((folder / "spawned").read_text()), "no pid written")
        assert client.post("/api/runs/stop", json={"path": path}).status_code == 200

        def ended() -> bool:
            status = client.get("/api/runs/status", params={"path": path}).json()
            return status["process"]["exit_code"] is not None

        _wait(ended, "the stopped run never ended")
    spawned = int((folder / "spawned").read_text())
    _wait(lambda: _gone(spawned), "the process the run's step started outlived the run")


def _zombie_or_alive(pid: int) -> bool:
    """Whether ``pid`` is still in the process table (running, or a zombie not reaped)."""
    return Path(f"/proc/{pid}").exists()


def test_a_finished_run_is_reaped_unwatched(studio_server: Studio) -> None:
    """A run that ends while nobody asks for its status leaves no zombie behind."""
    with studio_server.client(timeout=120) as client:
        started = client.post(
            "/api/runs/start", json={"path": "quickstart/task.yaml", "num_records": 1}
        )
    assert started.status_code == 202, started.text
    pid = started.json()["process"]["pid"]
    _wait(lambda: not _zombie_or_alive(pid), "the finished run was left a zombie")


def test_a_trailing_slash_is_not_redirected_out_of_the_prefix(studio_server: Studio) -> None:
    """``/<token>/api/tasks/`` is a 404 under the prefix, never a redirect to ``/api/tasks``
    (outside it, where every answer is a 401)."""
    answer = httpx.get(f"{studio_server.app}/api/tasks/", follow_redirects=False, timeout=60)
    assert answer.status_code == 404
    assert "location" not in answer.headers


def test_a_run_refused_at_start_says_the_whole_error_without_the_workspace(
    studio_server: Studio,
) -> None:
    """A task with two problems: ``/api/runs/start`` answers one line naming both (not just
    ``invalid task configuration:``), with paths relative to the workspace."""
    folder = _task(studio_server, "twice")
    task = folder / "task.yaml"
    task.write_text(task.read_text() + "num_workers: 2\nbogus: 1\n", encoding="utf-8")
    with studio_server.client(timeout=120) as client:
        answer = client.post("/api/runs/start", json={"path": "twice/task.yaml"})
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert "unknown key 'num_workers'" in error
    assert "unknown key 'bogus'" in error
    assert "\n" not in error
    assert str(studio_server.workspace.resolve()) not in error
