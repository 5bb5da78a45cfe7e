"""The paper's B.3 (image QA) and B.4 (audio classification) examples, run end to end."""

from __future__ import annotations

import base64
import io
import json
import runpy
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import soundfile
from PIL import Image

from grasp_core import RunOptions, run_task
from grasp_core.mock_server import MockServer
from grasp_core.models.catalog import ModelCatalog
from tests.conftest import REPO_ROOT

EXAMPLES = REPO_ROOT / "examples"


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    mock = MockServer(log_bodies=True, max_seconds=600)
    with mock.running():
        yield mock


def copy_example(name: str, tmp_path: Path) -> Path:
    """The example's task files in ``tmp_path``, with its dataset rebuilt there."""
    folder = tmp_path / name
    shutil.copytree(EXAMPLES / name, folder, ignore=shutil.ignore_patterns("data", "output"))
    runpy.run_path(str(folder / "make_data.py"), run_name="__main__")
    assert (folder / "data").is_dir()
    return folder


def user_parts(server: MockServer) -> list[list[dict[str, Any]]]:
    return [entry["body"]["messages"][-1]["content"] for entry in server.requests()]


def data_url(url: str) -> tuple[str, bytes]:
    header, payload = url.split(",", 1)
    return header.removeprefix("data:").removesuffix(";base64"), base64.b64decode(payload)


def test_b3_image_qa_sends_each_image_as_a_png_data_url(tmp_path: Path, server: MockServer) -> None:
    """B.3: both nodes send the record's PNG; answers echo the question with `[1 image]`."""
    folder = copy_example("image_qa", tmp_path)
    server.reset()
    result = run_task(folder / "task.yaml", RunOptions(mock=server.url))
    assert (result.done, result.failed) == (6, 0), result.failure_reasons
    rows = [json.loads(line) for line in result.output_paths[0].read_text().splitlines()]
    assert {row["answer"] for row in rows} == {
        "What shape is in this picture, and what colour is it? [1 image]"
    }
    assert {row["image_file"] for row in rows} >= {"red_circle.png", "blue_triangle.png"}
    sent = user_parts(server)
    assert len(sent) == 12
    sizes = set()
    for parts in sent:
        image = parts[-1]["image_url"]
        mime, data = data_url(image["url"])
        assert mime == "image/png"
        with Image.open(io.BytesIO(data)) as decoded:
            sizes.add(decoded.size)
    assert sizes == {(32, 32)}
    assert sum(1 for parts in sent if parts[-1]["image_url"].get("detail") == "low") == 6


@pytest.mark.parametrize(
    ("route", "expected"),
    [("openai/gpt-4o-audio-preview", "input_audio"), ("hosted_vllm/Qwen2-Audio", "audio_url")],
)
def test_b4_audio_classification_sends_wav_in_the_route_s_audio_part(
    tmp_path: Path, server: MockServer, route: str, expected: str
) -> None:
    """B.4: each clip goes as WAV: `input_audio` (format wav) to OpenAI routes, an
    `audio_url` data URL to vLLM; the label lambda scores the echoed reply."""
    folder = copy_example("audio_classification", tmp_path)
    entry = {"model": route, "api_base": server.url + "/v1"}
    catalog = ModelCatalog.from_mapping({"listener": entry}, source="test")
    server.reset()
    result = run_task(folder / "task.yaml", RunOptions(models=catalog))
    assert (result.done, result.failed) == (8, 0), result.failure_reasons
    rows = [json.loads(line) for line in result.output_paths[0].read_text().splitlines()]
    assert {row["predicted"] for row in rows} == {"tone"}  # the echo lists "tone" first
    assert sum(row["correct"] for row in rows) == 2
    assert all(row["reply"].endswith("[1 audio]") for row in rows)
    for parts in user_parts(server):
        audio = parts[-1]
        assert audio["type"] == expected
        if expected == "input_audio":
            assert audio["input_audio"]["format"] == "wav"
            wav = base64.b64decode(audio["input_audio"]["data"])
        else:
            mime, wav = data_url(audio["audio_url"]["url"])
            assert mime == "audio/wav"
        samples, rate = soundfile.read(io.BytesIO(wav))
        assert (rate, len(samples)) == (8000, 2000)
