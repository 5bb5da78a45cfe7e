"""The image, speech and transcribe nodes end to end over HTTP against the mock server: the
media written are the bytes served, records hold relative paths (never base64), outputs
chain into later nodes, and failures fail the record."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path

import pytest

from grasp_core.errors import ConfigError
from grasp_core.mock_server import MockServer
from tests.conftest import write_task
from tests.nodes.media_out.helpers import (
    assert_no_base64,
    outputs,
    run,
    served_image,
    write_data,
)

CHAIN_TASK = """
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
      output_keys: picture
    caption:
      node_type: llm
      model: {name: m}
      output_keys: caption
      prompt:
        - user:
            - {type: text, text: "Describe the picture."}
            - {type: image_url, image_url: "{picture}"}
  edges:
    - {from: START, to: draw}
    - {from: draw, to: caption}
    - {from: caption, to: END}
output_config:
  output_map:
    id: {from: id}
    picture: {from: picture}
    caption: {from: caption}
"""


def test_text_to_image_to_caption(tmp_path: Path, server: MockServer) -> None:
    """The stored file holds the bytes served, the record its relative path, and the
    caption node receives exactly those bytes as an image part."""
    write_task(tmp_path, CHAIN_TASK)
    write_data(tmp_path, [{"id": "a", "topic": "a fox"}, {"id": "b", "topic": "a whale"}])
    server.reset()
    result = run(tmp_path, server)
    assert result.done == 2
    records = outputs(tmp_path)
    for record_id, topic in [("a", "a fox"), ("b", "a whale")]:
        picture = records[record_id]["picture"]
        expected = served_image(server, f"a picture of {topic}", size="48x32")
        assert picture["type"] == "image/png"
        assert picture["size"] == len(expected)
        assert picture["path"].startswith("result.media/draw/")
        assert (tmp_path / "out" / picture["path"]).read_bytes() == expected
    sent = [
        part["image_url"]["url"]
        for entry in server.requests()
        if entry["path"] == "/v1/chat/completions"
        for part in entry["body"]["messages"][-1]["content"]
        if part["type"] == "image_url"
    ]
    served = {served_image(server, f"a picture of {t}", size="48x32") for t in ("a fox", "a whale")}
    assert {base64.b64decode(url.split(",", 1)[1]) for url in sent} == served
    assert_no_base64(tmp_path)


def test_resume_after_a_crash_between_media_and_journal_rewrites_nothing(
    tmp_path: Path, server: MockServer
) -> None:
    """A record whose image was stored but not journaled (the crash window) is redone on
    resume: the file is reused, not rewritten, and every record is written once."""
    write_task(tmp_path, CHAIN_TASK)
    write_data(tmp_path, [{"id": "a", "topic": "a fox"}, {"id": "b", "topic": "a whale"}])
    run(tmp_path, server, num_records=1)
    orphan = served_image(server, "a picture of a whale", size="48x32")
    folder = tmp_path / "out" / "result.media" / "draw"
    orphan_path = folder / f"{hashlib.sha256(orphan).hexdigest()}.png"
    orphan_path.write_bytes(orphan)
    media = sorted(folder.iterdir())
    for path in media:
        os.utime(path, ns=(1, 1))
    server.reset()
    result = run(tmp_path, server, resume=True)
    assert (result.done, result.previously_done) == (1, 1)
    assert [e["path"] for e in server.requests()].count("/v1/images/generations") == 1
    assert sorted(folder.iterdir()) == media
    assert all(path.stat().st_mtime_ns == 1 for path in media)
    records = outputs(tmp_path)
    assert sorted(records) == ["a", "b"]
    assert records["b"]["picture"]["path"] == f"result.media/draw/{orphan_path.name}"


SPEECH_TASK = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out/result.jsonl}
graph_config:
  nodes:
    say:
      node_type: speech
      model: {name: voice}
      text: "{line}"
      voice: nova
      speed: 2
      output_keys: audio
    hear:
      node_type: transcribe
      model: {name: ear}
      audio: audio
      language: en
      output_keys: heard
  edges:
    - {from: START, to: say}
    - {from: say, to: hear}
    - {from: hear, to: END}
output_config:
  output_map:
    id: {from: id}
    audio: {from: audio}
    heard: {from: heard}
"""


def test_text_to_speech_to_transcription_round_trips(tmp_path: Path, server: MockServer) -> None:
    """Speech is stored as a WAV with its duration; transcribing it gives the text back."""
    write_task(tmp_path, SPEECH_TASK)
    write_data(tmp_path, [{"id": "a", "line": "Hello there, wörld."}])
    server.reset()
    assert run(tmp_path, server).done == 1
    record = outputs(tmp_path)["a"]
    assert record["heard"] == "Hello there, wörld."
    audio = record["audio"]
    assert audio["type"] == "audio/wav"
    assert audio["path"].endswith(".wav")
    assert audio["duration"] == pytest.approx(len("Hello there, wörld.") * 0.02)
    speech = next(e for e in server.requests() if e["path"] == "/v1/audio/speech")
    assert speech["body"]["voice"] == "nova"
    assert speech["body"]["response_format"] == "wav"
    assert_no_base64(tmp_path)


