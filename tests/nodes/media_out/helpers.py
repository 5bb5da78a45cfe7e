"""Shared helpers of the media-output tests: the mock server's models and the run's files."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import httpx

from grasp_core import RunOptions, RunResult, run_task
from grasp_core.mock_server import MockServer
from grasp_core.models.catalog import ModelCatalog

BASE64_HEADS = ("iVBORw0KGgo", "UklGR")
"""How base64 of a PNG and of a RIFF (WAV) file starts."""


def run(
    tmp_path: Path, server: MockServer, extra: dict[str, Any] | None = None, **options: Any
) -> RunResult:
    """Run the task in ``tmp_path`` with the models below (``extra`` adds to their entries)."""
    api = {"api_base": server.url + "/v1", "max_retries": 2}
    entries = {
        "painter": {"model": "openai/gpt-image-1", **api},
        "voice": {"model": "openai/tts-1", **api},
        "ear": {"model": "openai/whisper-1", **api},
        "m": {"model": "openai/gpt-4o", **api},
    }
    for name, added in (extra or {}).items():
        entries[name] = {**entries.get(name, api), **added}
    catalog = ModelCatalog.from_mapping(entries, source="test")
    return run_task(tmp_path / "task.yaml", RunOptions(models=catalog, **options))


def write_data(tmp_path: Path, rows: list[dict[str, Any]]) -> None:
    text = "".join(json.dumps(row) + "\n" for row in rows)
    (tmp_path / "data.jsonl").write_text(text, encoding="utf-8")


def outputs(tmp_path: Path) -> dict[str, dict[str, Any]]:
    lines = (tmp_path / "out" / "result.jsonl").read_text().splitlines()
    return {str(json.loads(line)["id"]): json.loads(line) for line in lines}


def served_image(server: MockServer, prompt: str, **body: Any) -> bytes:
    """What the mock serves for this generation request (it is deterministic)."""
    payload = {"model": "gpt-image-1", "prompt": prompt, **body}
    response = httpx.post(server.url + "/v1/images/generations", json=payload, timeout=5)
    return base64.b64decode(response.json()["data"][0]["b64_json"])


def assert_no_base64(tmp_path: Path) -> None:
    """No output file of the run holds base64 of a PNG or a WAV."""
    for path in (tmp_path / "out").glob("*.jsonl"):
        text = path.read_text()
        for head in BASE64_HEADS:
            assert head not in text, f"base64 media in {path.name}"
