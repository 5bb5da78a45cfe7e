"""A run's hf output with media columns is a source for another task: its images (one per
record, and lists of them) and audio arrive as the bytes the first run stored, and feed
media nodes of the second task (the speech is transcribed back to its text)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from grasp_core.mock_server import MockServer
from tests.conftest import write_task
from tests.nodes.media_out.helpers import run, write_data

MAKE = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: hf, file_path: out/made}
graph_config:
  nodes:
    draw:
      node_type: image
      model: {name: painter}
      prompt: "a picture of {topic}"
      size: 24x16
      output_keys: picture
    sketch:
      node_type: image
      model: {name: painter}
      prompt: "sketches of {topic}"
      size: 8x8
      n: 2
      output_keys: sketches
    say:
      node_type: speech
      model: {name: voice}
      text: "{topic} at dawn"
      output_keys: audio
  edges:
    - {from: START, to: draw}
    - {from: draw, to: sketch}
    - {from: sketch, to: say}
    - {from: say, to: END}
output_config:
  output_map:
    id: {from: id}
    picture: {from: picture}
    sketches: {from: sketches}
    audio: {from: audio}
"""

READ = """
data_config:
  source: {type: hf, repo_id: ../make/out/made}
  sink: {type: jsonl, file_path: out/read.jsonl}
graph_config:
  nodes:
    digest:
      node_type: lambda
      lambda: steps.digest
      output_keys: digests
    hear:
      node_type: transcribe
      model: {name: ear}
      audio: audio
      output_keys: heard
  edges:
    - {from: START, to: digest}
    - {from: digest, to: hear}
    - {from: hear, to: END}
output_config:
  output_map:
    id: {from: id}
    digests: {from: digests}
    heard: {from: heard}
"""

STEPS = """
import hashlib

def digest(state):
    sha = lambda value: hashlib.sha256(value["bytes"]).hexdigest()
    return {
        "picture": sha(state["picture"]),
        "sketches": [sha(item) for item in state["sketches"]],
        "audio": sha(state["audio"]),
    }
"""


def test_a_runs_hf_output_reads_back_as_media_inputs(tmp_path: Path, server: MockServer) -> None:
    """Every image, list of images and audio of the first run's hf output reaches the
    second task byte for byte (digests of the stored files), and its audio is a valid media
    input: transcribing it gives back the text that was spoken."""
    make, read = tmp_path / "make", tmp_path / "read"
    write_task(make, MAKE)
    write_data(make, [{"id": "a", "topic": "a fox"}, {"id": "b", "topic": "a whale"}])
    assert run(make, server).done == 2
    stored = make / "out" / "made.media"

    def sha(kind: str, name: str) -> str:
        return hashlib.sha256((stored / kind / name).read_bytes()).hexdigest()

    write_task(read, READ, {"steps.py": STEPS})
    assert run(read, server).done == 2
    lines = (read / "out" / "read.jsonl").read_text().splitlines()
    records = {json.loads(line)["id"]: json.loads(line) for line in lines}
    assert sorted(records) == ["a", "b"]
    files = {
        kind: {p.name for p in (stored / kind).iterdir()} for kind in ("draw", "sketch", "say")
    }
    for record_id, topic in [("a", "a fox"), ("b", "a whale")]:
        digests = records[record_id]["digests"]
        assert f"{digests['picture']}.png" in files["draw"]
        assert digests["picture"] == sha("draw", f"{digests['picture']}.png")
        assert len(digests["sketches"]) == 2
        assert {f"{d}.png" for d in digests["sketches"]} <= files["sketch"]
        assert f"{digests['audio']}.wav" in files["say"]
        assert records[record_id]["heard"] == f"{topic} at dawn"
