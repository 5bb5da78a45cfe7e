"""Bad and hostile input to the Studio's API: one clear 4xx, never a 500, a hang or a
secret. Real HTTP against a real Studio (see ``conftest.py``)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import httpx
import pytest

from grasp_studio.server import StudioServer
from tests.studio.conftest import Studio, make_workspace

SECRETS = ("sk-PARAMSECRET-777", "sk-HEADERSECRET-555", "BASEAUTHSECRET", "sk-XAPIKEY-31337")


def test_the_models_view_masks_keys_headers_and_url_credentials(studio_server: Studio) -> None:
    """A models file holding a key in ``parameters``, an ``Authorization`` header and a
    password in ``api_base``: /api/models shows the entries with those values masked."""
    models = studio_server.workspace / "quickstart" / "models.yaml"
    models.write_text(
        models.read_text(encoding="utf-8") + "paramkey:\n  model: openai/gpt-4o\n"
        "  api_base: http://user:BASEAUTHSECRET@127.0.0.1:9/v1\n"
        "  parameters:\n    api_key: sk-PARAMSECRET-777\n"
        "    extra_headers:\n      Authorization: 'Bearer sk-HEADERSECRET-555'\n"
        "      X-Api-Key: sk-XAPIKEY-31337\n",
        encoding="utf-8",
    )
    with studio_server.client() as client:
        shown = client.get("/api/models", params={"path": "quickstart/task.yaml"})
    assert shown.status_code == 200, shown.text
    for secret in SECRETS:
        assert secret not in shown.text
    entry = {m["name"]: m for m in shown.json()["models"]}["paramkey"]
    assert entry["api_base"] == "http://user:<redacted>@127.0.0.1:9/v1"
    assert entry["parameters"]["api_key"] == "<redacted>"
    assert entry["parameters"]["extra_headers"]["Authorization"] == "<redacted>"


def test_a_models_file_linked_out_of_the_workspace_is_a_404(studio_server: Studio) -> None:
    """``models.yaml`` a symlink to a file outside: /api/models is a 404 naming it, never a
    500, and nothing of the outside file is shown."""
    outside = studio_server.workspace.parent / "outside-models.yaml"
    outside.write_text("stolen:\n  model: openai/sk-OUTSIDE-MODEL\n", encoding="utf-8")
    models = studio_server.workspace / "quickstart" / "models.yaml"
    models.unlink()
    models.symlink_to(outside)
    with studio_server.client() as client:
        shown = client.get("/api/models", params={"path": "quickstart/task.yaml"})
    assert shown.status_code == 404, shown.text
    assert "outside the workspace" in shown.json()["error"]
    assert "OUTSIDE-MODEL" not in shown.text


@pytest.mark.parametrize(
    ("method", "path", "key"),
    [
        ("GET", "/api/task", "path"),
        ("GET", "/api/output/page", "output"),
        ("GET", "/api/annotations", "output"),
        ("POST", "/api/task/yaml", "path"),
        ("POST", "/api/annotations", "output"),
    ],
)
def test_a_path_too_long_for_the_file_system_is_a_400(
    studio_server: Studio, method: str, path: str, key: str
) -> None:
    """A name longer than the file system takes (ENAMETOOLONG): one 400 line that repeats
    the path cut short; the connection goes on answering."""
    long = "a/" + "b" * 5000 + ".yaml"
    with studio_server.client() as client:
        if method == "GET":
            answer = client.get(path, params={key: long})
        else:
            answer = client.post(path, json={key: long, "yaml": "x: 1\n", "id": "1"})
        assert answer.status_code == 400, answer.text
        error = answer.json()["error"]
        assert "cannot be used as a path" in error
        assert len(error) < 400
        assert client.get("/api/tasks").status_code == 200  # same connection, still fine


def test_a_deeply_nested_body_is_a_400(studio_server: Studio) -> None:
    """JSON nested thousands of levels deep (or just past the limit): 400 on any POST."""
    with studio_server.client() as client:
        for depth in (65, 100_000):
            body = '{"path": "quickstart/task.yaml", "x": ' + "[" * depth + "]" * depth + "}"
            for path in ("/api/try", "/api/task/edit", "/api/annotations"):
                answer = client.post(
                    path, content=body, headers={"content-type": "application/json"}
                )
                assert answer.status_code == 400, (path, depth, answer.text)
                assert "nested deeper than 64 levels" in answer.json()["error"]


def test_a_body_over_the_limit_is_refused_before_it_is_read(studio_server: Studio) -> None:
    """A Content-Length past the limit is a 413 answered at once: the server does not wait
    for (or hold) the body. Here the body is never sent, and the answer still comes."""
    port = studio_server.port
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(
            f"POST /{studio_server.token}/api/task/yaml HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Content-Type: application/json\r\nContent-Length: 400000000\r\n\r\n{".encode()
        )
        answer = b""
        while b"bytes" not in answer and (chunk := conn.recv(65536)):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413"), answer
    assert b"larger than 4000000 bytes" in answer


def test_a_streamed_body_is_cut_off_at_the_limit(studio_server: Studio) -> None:
    """A body without Content-Length (chunked) that grows past the limit: 413."""

    def chunks() -> object:
        for _ in range(10):
            yield b" " * 1_000_000

    with studio_server.client(timeout=60) as client:
        answer = client.post(
            "/api/task/yaml", content=chunks(), headers={"content-type": "application/json"}
        )
    assert answer.status_code == 413
    assert "larger than" in answer.json()["error"]


def test_posts_that_are_not_json_are_refused(studio_server: Studio) -> None:
    """A POST as ``text/plain`` or a form (what any page can send without asking): 415,
    and nothing is written."""
    task = studio_server.workspace / "quickstart" / "task.yaml"
    before = task.read_text(encoding="utf-8")
    body = json.dumps({"path": "quickstart/task.yaml", "yaml": "graph_config: {}\n"})
    with studio_server.client() as client:
        for kind in ("text/plain", "application/x-www-form-urlencoded", None):
            headers = {"content-type": kind} if kind else {}
            answer = client.post("/api/task/yaml", content=body, headers=headers)
            assert answer.status_code == 415, (kind, answer.text)
            assert "application/json" in answer.json()["error"]
    assert task.read_text(encoding="utf-8") == before


def test_a_studio_on_another_loopback_address_answers(tmp_path: Path) -> None:
    """``--host 127.0.0.2``: requests addressed to it (its Host) are the Studio's own."""
    server = StudioServer(make_workspace(tmp_path / "ws"), host="127.0.0.2", port=0, mock=True)
    with server.running():
        assert server.url.startswith("http://127.0.0.2:")
        page = httpx.get(server.url)
        api = httpx.get(server.url + "api/tasks", headers={"origin": server.base_url})
    assert page.status_code == 200, page.text
    assert api.status_code == 200, api.text


