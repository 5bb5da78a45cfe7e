"""Build the tiny audio dataset this example reads (a Hugging Face dataset on disk).

Run from anywhere: ``python examples/audio_classification/make_data.py``. It writes
``data/sounds``: eight quarter-second 8 kHz WAV clips (steady tones, rising chirps, noise
and near-silence) with their label, stored as an ``Audio`` column is (``{bytes, path}``).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import soundfile
from datasets import Dataset, Features, Value

HERE = Path(__file__).parent
RATE = 8000
SECONDS = 0.25


def clip(kind: str, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    t = np.arange(int(RATE * SECONDS)) / RATE
    if kind == "tone":
        samples = 0.4 * np.sin(2 * np.pi * rng.uniform(300, 900) * t)
    elif kind == "chirp":
        start, end = rng.uniform(200, 400), rng.uniform(1200, 2000)
        samples = 0.4 * np.sin(2 * np.pi * (start + (end - start) * t / SECONDS / 2) * t)
    elif kind == "noise":
        samples = rng.uniform(-0.4, 0.4, t.size)
    else:
        samples = rng.uniform(-0.002, 0.002, t.size)
    out = io.BytesIO()
    soundfile.write(out, samples.astype(np.float32), RATE, format="WAV", subtype="PCM_16")
    return out.getvalue()


def main() -> None:
    kinds = ["tone", "chirp", "noise", "silence"] * 2
    rows = {
        "id": [f"clip-{i}" for i in range(len(kinds))],
        "audio": [{"bytes": clip(k, i), "path": f"clip-{i}.wav"} for i, k in enumerate(kinds)],
        "label": kinds,
    }
    # The storage of an `Audio` column; datasets' own Audio encoder needs torchcodec.
    audio = {"bytes": Value("binary"), "path": Value("string")}
    features = Features({"id": Value("string"), "audio": audio, "label": Value("string")})
    Dataset.from_dict(rows, features=features).save_to_disk(str(HERE / "data" / "sounds"))


if __name__ == "__main__":
    main()
