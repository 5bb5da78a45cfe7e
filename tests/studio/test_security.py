"""The Studio's door: the token on every request, no cross-site request, nothing outside the
workspace, no API key ever sent to the browser."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from grasp_studio.workspace import Workspace
from tests.studio.conftest import Studio

PROTECTED = [
    "/",
    "/static/app.js",
    "/static/views/home.js",
    "/api/tasks",
    "/api/task?path=quickstart/task.yaml",
    "/api/runs/events?path=quickstart/task.yaml",
]
"""The page, assets, the API and an event stream."""


@pytest.mark.parametrize("path", PROTECTED)
def test_every_request_without_the_token_is_refused(studio_server: Studio, path: str) -> None:
    """Outside the tokened prefix (no token, a wrong one, the token as a parameter or a
    cookie, a prefix of it): 401, and nothing of the Studio."""
    token = studio_server.token
    attempts = [
        httpx.get(studio_server.base + path),
        httpx.get(studio_server.base + "/wrong" + path),
        httpx.get(studio_server.base + f"/{token[:-1]}" + path),
        httpx.get(studio_server.base + path, params={"token": token}),
        httpx.get(studio_server.base + path, cookies={f"grasp_studio_{studio_server.port}": token}),
    ]
    for response in attempts:
        assert response.status_code == 401
        assert "needs its token" in response.text
        assert "GraSP Studio</title>" not in response.text


def test_the_studio_lives_under_its_tokened_prefix_and_sets_no_cookie(
    studio_server: Studio,
) -> None:
    """The printed URL is ``/<token>/``; the page, its assets and the API answer under it
    (``/<token>`` redirects there); no answer sets a cookie, and none leaves the prefix
    through a redirect (``//evil.example/`` is a 401, not a way out)."""
    assert studio_server.url == f"{studio_server.app}/"
    page = httpx.get(studio_server.url)
    assert page.status_code == 200
    assert 'src="static/app.js"' in page.text  # relative: resolved under the prefix
    bare = httpx.get(studio_server.app, follow_redirects=False)
    assert bare.status_code == 308
    assert bare.headers["location"] == f"/{studio_server.token}/"
    with studio_server.client() as client:
        for path in [*PROTECTED[:-1], "/static/api.js"]:
            answer = client.get(path)
            assert answer.status_code == 200, path
            assert "set-cookie" not in answer.headers
            assert answer.headers["referrer-policy"] == "no-referrer"
    escape = httpx.get(studio_server.base + "//evil.example/", follow_redirects=False)
    assert escape.status_code == 401
    assert "location" not in escape.headers


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "https://evil.example"},
        {"origin": "null"},
        {"origin": "http://127.0.0.1:1"},  # another port: another origin
        {"sec-fetch-site": "cross-site"},
        {"host": "evil.example"},  # DNS rebinding: a name that resolves to 127.0.0.1
    ],
)
def test_cross_site_requests_are_refused_even_with_the_token(
    studio_server: Studio, headers: dict[str, str]
) -> None:
    """A foreign Origin, a cross-site fetch or a foreign Host: 403, token or not."""
    with studio_server.client() as client:
        for method, path in [("GET", "/api/tasks"), ("POST", "/api/runs/start"), ("GET", "/")]:
            response = client.request(method, path, headers=headers, json={})
            assert response.status_code == 403, (method, path, headers)
        started = client.get("/api/runs/status?path=gated/task.yaml").json()
        assert started["process"] is None  # nothing was started


def test_the_studios_own_origin_is_accepted(studio_server: Studio) -> None:
    """The page's own requests carry its Origin (POST, fetch): they pass."""
    with studio_server.client() as client:
        own = {"origin": studio_server.base, "sec-fetch-site": "same-origin"}
        assert client.get("/api/tasks", headers=own).status_code == 200
        local = {"origin": studio_server.base.replace("127.0.0.1", "localhost")}
        assert client.get("/api/tasks", headers=local).status_code == 200
        tunnel = {"host": "localhost:9000", "origin": "http://localhost:9000"}  # ssh -L 9000:...
        assert client.get("/api/tasks", headers=tunnel).status_code == 200


