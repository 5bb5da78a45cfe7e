"""litellm is imported at a litellm-routed model's first call the response cache does not
answer: a rerun answered wholly from the cache never imports it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from grasp_core.mock_server import MockServer
from tests.conftest import write_task

TASK = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out.jsonl}
graph_config:
  nodes:
    write:
      node_type: llm
      output_keys: text
      prompt: [{user: "write about {topic}"}]
      model: {name: m}
  edges:
    - {from: START, to: write}
    - {from: write, to: END}
output_config:
  output_map:
    id: {from: id}
    text: {from: text}
"""

RUN = """
import json, sys
from pathlib import Path
from grasp_core import RunOptions, run_task
options = RunOptions(mock=sys.argv[2], overwrite=True, cache_dir=Path(sys.argv[3]))
result = run_task(Path(sys.argv[1]), options)
totals = result.metrics["totals"]
print(json.dumps({"done": result.done, "calls": totals["model_calls"],
                  "cache": totals["cache"], "litellm": "litellm" in sys.modules}))
"""


def _run(task: Path, server: MockServer, cache: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", RUN, str(task), server.url, str(cache)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_a_rerun_from_the_cache_never_imports_litellm(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """The first run of a `transport: litellm` model imports litellm to call it; the
    rerun, every call a cache hit, finishes without importing it."""
    rows = "".join(json.dumps({"id": f"r{i}", "topic": f"t{i}"}) + "\n" for i in range(3))
    models = "m: {model: openai/m, transport: litellm}\n"
    task = write_task(tmp_path, TASK, {"data.jsonl": rows, "models.yaml": models})
    cache = tmp_path / "cache"
    first = _run(task, mock_server, cache)
    assert (first["done"], first["calls"], first["litellm"]) == (3, 3, True)
    again = _run(task, mock_server, cache)
    assert (again["done"], again["calls"], again["cache"]["hits"]) == (3, 0, 3)
    assert again["litellm"] is False
