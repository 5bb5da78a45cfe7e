"""A media model on the fast lane (an ``openai/`` route) never imports litellm: the import
(seconds of start-up) happens only at the first call that goes through litellm."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from grasp_core.mock_server import MockServer
from tests.conftest import write_task

TASK = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out/result.jsonl}
graph_config:
  nodes:
    draw:
      node_type: image
      model: {name: painter}
      prompt: "a picture of {topic}"
      size: 16x16
      output_keys: picture
  edges:
    - {from: START, to: draw}
    - {from: draw, to: END}
"""

RUN = """
import json, sys
from pathlib import Path
from grasp_core import RunOptions, run_task
result = run_task(Path(sys.argv[1]), RunOptions(mock=sys.argv[2], overwrite=True, cache=False))
print(json.dumps({"done": result.done, "litellm": "litellm" in sys.modules}))
"""


def _run(tmp_path: Path, server: MockServer, transport: str) -> dict[str, object]:
    models = f"painter:\n  model: openai/gpt-image-1\n{transport}"
    rows = "".join(json.dumps({"id": f"r{i}", "topic": f"t{i}"}) + "\n" for i in range(3))
    task = write_task(tmp_path, TASK, {"data.jsonl": rows, "models.yaml": models})
    done = subprocess.run(
        [sys.executable, "-c", RUN, str(task), server.url],
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )
    answer: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


def test_a_fast_lane_media_run_never_imports_litellm(
    tmp_path: Path, mock_server: MockServer
) -> None:
    lane = _run(tmp_path / "lane", mock_server, "")
    through_litellm = _run(tmp_path / "litellm", mock_server, "  transport: litellm\n")
    assert lane == {"done": 3, "litellm": False}
    assert through_litellm == {"done": 3, "litellm": True}
