"""Small Hugging Face datasets built in tmp_path: hub-style repository folders, folders
written by ``save_to_disk``, and PNG/WAV bytes for media columns."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import soundfile
from PIL import Image


def png(shade: int) -> bytes:
    """A 3x2 PNG of one colour."""
    buffer = io.BytesIO()
    Image.new("RGB", (3, 2), (shade, 255 - shade, 7)).save(buffer, "PNG")
    return buffer.getvalue()


def wav(frequency: float) -> bytes:
    """A 0.05 s mono WAV tone at 8 kHz."""
    buffer = io.BytesIO()
    samples = np.sin(np.arange(400) * frequency / 8000 * 2 * np.pi).astype("float32")
    soundfile.write(buffer, samples, 8000, format="WAV")
    return buffer.getvalue()


def rows(prefix: str, n: int, *, ids: bool = True) -> list[dict[str, Any]]:
    return [
        {"id": f"{prefix}{i}" if ids else "", "text": f"{prefix} text {i}", "n": i}
        for i in range(n)
    ]


def make_repo(
    folder: Path,
    splits: dict[str, list[dict[str, Any]]],
    *,
    file_format: str = "parquet",
    config: str | None = None,
) -> Path:
    """A dataset repository as on the hub: ``data/<split>-00000-of-00001.<ext>`` (under
    ``<config>/`` with a README declaring it, when ``config`` is given)."""
    base = folder / config if config else folder
    (base / "data").mkdir(parents=True, exist_ok=True)
    for split, records in splits.items():
        target = base / "data" / f"{split}-00000-of-00001.{file_format}"
        if file_format == "parquet":
            pq.write_table(pa.Table.from_pylist(records), target)
        else:
            target.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    if config:
        lines = ["---", "configs:", f"- config_name: {config}", "  data_files:"]
        for split in splits:
            lines += [f"  - split: {split}", f"    path: {config}/data/{split}-*"]
        (folder / "README.md").write_text("\n".join([*lines, "---", ""]), encoding="utf-8")
    return folder


def media_records(n: int) -> list[dict[str, Any]]:
    """Records with an image and an audio column as ``{"bytes", "path"}`` dicts."""
    return [
        {
            "id": f"m{i}",
            "image": {"bytes": png(40 * i), "path": f"img{i}.png"},
            "audio": {"bytes": wav(200 + 100 * i), "path": f"tone{i}.wav"},
            "caption": f"picture {i}",
        }
        for i in range(n)
    ]


def save_media_dataset(folder: Path, n: int) -> Path:
    """A ``save_to_disk`` folder with ``Image`` and ``Audio`` features (built without
    decoding: ``Audio`` would need torch to encode)."""
    import datasets

    dataset = datasets.Dataset.from_list(media_records(n))
    dataset = dataset.cast_column("image", datasets.Image(decode=False))
    dataset = dataset.cast_column("audio", datasets.Audio(decode=False))
    dataset.save_to_disk(str(folder))
    return folder
