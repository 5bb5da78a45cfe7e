"""SyGra's spelling of media models: `llm` nodes whose model says `output_type: image | audio`
or `input_type: audio` (on the models-file entry or the node's `model:`) run unchanged."""

from __future__ import annotations

import hashlib
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

SYGRA_IMAGE_TASK = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out/result.jsonl}
graph_config:
  nodes:
    draw:
      node_type: llm
      output_keys: picture
      prompt:
        - user: "a picture of {topic}"
      model:
        name: painter
    redraw:
      node_type: llm
      output_keys: redrawn
      prompt:
        - user:
            - {type: text, text: "make it blue"}
            - {type: image_url, image_url: "{picture}"}
      model:
        name: painter
        output_type: image
        parameters: {size: 16x16, n: 2}
  edges:
    - {from: START, to: draw}
    - {from: draw, to: redraw}
    - {from: redraw, to: END}
output_config:
  output_map:
    id: {from: id}
    picture: {from: picture}
    redrawn: {from: redrawn}
"""


def test_output_type_image_on_the_entry_and_on_the_node(tmp_path: Path, server: MockServer) -> None:
    """The entry's `output_type: image` generates; the node's edits the prompt's image."""
    write_task(tmp_path, SYGRA_IMAGE_TASK)
    write_data(tmp_path, [{"id": "a", "topic": "a fox"}])
    server.reset()
    extra = {"painter": {"output_type": "image", "parameters": {"size": "24x24"}}}
    assert run(tmp_path, server, extra).done == 1
    record = outputs(tmp_path)["a"]
    expected = served_image(server, "a picture of a fox", size="24x24")
    assert (tmp_path / "out" / record["picture"]["path"]).read_bytes() == expected
    assert len(record["redrawn"]) == 2
    (edit,) = [e for e in server.requests() if e["path"] == "/v1/images/edits"]
    assert edit["body"]["prompt"] == ["make it blue"]
    assert [f["sha256"] for f in edit["body"]["image[]"]] == [hashlib.sha256(expected).hexdigest()]
    assert edit["body"]["size"] == ["16x16"]
    assert_no_base64(tmp_path)


SYGRA_AUDIO_TASK = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out/result.jsonl}
graph_config:
  nodes:
    say:
      node_type: llm
      output_keys: audio
      prompt:
        - user: "{line}"
      model:
        name: voice
        output_type: audio
        parameters: {voice: nova, response_format: wav}
    hear:
      node_type: llm
      output_keys: heard
      prompt:
        - user:
            - {type: text, text: "Transcribe the audio."}
            - {type: audio_url, audio_url: "{audio}"}
      model:
        name: ear
  edges:
    - {from: START, to: say}
    - {from: say, to: hear}
    - {from: hear, to: END}
"""


def test_output_type_audio_then_input_type_audio_round_trips(
    tmp_path: Path, server: MockServer
) -> None:
    """Speech from a TTS model, then transcription by an `input_type: audio` entry."""
    write_task(tmp_path, SYGRA_AUDIO_TASK)
    write_data(tmp_path, [{"id": "a", "line": "Good morning, Ada."}])
    server.reset()
    assert run(tmp_path, server, {"ear": {"input_type": "audio"}}).done == 1
    record = outputs(tmp_path)["a"]
    assert record["heard"] == "Good morning, Ada."
    assert record["audio"]["type"] == "audio/wav"
    assert_no_base64(tmp_path)


def test_chat_node_types_refuse_a_media_model(tmp_path: Path, server: MockServer) -> None:
    """A multi_llm (or agent) node calling an `output_type: image` model fails to build,
    naming the node, rather than sending the image model a chat request."""
    task = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out/result.jsonl}
graph_config:
  nodes:
    both:
      node_type: multi_llm
      prompt:
        - user: "{topic}"
      models:
        art: {name: painter}
        text: {name: m}
  edges:
    - {from: START, to: both}
    - {from: both, to: END}
"""
    write_task(tmp_path, task)
    write_data(tmp_path, [{"id": "a", "topic": "a fox"}])
    with pytest.raises(ConfigError, match="node 'both': model 'painter' is a media model"):
        run(tmp_path, server, {"painter": {"output_type": "image"}})
