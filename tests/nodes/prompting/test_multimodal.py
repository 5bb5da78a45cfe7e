"""Image and audio prompt parts, end to end over HTTP through both transports."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from grasp_core import RunOptions, RunResult, run_task
from grasp_core.mock_server import MockServer
from grasp_core.models.catalog import ModelCatalog
from tests.conftest import write_task
from tests.media_helpers import MediaHttpServer, audio_bytes, png_bytes


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    """A mock server that keeps every request body."""
    mock = MockServer(log_bodies=True, max_seconds=600)
    with mock.running():
        yield mock


def run(
    tmp_path: Path,
    server: MockServer,
    task_yaml: str,
    *,
    route: str = "openai/gpt-4o",
    transport: str = "auto",
) -> RunResult:
    server.reset()
    entry = {"model": route, "api_base": server.url + "/v1", "transport": transport}
    catalog = ModelCatalog.from_mapping({"m": entry}, source="test")
    return run_task(tmp_path / "task.yaml", RunOptions(models=catalog))


def outputs(tmp_path: Path) -> dict[str, dict[str, Any]]:
    lines = (tmp_path / "out.jsonl").read_text().splitlines()
    return {str(json.loads(line)["id"]): json.loads(line) for line in lines}


def sent_parts(server: MockServer) -> list[list[dict[str, Any]]]:
    """The content parts of the last message of every logged request, in id order."""
    bodies = [entry["body"] for entry in server.requests()]
    return [body["messages"][-1]["content"] for body in bodies]


def decode_data_url(url: str) -> tuple[str, bytes]:
    header, data = url.split(",", 1)
    assert header.startswith("data:")
    assert header.endswith(";base64")
    return header[5:].removesuffix(";base64"), base64.b64decode(data)


IMAGE_TASK = """
data_config:
  source: {type: disk, file_path: DATA}
  sink: {type: jsonl, file_path: out.jsonl}
graph_config:
  nodes:
    describe:
      node_type: llm
      output_keys: answer
      prompt:
        - system: "You answer questions about images."
        - user:
            - {type: text, text: "{question}"}
            - {type: image_url, image_url: "{image}"}
      model: {name: m}
  edges:
    - {from: START, to: describe}
    - {from: describe, to: END}
output_config:
  output_map:
    id: {from: id}
    answer: {from: answer}
    messages: {from: messages}
"""


def write_image_parquet(tmp_path: Path) -> dict[str, bytes]:
    images = {"a": png_bytes((255, 0, 0)), "b": png_bytes((0, 0, 255), size=12)}
    table = pa.table(
        {
            "id": list(images),
            "question": [f"what colour is {key}?" for key in images],
            "image": [{"bytes": data, "path": f"{key}.png"} for key, data in images.items()],
        }
    )
    pq.write_table(table, tmp_path / "images.parquet")
    return images


@pytest.mark.parametrize("transport", ["auto", "litellm"])
def test_image_bytes_from_parquet_reach_the_model_as_png_data_urls(
    tmp_path: Path, server: MockServer, transport: str
) -> None:
    """HF-style {bytes, path} image cells are sent as data:image/png URLs by both transports."""
    images = write_image_parquet(tmp_path)
    write_task(tmp_path, IMAGE_TASK.replace("DATA", "images.parquet"))
    result = run(tmp_path, server, IMAGE_TASK, transport=transport)
    assert result.done == 2, result.failure_reasons
    out = outputs(tmp_path)
    assert out["a"]["answer"] == "what colour is a? [1 image]"
    sent = {}
    for parts in sent_parts(server):
        assert [p["type"] for p in parts] == ["text", "image_url"]
        sent[parts[0]["text"]] = decode_data_url(parts[1]["image_url"]["url"])
    assert sent == {f"what colour is {k}?": ("image/png", data) for k, data in images.items()}


def test_media_is_not_stored_in_messages_or_the_journal(tmp_path: Path, server: MockServer) -> None:
    """The transcript keeps an {type: image} placeholder; no base64 reaches output or journal."""
    write_image_parquet(tmp_path)
    write_task(tmp_path, IMAGE_TASK.replace("DATA", "images.parquet"))
    result = run(tmp_path, server, IMAGE_TASK)
    assert result.done == 2, result.failure_reasons
    user = outputs(tmp_path)["b"]["messages"][0]
    assert user == {
        "role": "user",
        "content": [{"type": "text", "text": "what colour is b?"}, {"type": "image"}],
    }
    assert "base64" not in result.journal_path.read_text()
    assert "base64" not in (tmp_path / "out.jsonl").read_text()


SEVERAL_TASK = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out.jsonl}
graph_config:
  nodes:
    compare:
      node_type: llm
      output_keys: answer
      media: {audio_part: AUDIO}
      prompt:
        - user:
            - "Compare"
            - {type: image_url, image_url: {url: "{images}", detail: low}}
            - {type: text, text: "with the sound"}
            - {type: audio_url, audio_url: "{sound}"}
      model: {name: m}
  edges:
    - {from: START, to: compare}
    - {from: compare, to: END}
output_config:
  output_map:
    id: {from: id}
    answer: {from: answer}
"""


