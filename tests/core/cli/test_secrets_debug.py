"""A key from the environment never reaches `--debug` output or any file a run writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grasp_core.mock_server import MockServer
from tests.conftest import write_task

SECRET = "sk-env-DEBUG-SECRET-987654321"

TASK = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out/out.jsonl}
graph_config:
  nodes:
    ask: {node_type: llm, prompt: [{user: "{p}"}], model: {name: m}}
  edges: [{from: START, to: ask}, {from: ask, to: END}]
"""

PROMPTS = ["fine", "[[mock:500]] always broken", "[[mock:429:1:retry_after=0]] slow start"]


@pytest.mark.slow
@pytest.mark.parametrize("transport", ["auto", "litellm"])
def test_debug_run_never_shows_the_key(
    tmp_path: Path, mock_server: MockServer, transport: str
) -> None:
    """`grasp --debug run` with a failing record: the key is in no output and no file."""
    data = "".join(json.dumps({"id": i, "p": p}) + "\n" for i, p in enumerate(PROMPTS))
    task = write_task(tmp_path, TASK, {"data.jsonl": data})
    models = tmp_path / "models.yaml"
    models.write_text(
        f"m:\n  model: openai/m\n  api_base: {mock_server.url}/v1\n"
        f"  api_key_env: GRASP_DEBUG_TEST_KEY\n  max_retries: 1\n  transport: {transport}\n",
        encoding="utf-8",
    )
    env = {**os.environ, "GRASP_DEBUG_TEST_KEY": SECRET, "LITELLM_LOG": "DEBUG"}
    command = [sys.executable, "-m", "grasp_core", "--debug", "run", str(task)]
    proc = subprocess.run(
        [*command, "--models", str(models)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr[-2000:]  # one record failed
    assert "record failed" in proc.stderr or "failed" in proc.stdout
    assert SECRET not in proc.stdout + proc.stderr
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p != models]
    assert any(p.name == "out.failures.jsonl" for p in written)
    for path in written:
        assert SECRET not in path.read_text(errors="replace"), path