def test_a_studio_bound_to_every_interface_takes_any_host_but_still_its_token() -> None:
    """``--host 0.0.0.0``: reached by the machine's name, so any Host passes; the token and
    the same-origin rule still hold (the middleware called as ASGI, nothing served)."""
    import anyio

    from grasp_studio.security import ANY_HOST, SecurityMiddleware

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    door = SecurityMiddleware(inner, token="t0ken", hosts=[ANY_HOST])

    def status(path: str, **headers: str) -> int:
        scope = {
            "type": "http",
            "method": "GET",
            "path": path,
            "query_string": b"",
            "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
            "server": ("0.0.0.0", 8765),
        }
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b""}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        anyio.run(door, scope, receive, send)
        return int(sent[0]["status"])

    host = "studio.lan:8765"
    assert status("/api/tasks", host=host) == 401
    assert status("/t0ken/api/tasks", host=host) == 200
    assert status("/t0ken/api/tasks", host=host, origin="http://studio.lan:8765") == 200
    assert status("/t0ken/api/tasks", host=host, origin="http://evil.example:8765") == 403
    assert status("/t0ken/api/tasks", host=host, origin="http://studio.lan:9999") == 403


@pytest.mark.parametrize(
    "path",
    [
        "../outside/task.yaml",
        "quickstart/../../outside/task.yaml",
        "/etc/passwd",
        "escape/task.yaml",  # a symlink to a folder outside the workspace
        "link.yaml",  # a symlink to a file outside
    ],
)
def test_no_path_escapes_the_workspace(studio_server: Studio, path: str) -> None:
    """``..``, an absolute path and symlinks leading out: 404 with one JSON line, for
    reading and for writing, and the outside file is untouched."""
    outside = studio_server.workspace.parent / "outside"
    outside.mkdir()
    secret = "graph_config: {nodes: {}, edges: []}  # outside\n"
    (outside / "task.yaml").write_text(secret, encoding="utf-8")
    (studio_server.workspace / "escape").symlink_to(outside, target_is_directory=True)
    (studio_server.workspace / "link.yaml").symlink_to(outside / "task.yaml")
    with studio_server.client() as client:
        responses = [
            client.get("/api/task", params={"path": path}),
            client.get("/api/validate", params={"path": path}),
            client.get("/api/runs/status", params={"path": path}),
            client.post("/api/task/yaml", json={"path": path, "yaml": "graph_config: {}\n"}),
            client.post("/api/runs/start", json={"path": path}),
        ]
    for response in responses:
        assert response.status_code == 404, response.text
        assert set(response.json()) == {"error"}
        assert "outside the workspace" in response.json()["error"]
    assert (outside / "task.yaml").read_text(encoding="utf-8") == secret
    assert not (outside / "output").exists()


def test_a_path_with_a_nul_byte_is_a_bad_request(tmp_path: Path) -> None:
    """Text no file system takes is refused before any file is looked at."""
    from starlette.exceptions import HTTPException

    workspace = Workspace(tmp_path)
    with pytest.raises(HTTPException) as refused:
        workspace.resolve("task\x00.yaml")
    assert refused.value.status_code == 400
    assert workspace.resolve("a/b.yaml") == tmp_path.resolve() / "a" / "b.yaml"


