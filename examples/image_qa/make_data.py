"""Build the tiny image dataset this example reads (a Hugging Face dataset on disk).

Run from anywhere: ``python examples/image_qa/make_data.py``. It writes ``data/shapes``:
six 32x32 PNG images of coloured shapes with a question each, as an ``Image`` column
(rows hold ``{bytes, path}``), so the task reads it with ``type: hf``.
"""

from __future__ import annotations

import io
from pathlib import Path

from datasets import Dataset, Features, Image, Value
from PIL import Image as PILImage
from PIL import ImageDraw

HERE = Path(__file__).parent
SHAPES = [
    ("red", (220, 40, 40), "circle"),
    ("green", (40, 180, 60), "square"),
    ("blue", (40, 80, 220), "triangle"),
    ("yellow", (230, 210, 40), "circle"),
    ("purple", (140, 60, 170), "square"),
    ("orange", (240, 140, 30), "triangle"),
]


def draw(color: tuple[int, int, int], shape: str) -> bytes:
    image = PILImage.new("RGB", (32, 32), "white")
    pen = ImageDraw.Draw(image)
    if shape == "circle":
        pen.ellipse((4, 4, 28, 28), fill=color)
    elif shape == "square":
        pen.rectangle((6, 6, 26, 26), fill=color)
    else:
        pen.polygon([(16, 3), (29, 28), (3, 28)], fill=color)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def main() -> None:
    rows = {
        "id": [f"shape-{i}" for i in range(len(SHAPES))],
        "question": ["What shape is in this picture, and what colour is it?"] * len(SHAPES),
        "image": [
            {"bytes": draw(color, shape), "path": f"{name}_{shape}.png"}
            for name, color, shape in SHAPES
        ],
        "label": [f"a {name} {shape}" for name, _, shape in SHAPES],
    }
    text = Value("string")
    features = Features({"id": text, "question": text, "image": Image(), "label": text})
    Dataset.from_dict(rows, features=features).save_to_disk(str(HERE / "data" / "shapes"))


if __name__ == "__main__":
    main()