def write_media_files(tmp_path: Path) -> None:
    (tmp_path / "media").mkdir(parents=True, exist_ok=True)
    (tmp_path / "media" / "red.png").write_bytes(png_bytes((255, 0, 0)))
    (tmp_path / "media" / "green.png").write_bytes(png_bytes((0, 255, 0)))
    (tmp_path / "media" / "tone.flac").write_bytes(audio_bytes("FLAC"))
    (tmp_path / "media" / "tone.wav").write_bytes(audio_bytes("WAV"))


def test_list_fields_expand_and_several_fields_mix(tmp_path: Path, server: MockServer) -> None:
    """A list of paths gives one image part each; an audio field joins them in one message."""
    write_media_files(tmp_path)
    row = {"id": "r", "images": ["media/red.png", "media/green.png"], "sound": "media/tone.flac"}
    write_task(
        tmp_path,
        SEVERAL_TASK.replace("AUDIO", "audio_url"),
        {"data.jsonl": json.dumps(row) + "\n"},
    )
    result = run(tmp_path, server, SEVERAL_TASK)
    assert result.done == 1, result.failure_reasons
    assert outputs(tmp_path)["r"]["answer"] == "Compare\nwith the sound [2 images, 1 audio]"
    (parts,) = sent_parts(server)
    assert [p["type"] for p in parts] == ["text", "image_url", "image_url", "text", "audio_url"]
    assert parts[1]["image_url"]["detail"] == "low"
    assert decode_data_url(parts[2]["image_url"]["url"]) == (
        "image/png",
        (tmp_path / "media" / "green.png").read_bytes(),
    )
    mime, _ = decode_data_url(parts[4]["audio_url"]["url"])
    assert mime == "audio/flac"


@pytest.mark.parametrize(
    ("route", "transport", "audio_part", "expected"),
    [
        ("openai/gpt-4o-audio-preview", "auto", "auto", "input_audio"),
        ("openai/gpt-4o-audio-preview", "litellm", "auto", "input_audio"),
        ("hosted_vllm/Qwen/Qwen2-Audio", "auto", "auto", "audio_url"),
        ("hosted_vllm/Qwen/Qwen2-Audio", "litellm", "input_audio", "input_audio"),
    ],
)
def test_audio_part_style_follows_route_and_option(
    tmp_path: Path,
    server: MockServer,
    route: str,
    transport: str,
    audio_part: str,
    expected: str,
) -> None:
    """`auto` sends input_audio to openai/azure and audio_url elsewhere; FLAC input becomes
    WAV for input_audio, whose `format` names it."""
    write_media_files(tmp_path)
    table = pa.table({"id": ["r"], "images": ["media/red.png"], "sound": [audio_bytes("FLAC")]})
    pq.write_table(table, tmp_path / "data.parquet")
    task = SEVERAL_TASK.replace("AUDIO", audio_part).replace("data.jsonl", "data.parquet")
    write_task(tmp_path, task)
    result = run(tmp_path, server, task, route=route, transport=transport)
    assert result.done == 1, result.failure_reasons
    assert outputs(tmp_path)["r"]["answer"] == "Compare\nwith the sound [1 image, 1 audio]"
    (parts,) = sent_parts(server)
    audio = parts[-1]
    assert audio["type"] == expected
    if expected == "input_audio":
        assert audio["input_audio"]["format"] == "wav"
        assert base64.b64decode(audio["input_audio"]["data"])[:4] == b"RIFF"
    else:
        assert decode_data_url(audio["audio_url"]["url"])[0] == "audio/flac"


def test_bad_media_fails_only_that_record(tmp_path: Path, server: MockServer) -> None:
    """A missing file or undecodable value fails its record with the reason; others finish."""
    write_media_files(tmp_path)
    rows = [
        {"id": "ok", "images": ["media/red.png"], "sound": "media/tone.wav"},
        {"id": "missing", "images": ["media/nope.png"], "sound": "media/tone.wav"},
        {"id": "scheme", "images": ["media/red.png"], "sound": "ftp://host/tone.wav"},
        {"id": "wrong", "images": ["media/tone.wav"], "sound": "media/tone.wav"},
    ]
    write_task(
        tmp_path,
        SEVERAL_TASK.replace("AUDIO", "auto"),
        {"data.jsonl": "".join(json.dumps(r) + "\n" for r in rows)},
    )
    result = run(tmp_path, server, SEVERAL_TASK)
    assert (result.done, result.failed) == (1, 3)
    reasons = result.failures_path.read_text()
    assert "does not exist" in reasons
    assert "only http and https are fetched" in reasons
    assert "the value is audio/wav, but the part expects image" in reasons
    assert "graph_config.nodes.compare.prompt[0][1]" in reasons