def test_api_keys_never_reach_the_browser(
    studio_server: Studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The models-file view says where a key comes from and whether it is set, never the
    key; no answer of the API (models, tasks, validate, try, run status) holds it."""
    key = "sk-studio-test-DO-NOT-SHOW-4242"
    monkeypatch.setenv("OPENAI_API_KEY", key)
    monkeypatch.setenv("GRASP_STUDIO_TEST_KEY", key)
    models = studio_server.workspace / "quickstart" / "models.yaml"
    models.write_text(
        models.read_text(encoding="utf-8")
        + "keyed:\n  model: openai/x\n  api_key_env: GRASP_STUDIO_TEST_KEY\n",
        encoding="utf-8",
    )
    bodies: list[str] = []
    with studio_server.client(timeout=120) as client:
        shown = client.get("/api/models", params={"path": "quickstart/task.yaml"})
        assert shown.status_code == 200
        entries = {m["name"]: m for m in shown.json()["models"]}
        assert entries["keyed"]["key"] == {
            "from": "environment",
            "variable": "GRASP_STUDIO_TEST_KEY",
            "set": True,
        }
        bodies.append(shown.text)
        for path in [
            "/api/tasks",
            "/api/task?path=quickstart/task.yaml",
            "/api/validate?path=quickstart/task.yaml",
            "/api/runs/status?path=quickstart/task.yaml",
            "/api/task?path=quickstart/models.yaml",  # not a task: not served at all
        ]:
            bodies.append(client.get(path).text)
        tried = client.post("/api/try", json={"path": "quickstart/task.yaml", "sample": 1})
        assert tried.status_code == 200, tried.text
        bodies.append(tried.text)
    assert os.environ["OPENAI_API_KEY"] == key
    for body in bodies:
        assert key not in body
    assert "is not a task file" in bodies[-2]


def test_grasp_studio_prints_a_tokened_loopback_url_that_answers(tmp_path: Path) -> None:
    """``grasp studio WORKSPACE --no-browser`` serves on 127.0.0.1, prints the URL with its
    token, answers it, refuses the bare address, and ends cleanly on Ctrl-C."""
    import signal
    import subprocess
    import sys
    import time

    from tests.studio.conftest import make_workspace

    workspace = make_workspace(tmp_path / "ws")
    command = [sys.executable, "-m", "grasp_core", "studio", str(workspace)]
    started = time.perf_counter()
    proc = subprocess.Popen(
        [*command, "--no-browser", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline(), proc.stdout.readline()]
        url = lines[1].strip()
        assert url.startswith("http://127.0.0.1:"), lines
        assert url.endswith("/")
        assert len(url.rstrip("/").rsplit("/", 1)[1]) >= 32
        page = httpx.get(url)
        ready = time.perf_counter() - started
        assert page.status_code == 200
        assert "GraSP Studio" in page.text
        assert httpx.get(url.rstrip("/").rsplit("/", 1)[0] + "/").status_code == 401
        print(f"grasp studio: first answer {ready:.2f} s after the command started")
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=30)
    assert code == 0
    assert proc.stderr is not None
    assert "Traceback" not in proc.stderr.read()


def test_another_host_than_loopback_is_warned_about(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--host`` that is not loopback: a warning that other machines can reach it (the
    token is still required) before anything else; an address that cannot be bound is one
    line and exit code 2."""
    from grasp_core.cli import main

    code = main(["studio", str(tmp_path), "--host", "192.0.2.1", "--port", "0", "--no-browser"])
    err = capsys.readouterr().err
    assert code == 2
    assert "warning: listening on 192.0.2.1, not loopback" in err
    assert "the token is still required" in err
    assert "cannot listen on 192.0.2.1" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--port", "99999"], "99999 is not a port: use 0 to 65535"),
        (["--port", "x"], "'x' is not a port number"),
    ],
)
def test_a_bad_port_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    """A port out of range or not a number: argparse's one line, exit code 2."""
    from grasp_core.cli import main

    with pytest.raises(SystemExit) as stopped:
        main(["studio", str(tmp_path), "--no-browser", *argv])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_grasp_studio_opens_the_tokened_url_in_a_browser_tab(tmp_path: Path) -> None:
    """Without ``--no-browser``, the printed URL is opened once the server answers: the
    browser named by $BROWSER (here a script that writes down what it was given) gets it."""
    import os
    import signal
    import subprocess
    import sys
    import time

    opened = tmp_path / "opened.txt"
    fake = tmp_path / "fake-browser"
    fake.write_text(f'#!/bin/sh\necho "$1" > {opened}\n', encoding="utf-8")
    fake.chmod(0o755)
    env = {**os.environ, "BROWSER": f"{fake} %s", "DISPLAY": "", "WAYLAND_DISPLAY": ""}
    proc = subprocess.Popen(
        [sys.executable, "-m", "grasp_core", "studio", str(tmp_path), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        url = [proc.stdout.readline(), proc.stdout.readline()][1].strip()
        deadline = time.monotonic() + 60
        while not opened.exists() or not opened.read_text().strip():
            assert time.monotonic() < deadline, "no browser was opened"
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.05)
        assert opened.read_text().strip() == url
        assert httpx.get(url, follow_redirects=True).status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
