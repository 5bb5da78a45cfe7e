"""The fast lane of media calls sends what litellm sends and gives the same records: one task
(image generation, an edit of two images with a mask, speech, transcription) runs over each
transport against the mock server, which logs every request with its headers and body."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from grasp_core.mock_server import MockServer
from tests.conftest import write_task
from tests.nodes.media_out.helpers import outputs, run, served_image, write_data

TASK = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out/result.jsonl}
graph_config:
  nodes:
    draw:
      node_type: image
      model: {name: painter}
      prompt: "a picture of {topic}"
      size: 48x32
      quality: low
      output_keys: picture
    edit:
      node_type: image
      model: {name: painter, parameters: {input_fidelity: high}}
      prompt: "put {topic} into it"
      images: [picture, photo]
      mask: picture
      n: 2
      output_keys: edited
    say:
      node_type: speech
      model: {name: voice}
      text: "{topic} is drawn"
      voice: nova
      speed: 1.5
      output_keys: audio
    hear:
      node_type: transcribe
      model: {name: ear}
      audio: audio
      language: en
      output_keys: heard
  edges:
    - {from: START, to: draw}
    - {from: draw, to: edit}
    - {from: edit, to: say}
    - {from: say, to: hear}
    - {from: hear, to: END}
output_config:
  output_map:
    id: {from: id}
    picture: {from: picture}
    edited: {from: edited}
    audio: {from: audio}
    heard: {from: heard}
"""

MEDIA_PATHS = ("/images/generations", "/images/edits", "/audio/speech", "/audio/transcriptions")


def _header(entry: dict[str, Any], name: str) -> str:
    return next((v for k, v in entry["headers"].items() if k.lower() == name), "")


def _sent(server: MockServer) -> list[dict[str, Any]]:
    """Each media request as a server sees it: where it went, its key, its body's type and
    the body itself (a form's files by name, size and sha256)."""
    return [
        {
            "target": entry["target"],
            "authorization": _header(entry, "authorization"),
            "content_type": _header(entry, "content-type").split(";")[0],
            "body": entry["body"],
        }
        for entry in server.requests()
        if entry["path"].endswith(MEDIA_PATHS)
    ]


def _run_over(transport: str, folder: Path, server: MockServer) -> tuple[list[Any], list[str]]:
    """Run the task in ``folder`` with every media model on ``transport``: the requests
    sent, and the User-Agent of each."""
    write_task(folder, TASK)
    (folder / "photo.png").write_bytes(served_image(server, "a photo"))
    write_data(folder, [{"id": "a", "topic": "a fox", "photo": "photo.png"}])
    server.reset()
    extra = {name: {"transport": transport} for name in ("painter", "voice", "ear")}
    assert run(folder, server, extra).done == 1
    agents = [
        _header(e, "user-agent") for e in server.requests() if e["path"].endswith(MEDIA_PATHS)
    ]
    return _sent(server), agents


def _files(folder: Path) -> dict[str, bytes]:
    media = folder / "out" / "result.media"
    return {str(p.relative_to(media)): p.read_bytes() for p in media.rglob("*") if p.is_file()}


def test_both_transports_send_the_same_requests_and_write_the_same_records(
    tmp_path: Path, server: MockServer
) -> None:
    """`transport: auto` takes the fast lane (aiohttp) for all four media operations and
    sends litellm's requests: the same URLs, key, body type and bodies (JSON, or forms with
    the same fields and files); the records and media files written are identical."""
    fast, fast_agents = _run_over("auto", tmp_path / "fast", server)
    slow, slow_agents = _run_over("litellm", tmp_path / "litellm", server)

    assert [r["target"] for r in fast] == [f"/v1{path}" for path in MEDIA_PATHS]
    assert all("aiohttp" in agent for agent in fast_agents), fast_agents
    assert not any("aiohttp" in agent for agent in slow_agents), slow_agents
    assert fast == slow
    edit = fast[1]["body"]
    assert [f["filename"] for f in edit["image[]"]] == ["image.png", "image.png"]
    assert edit["n"] == ["2"]

    assert outputs(tmp_path / "fast") == outputs(tmp_path / "litellm")
    assert _files(tmp_path / "fast") == _files(tmp_path / "litellm")
    assert outputs(tmp_path / "fast")["a"]["heard"] == "a fox is drawn"


@pytest.mark.parametrize("transport", ["auto", "litellm"])
def test_a_content_policy_refusal_fails_at_once_on_either_transport(
    tmp_path: Path, server: MockServer, transport: str
) -> None:
    """The mock's content-policy 400 fails the record after one request, with the server's
    reason, whichever transport carried it."""
    write_task(tmp_path, TASK)
    write_data(tmp_path, [{"id": "a", "topic": "[[mock:content_policy]]", "photo": "x.png"}])
    server.reset()
    extra = {"painter": {"transport": transport}}
    assert run(tmp_path, server, extra).failed == 1
    assert len([e for e in server.requests() if e["path"].endswith(MEDIA_PATHS)]) == 1
    failure = (tmp_path / "out" / "result.failures.jsonl").read_text()
    assert "safety system" in json.dumps(json.loads(failure))
