"""A run making images killed with SIGKILL, then resumed: every record once, one file per
image, no leftover temporary file, and every file one a record names."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grasp_core.mock_server import Latency, MockServer
from tests.conftest import REPO_ROOT, write_task

TASK = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out/result.jsonl}
graph_config:
  nodes:
    draw:
      node_type: image
      model: {name: painter}
      prompt: "picture {topic}"
      size: 96x96
      output_keys: picture
  edges:
    - {from: START, to: draw}
    - {from: draw, to: END}
output_config:
  output_map:
    id: {from: id}
    picture: {from: picture}
"""


@pytest.mark.slow
def test_sigkill_mid_run_then_resume_stores_each_image_once(tmp_path: Path) -> None:
    """Killed while storing images and resumed: each record is written once, each image is
    one file named by its digest, and no file is an orphan or a temporary left behind."""
    n = 60
    rows = "".join(json.dumps({"id": f"r{i:03d}", "topic": f"topic {i}"}) + "\n" for i in range(n))
    models = "painter:\n  model: openai/gpt-image-1\n  max_concurrency: 8\n"
    task = write_task(tmp_path, TASK, {"data.jsonl": rows, "models.yaml": models})
    media = tmp_path / "out" / "result.media" / "draw"
    server = MockServer(latency=Latency.fixed(0.04), max_seconds=300)
    with server.running() as url:
        cmd = [sys.executable, "-m", "grasp_core", "run", str(task), "--mock-url", url, "--quiet"]
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
        proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # wait for some images, whatever the machine's pace
            if media.is_dir() and len(list(media.iterdir())) >= 10:
                break
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        resumed = subprocess.run([*cmd, "--resume"], env=env, capture_output=True, timeout=120)
        assert resumed.returncode == 0, resumed.stderr.decode()
    records = [
        json.loads(line) for line in (tmp_path / "out/result.jsonl").read_text().splitlines()
    ]
    assert sorted(r["id"] for r in records) == [f"r{i:03d}" for i in range(n)]
    paths = {r["picture"]["path"] for r in records}
    assert len(paths) == n
    files = {f"result.media/draw/{p.name}" for p in media.iterdir()}
    assert files == paths
    for record in records:
        stored = tmp_path / "out" / record["picture"]["path"]
        assert stored.stat().st_size == record["picture"]["size"]
