"""Media calls are priced (per image by size and quality, per character spoken, per audio
second), so the run summary shows their cost and budget caps stop media runs; media larger
than the node's `media.max_bytes` fail the record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grasp_core.mock_server import MockServer
from tests.conftest import write_task
from tests.nodes.media_out.helpers import outputs, run, write_data

DRAW_TASK = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out/result.jsonl}
graph_config:
  nodes:
    draw:
      node_type: image
      model: {name: painter}
      prompt: "a picture of {topic}"
      size: 32x32
      quality: low
      n: 2
      media: {max_bytes: MAX_BYTES}
      output_keys: picture
  edges:
    - {from: START, to: draw}
    - {from: draw, to: END}
output_config:
  output_map:
    id: {from: id}
    picture: {from: picture}
"""

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
      output_keys: audio
    hear:
      node_type: transcribe
      model: {name: ear}
      audio: audio
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

IMAGE_PRICES = {"cost": {"per_image": {"low/32x32": 0.5, "default": 9.0}}}


def _draw(tmp_path: Path, records: int, max_bytes: int = 20 * 1024 * 1024) -> None:
    write_task(tmp_path, DRAW_TASK.replace("MAX_BYTES", str(max_bytes)))
    write_data(tmp_path, [{"id": str(i), "topic": f"fox {i}"} for i in range(records)])


def test_images_are_priced_by_quality_and_size(tmp_path: Path, server: MockServer) -> None:
    """Each image made costs the models file's price for its `quality/size`; the summary
    shows it per model, per node and in the totals."""
    _draw(tmp_path, 3)
    result = run(tmp_path, server, extra={"painter": IMAGE_PRICES})
    assert result.done == 3
    summary = json.loads(result.summary_path.read_text())
    assert summary["totals"]["cost_usd"] == pytest.approx(3 * 2 * 0.5)
    assert summary["models"]["painter"]["cost_usd"] == pytest.approx(3.0)
    assert summary["models"]["painter"]["price_source"] == "models file"
    assert summary["nodes"]["draw"]["cost_usd"] == pytest.approx(3.0)


def test_a_cost_cap_stops_a_media_run(tmp_path: Path, server: MockServer) -> None:
    """--max-cost counts images: at $1 a record, a $3 cap stops a 20-record run early."""
    _draw(tmp_path, 20)
    result = run(tmp_path, server, extra={"painter": IMAGE_PRICES}, max_cost=3, window=2)
    assert result.stopped_by_budget
    assert 3 <= result.done < 20
    spent = result.metrics["budget"]["spent_total"]["cost_usd"]
    assert spent == pytest.approx(result.done * 1.0)
    assert "max-cost" in result.metrics["budget"]["reason"]


def test_speech_and_transcription_use_litellms_prices(tmp_path: Path, server: MockServer) -> None:
    """tts-1 costs litellm's price per character spoken, whisper-1 its price per second
    of audio transcribed."""
    write_task(tmp_path, SPEECH_TASK)
    line = "Good morning, Ada."
    write_data(tmp_path, [{"id": "a", "line": line}])
    result = run(tmp_path, server, max_cost=5)
    assert result.done == 1
    models = json.loads(result.summary_path.read_text())["models"]
    assert models["voice"]["price_source"] == "litellm"
    assert models["voice"]["cost_usd"] == pytest.approx(len(line) * 1.5e-05)
    seconds = outputs(tmp_path)["a"]["audio"]["duration"]
    assert seconds > 0
    assert models["ear"]["cost_usd"] == pytest.approx(seconds * 0.0001)


def test_media_over_max_bytes_fail_the_record(tmp_path: Path, server: MockServer) -> None:
    """An image larger than the node's `media.max_bytes` fails its record with the size and
    the limit, and nothing is stored."""
    _draw(tmp_path, 1, max_bytes=40)
    result = run(tmp_path, server, allowed_failures=1)
    assert (result.done, result.failed) == (0, 1)
    failure = json.loads((tmp_path / "out" / "result.failures.jsonl").read_text())
    assert "over the node's media.max_bytes of 40" in json.dumps(failure)
    assert not list((tmp_path / "out").glob("result.media/draw/*.png"))
