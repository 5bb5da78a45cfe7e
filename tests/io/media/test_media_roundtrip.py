"""Media round trip: Image/Audio in from an hf dataset, back out as Image/Audio features from
the parquet and hf sinks (byte-identical), and as base64 text from the text sinks."""

from __future__ import annotations

import base64
import csv
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from grasp_core import run_task
from grasp_io.sinks import JsonlSink, ParquetSink
from tests.conftest import copy_task_yaml, write_task
from tests.io.hf_helpers import media_records, save_media_dataset
from tests.media_helpers import bomb_png

TASK = """
data_config:
  source: {type: hf, repo_id: media}
  sink:
    - {type: parquet, file_path: out/media.parquet, alias: pq}
    - {type: hf, file_path: out/media_ds, alias: ds}
    - {type: jsonl, file_path: out/media.jsonl, alias: lines}
    - {type: csv, file_path: out/media.csv, alias: table}
graph_config:
  nodes:
    describe: {node_type: lambda, lambda: steps.describe, output_keys: size}
  edges:
    - {from: START, to: describe}
    - {from: describe, to: END}
"""

STEPS = "def describe(state):\n    return {'size': len(state['image']['bytes'])}\n"


def undecoded(dataset: object) -> list[dict[str, object]]:
    import datasets

    assert isinstance(dataset, datasets.Dataset)
    assert isinstance(dataset.features["image"], datasets.Image)
    assert isinstance(dataset.features["audio"], datasets.Audio)
    dataset = dataset.cast_column("audio", datasets.Audio(decode=False))
    dataset = dataset.cast_column("image", datasets.Image(decode=False))
    return by_id(dict(row) for row in dataset)


def by_id(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records in id order: sinks hold them in the order they finished."""
    return sorted(records, key=lambda record: str(record["id"]))


def test_media_survive_a_run_into_every_sink(tmp_path: Path) -> None:
    """parquet and hf outputs load as Image/Audio with the same bytes; text sinks hold base64."""
    import datasets

    save_media_dataset(tmp_path / "media", 3)
    task = write_task(tmp_path, TASK, {"steps.py": STEPS})
    result = run_task(task)
    assert (result.done, result.failed) == (3, 0)
    expected = [{**r, "size": len(r["image"]["bytes"])} for r in media_records(3)]

    from_parquet = datasets.load_dataset(
        "parquet",
        data_files=str(tmp_path / "out/media.parquet"),
        split="train",
        cache_dir=str(tmp_path / "cache"),
    )
    assert undecoded(from_parquet) == expected
    assert undecoded(datasets.load_from_disk(str(tmp_path / "out/media_ds"))) == expected
    assert by_id(result.records()) == expected  # the first sink, read back

    lines = by_id(json.loads(x) for x in (tmp_path / "out/media.jsonl").read_text().splitlines())
    assert [base64.b64decode(r["audio"]["bytes"]) for r in lines] == [
        r["audio"]["bytes"] for r in expected
    ]
    with (tmp_path / "out/media.csv").open(newline="") as text:
        rows = by_id(csv.DictReader(text))
    cells = [json.loads(row["image"]) for row in rows]
    assert [base64.b64decode(c["bytes"]) for c in cells] == [r["image"]["bytes"] for r in expected]


def test_explicit_media_option_types_path_only_values(tmp_path: Path) -> None:
    """``media: {photo: image}`` stores path-only values as an Image column."""
    import pyarrow.parquet as pq

    sink = ParquetSink(tmp_path / "p.parquet", media={"photo": "image"})
    sink.restore([])
    sink.write([{"photo": {"bytes": None, "path": "a.unknownext"}}])
    sink.finalize()
    metadata = pq.read_schema(tmp_path / "p.parquet").metadata[b"huggingface"]
    assert json.loads(metadata)["info"]["features"] == {"photo": {"_type": "Image"}}


def test_unrecognised_bytes_stay_a_plain_struct(tmp_path: Path) -> None:
    """Bytes that are neither image nor audio are stored as they are, untyped."""
    import pyarrow.parquet as pq

    sink = ParquetSink(tmp_path / "p.parquet")
    sink.restore([])
    sink.write([{"blob": {"bytes": b"\x00\x01not media", "path": None}}])
    sink.finalize()
    table = pq.read_table(tmp_path / "p.parquet")
    assert table.schema.metadata is None or b"huggingface" not in table.schema.metadata
    assert table.to_pylist() == [{"blob": {"bytes": b"\x00\x01not media", "path": None}}]


def test_decompression_bomb_bytes_stay_a_plain_struct(tmp_path: Path) -> None:
    """Image bytes claiming more pixels than Pillow's bomb limit do not stop the run: the
    sink keeps them, byte for byte, as an untyped struct (nothing is decoded or lost)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    bomb = bomb_png()
    rows = [{"id": str(i), "image": {"bytes": bomb, "path": None}} for i in range(3)]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "data.parquet")
    task = write_task(
        tmp_path,
        copy_task_yaml("{type: parquet, file_path: out.parquet}").replace(
            "data.jsonl", "data.parquet"
        ),
        {"steps.py": "def copy(state):\n    return len(state['image']['bytes'])\n"},
    )
    result = run_task(task)
    assert (result.done, result.failed) == (3, 0)
    table = pq.read_table(tmp_path / "out.parquet")
    assert table.schema.metadata is None or b"huggingface" not in table.schema.metadata
    assert [(r["image"]["bytes"], r["copied"]) for r in table.to_pylist()] == [(bomb, 45)] * 3


def test_jsonl_sink_writes_top_level_bytes_as_base64(tmp_path: Path) -> None:
    """A bytes value is never a crash or a repr in a text sink: it is base64."""
    sink = JsonlSink(tmp_path / "b.jsonl")
    sink.restore([])
    sink.write([{"raw": b"\xff\x00\x10"}])
    sink.finalize()
    assert json.loads((tmp_path / "b.jsonl").read_text()) == {"raw": "/wAQ"}
