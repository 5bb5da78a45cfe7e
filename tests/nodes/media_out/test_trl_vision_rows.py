"""A run whose conversations hold the images it made, written with `--format sft`: the jsonl
rows keep relative media paths, and the parquet rows load in TRL's vision layout (`images`
as a sequence of images with the stored bytes, content parts with one placeholder per
image)."""

from __future__ import annotations

import json
from pathlib import Path

import datasets

from grasp_core.mock_server import MockServer
from tests.conftest import write_task
from tests.nodes.media_out.helpers import run, write_data

TASK = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink:
    - {alias: lines, type: jsonl, file_path: out/rows.jsonl}
    - {alias: table, type: parquet, file_path: out/rows.parquet}
graph_config:
  nodes:
    draw:
      node_type: image
      model: {name: painter}
      prompt: "a picture of {topic}"
      size: 16x16
      n: 2
      output_keys: pictures
    caption:
      node_type: llm
      model: {name: m}
      output_keys: caption
      prompt:
        - user:
            - {type: text, text: "Compare the pictures."}
            - {type: image_url, image_url: "{pictures}"}
    chat:
      node_type: lambda
      lambda: steps.chat
      output_keys: conversation
  edges:
    - {from: START, to: draw}
    - {from: draw, to: caption}
    - {from: caption, to: chat}
    - {from: chat, to: END}
output_config:
  format: sft
  output_map:
    id: {from: id}
    conversation: {from: conversation}
"""

STEPS = """
def chat(state):
    return [
        {"role": "user", "content": "Compare the pictures.", "images": state["pictures"]},
        {"role": "assistant", "content": state["caption"]},
    ]
"""


def test_sft_rows_with_made_images_load_in_trls_vision_layout(
    tmp_path: Path, server: MockServer
) -> None:
    """Two images per record: jsonl rows list their stored entries, parquet rows hold them
    as `Sequence(Image())` with the stored bytes, and the user message has one image
    placeholder per image before its text."""
    write_task(tmp_path, TASK, {"steps.py": STEPS})
    write_data(tmp_path, [{"id": "a", "topic": "a fox"}, {"id": "b", "topic": "a whale"}])
    result = run(tmp_path, server)
    assert (result.done, result.failed) == (2, 0), result.failure_reasons
    lines = [json.loads(x) for x in (tmp_path / "out/rows.jsonl").read_text().splitlines()]
    assert all(len(row["images"]) == 2 for row in lines)
    assert all(entry["path"].startswith("rows.media/draw/") for r in lines for entry in r["images"])

    table = datasets.load_dataset(
        "parquet", data_files=str(tmp_path / "out/rows.parquet"), split="train"
    )
    assert isinstance(getattr(table.features["images"], "feature", None), datasets.Image)
    raw = table.cast_column("images", datasets.Sequence(datasets.Image(decode=False)))
    expected = {
        tuple((tmp_path / "out" / e["path"]).read_bytes() for e in row["images"]) for row in lines
    }
    assert {tuple(image["bytes"] for image in row["images"]) for row in raw} == expected
    for row in raw:
        user, assistant = row["messages"]
        assert [part["type"] for part in user["content"]] == ["image", "image", "text"]
        assert user["content"][-1]["text"] == "Compare the pictures."
        assert [part["type"] for part in assistant["content"]] == ["text"]
