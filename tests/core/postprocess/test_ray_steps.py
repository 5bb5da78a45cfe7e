"""With the Ray executor, post-process steps run once, on the driver, over the merged output:
duplicates that landed in different shards are found, and no shard curates its own part."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grasp_core import RunOptions, run_task
from grasp_core.mock_server import MockServer
from grasp_core.models.catalog import ModelCatalog, ModelSpec
from tests.conftest import write_task
from tests.core.postprocess.helpers import read_jsonl

ray = pytest.importorskip("ray")

pytestmark = pytest.mark.slow

TASK = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out/answers.jsonl}
graph_config:
  nodes:
    ask:
      node_type: llm
      output_keys: answer
      prompt: [{user: "{text}"}]
      model: {name: m}
  edges:
    - {from: START, to: ask}
    - {from: ask, to: END}
output_config:
  output_map:
    id: {from: id}
    answer: {from: answer}
post_process:
  - dedup: {fields: [answer]}
"""


def test_steps_run_once_over_the_merged_output(
    cluster: None, tmp_path: Path, mock_server: MockServer
) -> None:
    """30 records saying 10 things, 3 shards: the curated output keeps the first of each
    (by id order of the merged output), and the shards' folders hold no curated file."""
    rows = "".join(
        json.dumps({"id": f"r{i:02d}", "text": f"say {i % 10}"}) + "\n" for i in range(30)
    )
    task = write_task(tmp_path, TASK, {"data.jsonl": rows})
    catalog = ModelCatalog(specs={"m": ModelSpec(model="openai/m", max_concurrency=4)})
    options = RunOptions(mock=mock_server.url, models=catalog, executor="ray", num_shards=3)
    result = run_task(task, options)
    assert result.done == 30
    curated = read_jsonl(tmp_path / "out" / "answers.curated.jsonl")
    assert sorted(r["answer"] for r in curated) == [f"say {i}" for i in range(10)]
    removed = read_jsonl(tmp_path / "out" / "answers.removed.jsonl")
    assert len(removed) == 20
    assert result.metrics["post_process"]["kept"] == 10
    shard_files = [p.name for p in tmp_path.rglob("*") if "curated" in p.name]
    assert shard_files == ["answers.curated.jsonl"]
    provenance = json.loads((tmp_path / "out" / "answers.provenance.json").read_text())
    assert provenance["records"]["written"] == 30
    assert provenance["post_process"]["kept"] == 10


def test_a_ray_runs_hf_card_tells_how_it_was_made(
    cluster: None, tmp_path: Path, mock_server: MockServer
) -> None:
    """The merged hf output of a Ray run is carded with the run's facts, as a local run's."""
    from huggingface_hub import DatasetCard

    sink = "sink: {type: hf, file_path: out/qa, card: {license: mit}}"
    task_text = TASK.replace("sink: {type: jsonl, file_path: out/answers.jsonl}", sink)
    rows = "".join(json.dumps({"id": f"r{i}", "text": f"say {i}"}) + "\n" for i in range(6))
    task = write_task(tmp_path, task_text, {"data.jsonl": rows})
    catalog = ModelCatalog(specs={"m": ModelSpec(model="openai/m", max_concurrency=4)})
    options = RunOptions(mock=mock_server.url, models=catalog, executor="ray", num_shards=2, seed=3)
    assert run_task(task, options).done == 6
    card = DatasetCard.load(tmp_path / "out" / "qa" / "README.md")
    assert card.data.to_dict()["license"] == "mit"
    assert "| model calls | 6 |" in card.text
    assert "| seed | 3 |" in card.text