URL_TASK = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out.jsonl}
graph_config:
  nodes:
    look:
      node_type: llm
      output_keys: answer
      media: {fetch_timeout: 5}
      prompt:
        - user: [{type: image_url, image_url: "{url}"}, "look"]
      model: {name: m}
  edges:
    - {from: START, to: look}
    - {from: look, to: END}
output_config:
  output_map:
    id: {from: id}
    answer: {from: answer}
"""


def test_remote_image_is_fetched_once_for_many_records(tmp_path: Path, server: MockServer) -> None:
    """Records naming the same http URL share one download per run."""
    with MediaHttpServer({"/cat.png": png_bytes()}).running() as media:
        rows = "".join(
            json.dumps({"id": i, "url": f"{media.url}/cat.png"}) + "\n" for i in range(6)
        )
        write_task(tmp_path, URL_TASK, {"data.jsonl": rows})
        result = run(tmp_path, server, URL_TASK)
        assert result.done == 6, result.failure_reasons
        assert media.hits["/cat.png"] == 1
    for parts in sent_parts(server):
        assert decode_data_url(parts[0]["image_url"]["url"]) == ("image/png", png_bytes())


def test_records_sharing_a_failed_download_fail_without_its_query(
    tmp_path: Path, server: MockServer
) -> None:
    """Records naming one URL whose download fails all fail with the same reason, and no
    reason shows the URL's query string (it may hold a signature)."""
    with MediaHttpServer({}, slow_seconds=0.4).running() as media:
        url = f"{media.url}/slow/cat.png?X-Amz-Signature=SECRET123"
        rows = "".join(json.dumps({"id": i, "url": url}) + "\n" for i in range(4))
        write_task(tmp_path, URL_TASK, {"data.jsonl": rows})
        result = run(tmp_path, server, URL_TASK)
        assert media.hits["/slow/cat.png"] == 1
    assert (result.done, result.failed) == (0, 4)
    lines = result.failures_path.read_text().splitlines()
    reasons = [json.loads(line)["reason"] for line in lines]
    assert all("cat.png?...: the server answered HTTP 404" in r for r in reasons)
    assert not any("SECRET123" in r for r in reasons)
    assert all("SECRET123" not in r for r in result.failure_reasons)


TEXT_PLACEHOLDER_TASK = """
data_config:
  source: {type: disk, file_path: data.parquet}
  sink: {type: jsonl, file_path: out.jsonl}
graph_config:
  nodes:
    caption:
      node_type: NODE
      output_keys: answer
      PROMPT
      model: {name: m}
  edges:
    - {from: START, to: caption}
    - {from: caption, to: END}
output_config:
  output_map:
    id: {from: id}
    answer: {from: answer}
"""


@pytest.mark.parametrize("node", ["llm", "multi_llm", "agent"])
def test_text_placeholder_holding_media_becomes_a_part(
    tmp_path: Path, server: MockServer, node: str
) -> None:
    """`- user: "Caption {image}"` with image bytes sends text then the image, for every
    node type that renders prompts."""
    pq.write_table(pa.table({"id": ["x"], "image": [png_bytes()]}), tmp_path / "data.parquet")
    prompt = 'prompt: [{user: "Caption {image}"}]'
    extra = {
        "llm": "",
        "multi_llm": "models: {one: {name: m}}\n      multi_llm_post_process: steps.first",
        "agent": "tools: [steps.noop]",
    }[node]
    task = TEXT_PLACEHOLDER_TASK.replace("NODE", node).replace("PROMPT", f"{prompt}\n      {extra}")
    if node == "multi_llm":
        task = task.replace("      model: {name: m}\n", "")
    steps = (
        "def first(results, state):\n    return {'answer': results['one']}\n"
        "def noop() -> str:\n    '''Do nothing.'''\n    return ''\n"
    )
    write_task(tmp_path, task, {"steps.py": steps})
    result = run(tmp_path, server, task)
    assert result.done == 1, result.failure_reasons
    assert outputs(tmp_path)["x"]["answer"] == "Caption [1 image]"
    (parts,) = sent_parts(server)
    assert parts[0] == {"type": "text", "text": "Caption "}
    assert decode_data_url(parts[1]["image_url"]["url"]) == ("image/png", png_bytes())
