"""Media outputs in Arrow sinks: parquet and hf outputs hold the stored images and audio as
`datasets` Image/Audio columns with the bytes embedded, byte for byte."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import pytest

from grasp_core.errors import SinkError
from grasp_core.mock_server import MockServer
from tests.conftest import write_task
from tests.nodes.media_out.helpers import run, served_image, write_data

TASK = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: SINK
graph_config:
  nodes:
    draw:
      node_type: image
      model: {name: painter}
      prompt: "a picture of {topic}"
      size: 20x20
      output_keys: picture
    say:
      node_type: speech
      model: {name: voice}
      text: "{topic}"
      output_keys: audio
  edges:
    - {from: START, to: draw}
    - {from: draw, to: say}
    - {from: say, to: END}
output_config:
  output_map:
    id: {from: id}
    picture: {from: picture}
    audio: {from: audio}
"""


def check(table: datasets.Dataset, tmp_path: Path, server: MockServer) -> None:
    assert isinstance(table.features["picture"], datasets.Image)
    assert isinstance(table.features["audio"], datasets.Audio)
    rows = table.cast_column("picture", datasets.Image(decode=False))
    rows = rows.cast_column("audio", datasets.Audio(decode=False))
    by_id = {row["id"]: row for row in rows}
    for record_id, topic in [("a", "a fox"), ("b", "a whale")]:
        picture = by_id[record_id]["picture"]
        assert picture["bytes"] == served_image(server, f"a picture of {topic}", size="20x20")
        assert picture["path"].endswith(".png")
        stored = tmp_path / "out" / "result.media" / "draw" / picture["path"]
        assert stored.read_bytes() == picture["bytes"]
        assert by_id[record_id]["audio"]["bytes"][:4] == b"RIFF"


def test_parquet_output_loads_as_image_and_audio(tmp_path: Path, server: MockServer) -> None:
    """`load_dataset("parquet")` shows Image and Audio columns holding the bytes served."""
    write_task(tmp_path, TASK.replace("SINK", "{type: parquet, file_path: out/result.parquet}"))
    write_data(tmp_path, [{"id": "a", "topic": "a fox"}, {"id": "b", "topic": "a whale"}])
    assert run(tmp_path, server).done == 2
    files = str(tmp_path / "out" / "result.parquet")
    table = datasets.load_dataset("parquet", data_files=files, split="train")
    check(table, tmp_path, server)


def test_hf_output_loads_as_image_and_audio(tmp_path: Path, server: MockServer) -> None:
    """`load_from_disk` of an hf output shows Image and Audio columns with the bytes."""
    write_task(tmp_path, TASK.replace("SINK", "{type: hf, file_path: out/result}"))
    write_data(tmp_path, [{"id": "a", "topic": "a fox"}, {"id": "b", "topic": "a whale"}])
    assert run(tmp_path, server).done == 2
    check(datasets.load_from_disk(str(tmp_path / "out" / "result")), tmp_path, server)


def test_a_media_file_gone_before_the_write_stops_with_one_line(
    tmp_path: Path, server: MockServer
) -> None:
    """Embedding needs the stored file: a missing one names it and what to do."""
    from grasp_io._media_columns import embed_stored_media

    stored = {"path": "result.media/draw/missing.png", "type": "image/png", "size": 3}
    with pytest.raises(SinkError, match=r"cannot embed the media file .*missing\.png"):
        embed_stored_media([{"id": "a", "picture": stored}], tmp_path)


LIST_TASK = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: SINK
graph_config:
  nodes:
    draw:
      node_type: image
      model: {name: painter}
      prompt: "a picture of {topic}"
      size: 20x20
      n: 3
      output_keys: pictures
  edges:
    - {from: START, to: draw}
    - {from: draw, to: END}
output_config:
  output_map:
    id: {from: id}
    pictures: {from: pictures}
"""


def check_lists(table: datasets.Dataset, tmp_path: Path) -> None:
    """A ``Sequence(Image())`` column: each row's images, in order, byte for byte."""
    feature = table.features["pictures"]
    inner = getattr(feature, "feature", None)
    assert isinstance(inner, datasets.Image), feature
    rows = table.cast_column("pictures", datasets.Sequence(datasets.Image(decode=False)))
    records = {
        json.loads(line)["id"]: json.loads(line)
        for line in (tmp_path / "out" / "result.jsonl").read_text().splitlines()
    }
    for row in rows:
        stored = records[row["id"]]["pictures"]
        assert len(row["pictures"]) == len(stored) == 3
        for image, entry in zip(row["pictures"], stored, strict=True):
            assert image["bytes"] == (tmp_path / "out" / entry["path"]).read_bytes()
            assert image["path"] == Path(entry["path"]).name


@pytest.mark.parametrize("sink", ["parquet", "hf"])
def test_several_images_per_record_load_as_a_sequence_of_images(
    tmp_path: Path, server: MockServer, sink: str
) -> None:
    """`n: 3` writes a list of three images per record: parquet and hf outputs (written
    beside a jsonl one) load it as `Sequence(Image())` with every image's bytes."""
    target = "out/result.parquet" if sink == "parquet" else "out/result_hf"
    sinks = (
        "[{alias: main, type: jsonl, file_path: out/result.jsonl}, "
        f"{{alias: arrow, type: {sink}, file_path: {target}}}]"
    )
    write_task(tmp_path, LIST_TASK.replace("SINK", sinks))
    write_data(tmp_path, [{"id": "a", "topic": "a fox"}, {"id": "b", "topic": "a whale"}])
    assert run(tmp_path, server).done == 2
    if sink == "parquet":
        files = str(tmp_path / target)
        table = datasets.load_dataset("parquet", data_files=files, split="train")
    else:
        table = datasets.load_from_disk(str(tmp_path / target))
    check_lists(table, tmp_path)