EDIT_TASK = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out/result.jsonl}
graph_config:
  nodes:
    edit:
      node_type: image
      model: {name: painter, parameters: {input_fidelity: high}}
      prompt: "put {what} together"
      images: [first, second]
      mask: hole
      n: 2
      output_keys: edited
  edges:
    - {from: START, to: edit}
    - {from: edit, to: END}
output_config:
  output_map:
    id: {from: id}
    edited: {from: edited}
"""


def test_edit_sends_the_named_images_and_mask(tmp_path: Path, server: MockServer) -> None:
    """Both named images and the mask are uploaded as they are; n images are stored."""
    write_task(tmp_path, EDIT_TASK)
    first, second = served_image(server, "one"), served_image(server, "two")
    (tmp_path / "one.png").write_bytes(first)
    (tmp_path / "two.png").write_bytes(second)
    row = {"id": "a", "what": "them", "first": "one.png", "second": "two.png", "hole": "two.png"}
    write_data(tmp_path, [row])
    server.reset()
    assert run(tmp_path, server).done == 1
    edited = outputs(tmp_path)["a"]["edited"]
    assert len(edited) == 2
    assert len({item["path"] for item in edited}) == 2
    body = server.requests()[-1]["body"]
    assert [f["size"] for f in body["image[]"]] == [len(first), len(second)]
    assert body["mask"][0]["size"] == len(second)
    assert body["n"] == ["2"]
    assert body["input_fidelity"] == ["high"]


REFUSED_TASK = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out/result.jsonl}
graph_config:
  nodes:
    draw:
      node_type: image
      model: {name: painter}
      prompt: "{topic}"
      output_keys: picture
  edges:
    - {from: START, to: draw}
    - {from: draw, to: END}
"""


def test_content_policy_refusal_fails_the_record_without_retrying(
    tmp_path: Path, server: MockServer
) -> None:
    """OpenAI's content-policy 400 fails that record at once, with the reason."""
    write_task(tmp_path, REFUSED_TASK)
    write_data(
        tmp_path,
        [{"id": "bad", "topic": "forbidden [[mock:content_policy]]"}, {"id": "ok", "topic": "a"}],
    )
    server.reset()
    result = run(tmp_path, server, allowed_failures=1)
    assert (result.done, result.failed) == (1, 1)
    generations = [e for e in server.requests() if e["path"] == "/v1/images/generations"]
    assert len(generations) == 2
    failure = json.loads((tmp_path / "out" / "result.failures.jsonl").read_text())
    assert "content_policy" in json.dumps(failure) or "safety system" in json.dumps(failure)


def test_a_failed_save_fails_the_record(tmp_path: Path, server: MockServer) -> None:
    """When the media folder cannot be written the record fails; nothing holds base64."""
    write_task(tmp_path, REFUSED_TASK)
    write_data(tmp_path, [{"id": "a", "topic": "a fox"}])
    (tmp_path / "out" / "result.media").mkdir(parents=True)
    (tmp_path / "out" / "result.media" / "draw").write_text("in the way")
    server.reset()
    result = run(tmp_path, server, allowed_failures=1)
    assert (result.done, result.failed) == (0, 1)
    failure = (tmp_path / "out" / "result.failures.jsonl").read_text()
    assert "cannot store it" in failure
    assert_no_base64(tmp_path)


def test_a_media_node_takes_one_output_key(tmp_path: Path, server: MockServer) -> None:
    """Two output keys for one image are refused when the task loads, at their line."""
    write_task(tmp_path, REFUSED_TASK.replace("output_keys: picture", "output_keys: [a, b]"))
    write_data(tmp_path, [{"id": "a", "topic": "a fox"}])
    with pytest.raises(ConfigError, match="one output key"):
        run(tmp_path, server)


def test_a_file_where_the_media_folder_goes_stops_the_run_first(
    tmp_path: Path, server: MockServer
) -> None:
    """A file in the media folder's place is refused before any call, naming it."""
    write_task(tmp_path, REFUSED_TASK)
    write_data(tmp_path, [{"id": "a", "topic": "a fox"}])
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "result.media").write_text("in the way")
    server.reset()
    with pytest.raises(ConfigError, match=r"result\.media' is a file"):
        run(tmp_path, server)
    assert server.requests() == []
