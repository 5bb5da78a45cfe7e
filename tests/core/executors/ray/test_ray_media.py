"""Media outputs of a Ray run: the merged output's relative paths resolve to the files the
shards stored, beside the task's output, as after a local run."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from grasp_core import RunOptions, run_task
from grasp_core.mock_server import MockServer
from grasp_core.models.catalog import ModelCatalog, ModelSpec
from tests.conftest import write_task

ray = pytest.importorskip("ray")

pytestmark = pytest.mark.slow

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
      size: 16x16
      output_keys: picture
  edges:
    - {from: START, to: draw}
    - {from: draw, to: END}
output_config:
  output_map:
    id: {from: id}
    picture: {from: picture}
"""


def test_merged_media_paths_resolve(cluster: None, tmp_path: Path, mock_server: MockServer) -> None:
    """Every merged record's image path, relative to the output's folder, names a file whose
    bytes hash to its name; the files sit in the task's media folder."""
    rows = "".join(json.dumps({"id": str(i), "topic": f"fox {i % 5}"}) + "\n" for i in range(8))
    task = write_task(tmp_path, DRAW_TASK, {"data.jsonl": rows})
    models = ModelCatalog(specs={"painter": ModelSpec(model="openai/gpt-image-1")})
    options = RunOptions(mock=mock_server.url, models=models, executor="ray", num_shards=2)
    result = run_task(task, options)
    assert (result.done, result.failed) == (8, 0)
    out = tmp_path / "out"
    pictures = [record["picture"] for record in result.records()]
    assert len(pictures) == 8
    for picture in pictures:
        assert picture["path"].startswith("result.media/draw/")
        data = (out / picture["path"]).read_bytes()
        assert len(data) == picture["size"]
        assert picture["path"].endswith(f"/{hashlib.sha256(data).hexdigest()}.png")
    stored = sorted(p.name for p in (out / "result.media" / "draw").iterdir())
    assert stored == sorted({Path(p["path"]).name for p in pictures})
    assert len(stored) == 5  # five topics: the same image once, whichever shard made it