def _output(folder: Path, name: str = "qa") -> Path:
    """A run's output of one record, with its (empty) journal beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    output = folder / f"{name}.jsonl"
    output.write_text('{"id": "1", "answer": "yes"}\n', encoding="utf-8")
    (folder / f"{name}.journal.jsonl").write_text("", encoding="utf-8")
    return output


def test_files_beside_an_output_that_link_out_are_never_opened(studio_server: Studio) -> None:
    """``qa.annotations.jsonl`` or ``qa.summary.json`` a symlink out of the workspace: the
    output is a 404 for reading, reviewing and comparing, it is not listed, and the outside
    files are neither read nor appended to."""
    ws = studio_server.workspace
    _output(ws / "annot" / "output")
    outside = ws.parent / "outside"
    outside.mkdir()
    victim = outside / "victim.jsonl"
    victim.write_text('{"id": "1", "note": "OUTSIDE-NOTE"}\n', encoding="utf-8")
    summary = outside / "summary.json"
    summary.write_text('{"done": 4242, "failed": 0}', encoding="utf-8")
    (ws / "annot" / "output" / "qa.annotations.jsonl").symlink_to(victim)
    _output(ws / "summ" / "output")
    (ws / "summ" / "output" / "qa.summary.json").symlink_to(summary)
    with studio_server.client() as client:
        answers = [
            client.get("/api/annotations", params={"output": "annot/output/qa.jsonl"}),
            client.post(
                "/api/annotations",
                json={"output": "annot/output/qa.jsonl", "id": "1", "note": "INJECTED"},
            ),
            client.get("/api/output/page", params={"output": "annot/output/qa.jsonl"}),
            client.get(
                "/api/compare",
                params={"left": "summ/output/qa.jsonl", "right": "annot/output/qa.jsonl"},
            ),
        ]
        listed = client.get("/api/outputs").json()["runs"]
    for answer in answers:
        assert answer.status_code == 404, answer.text
        assert "is outside the workspace" in answer.json()["error"]
        assert "OUTSIDE-NOTE" not in answer.text
        assert "4242" not in answer.text
    assert listed == []
    assert victim.read_text(encoding="utf-8") == '{"id": "1", "note": "OUTSIDE-NOTE"}\n'


def test_outputs_in_hidden_folders_are_not_served(studio_server: Studio) -> None:
    """``.secrets/creds.jsonl`` is no run output: not listed, and a 404 when asked for."""
    _output(studio_server.workspace / ".secrets", "creds")
    _output(studio_server.workspace / "shown" / "output")
    with studio_server.client() as client:
        page = client.get("/api/output/page", params={"output": ".secrets/creds.jsonl"})
        listed = client.get("/api/outputs").json()["runs"]
    assert page.status_code == 404, page.text
    assert [run["output"] for run in listed] == ["shown/output/qa.jsonl"]


def test_open_event_streams_are_capped(studio_server: Studio) -> None:
    """Past 16 open event streams the next is a 429 at once; a stream whose client leaves
    frees its place."""
    import contextlib
    import time

    from grasp_studio.limits import MAX_STREAMS

    params = {"path": "quickstart/task.yaml"}
    with contextlib.ExitStack() as stack, studio_server.client(timeout=60) as client:
        streams = [
            stack.enter_context(client.stream("GET", "/api/runs/events", params=params))
            for _ in range(MAX_STREAMS)
        ]
        assert all(stream.status_code == 200 for stream in streams)
        refused = client.get("/api/runs/events", params=params)
        assert refused.status_code == 429
        assert "event streams are open already" in refused.json()["error"]
        streams[0].close()
        deadline = time.monotonic() + 60
        while True:
            with client.stream("GET", "/api/runs/events", params=params) as again:
                if again.status_code == 200:
                    break
            assert time.monotonic() < deadline, "a closed stream never freed its place"
            time.sleep(0.1)


def test_a_review_id_is_at_most_512_characters(studio_server: Studio) -> None:
    """A record id longer than any real one: 400, nothing appended."""
    output = _output(studio_server.workspace / "ids" / "output")
    with studio_server.client() as client:
        answer = client.post(
            "/api/annotations",
            json={"output": "ids/output/qa.jsonl", "id": "x" * 513, "verdict": "accept"},
        )
    assert answer.status_code == 400
    assert "at most 512 characters" in answer.json()["error"]
    assert not output.with_name("qa.annotations.jsonl").exists()


BOMB = "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]\n"
    for prev, name in zip("abcdef", "bcdefg", strict=True)
)
"""A few hundred bytes of YAML whose aliases expand to 9**7 values (after ``a: &a [x...]``)."""


def test_a_yaml_alias_bomb_is_refused_naming_its_line(studio_server: Studio) -> None:
    """Saving YAML whose aliases would expand to millions of values: a 400 naming the line
    of the alias that passes the bound; the file keeps its text. Such a file on disk is
    shown as a YAML error, not expanded."""
    text = "a: &a [x, x, x, x, x, x, x, x, x]\n" + BOMB
    task = studio_server.workspace / "quickstart" / "task.yaml"
    before = task.read_text(encoding="utf-8")
    with studio_server.client() as client:
        saved = client.post("/api/task/yaml", json={"path": "quickstart/task.yaml", "yaml": text})
        (studio_server.workspace / "bomb").mkdir()
        (studio_server.workspace / "bomb" / "task.yaml").write_text(text, encoding="utf-8")
        shown = client.get("/api/task", params={"path": "bomb/task.yaml"})
    assert saved.status_code == 400, saved.text[:300]
    assert saved.json()["error"].startswith("task.yaml:5: the alias *d brings")
    assert task.read_text(encoding="utf-8") == before
    assert shown.status_code == 200
    assert "past 10,000" in shown.json()["yaml_error"]
    assert len(shown.text) < 10_000
