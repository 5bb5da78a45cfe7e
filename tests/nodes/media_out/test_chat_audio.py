"""Audio out of a chat model (gpt-4o-audio): an `llm` node whose model asks for
`modalities: [text, audio]`, or says `output_type: audio` on a chat route, keeps the reply's
text and its audio, stored as the speech node stores audio."""

from __future__ import annotations

import json
from pathlib import Path

from grasp_core.mock_server import MockServer
from tests.conftest import write_task
from tests.nodes.media_out.helpers import assert_no_base64, outputs, run, write_data

TWO_KEYS_TASK = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out/result.jsonl}
graph_config:
  nodes:
    talk:
      node_type: llm
      output_keys: [reply, spoken]
      prompt:
        - user: "{line}"
      model:
        name: talker
        parameters: {modalities: [text, audio], audio: {voice: verse, format: wav}}
    hear:
      node_type: transcribe
      model: {name: ear}
      audio: spoken
      output_keys: heard
  edges:
    - {from: START, to: talk}
    - {from: talk, to: hear}
    - {from: hear, to: END}
output_config:
  output_map:
    id: {from: id}
    reply: {from: reply}
    spoken: {from: spoken}
    heard: {from: heard}
"""

SYGRA_TASK = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out/result.jsonl}
graph_config:
  nodes:
    talk:
      node_type: llm
      output_keys: answer
      prompt:
        - user: "{line}"
      model:
        name: talker
        output_type: audio
  edges:
    - {from: START, to: talk}
    - {from: talk, to: END}
output_config:
  output_map:
    id: {from: id}
    answer: {from: answer}
"""

TALKER = {"talker": {"model": "openai/gpt-4o-audio-preview"}}


def test_text_and_audio_of_a_chat_reply_are_both_kept(tmp_path: Path, server: MockServer) -> None:
    """With two output keys the first holds the reply's text, the second its stored audio;
    the audio is the reply spoken (its transcription is the text), and the request asked for
    text and audio with the node's voice."""
    write_task(tmp_path, TWO_KEYS_TASK)
    line = "Tell me about foxes."
    write_data(tmp_path, [{"id": "a", "line": line}])
    server.reset()
    result = run(tmp_path, server, TALKER)
    assert (result.done, result.failed) == (1, 0)
    record = outputs(tmp_path)["a"]
    assert isinstance(record["reply"], str)
    assert record["reply"]
    assert record["heard"] == record["reply"]
    spoken = record["spoken"]
    assert spoken["type"] == "audio/wav"
    assert spoken["path"].startswith("result.media/talk/")
    assert spoken["duration"] > 0
    assert (tmp_path / "out" / spoken["path"]).stat().st_size == spoken["size"]
    chat = next(e for e in server.requests() if e["path"] == "/v1/chat/completions")
    assert chat["body"]["modalities"] == ["text", "audio"]
    assert chat["body"]["audio"] == {"voice": "verse", "format": "wav"}
    assert_no_base64(tmp_path)
    journal = (tmp_path / "out" / "result.journal.jsonl").read_text()
    assert "UklGR" not in journal


def test_sygra_output_type_audio_on_a_chat_route(tmp_path: Path, server: MockServer) -> None:
    """`output_type: audio` on a chat model (not a TTS route) runs unchanged: one output key
    holds the audio entry (SyGra's meaning), and the summary counts the call's tokens."""
    write_task(tmp_path, SYGRA_TASK)
    write_data(tmp_path, [{"id": "a", "line": "Good morning, Ada."}])
    server.reset()
    result = run(tmp_path, server, TALKER)
    assert result.done == 1
    answer = outputs(tmp_path)["a"]["answer"]
    assert answer["type"] == "audio/wav"
    assert answer["duration"] > 0
    talker = json.loads(result.summary_path.read_text())["models"]["talker"]
    assert talker["calls"] == 1
    assert talker["prompt_tokens"] > 0
    assert talker["completion_tokens"] > 0
    assert_no_base64(tmp_path)
