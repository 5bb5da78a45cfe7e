"""The hf sink's dataset card: `README.md` with Hugging Face's metadata (license, task
categories, size category, languages, tags, `configs` for the split) and how the data was
made, plus `task.yaml`, written by save_to_disk and pushed with the data (to a recorder,
never the network); `huggingface_hub`'s `DatasetCard` loads it, and a key set in the
environment never appears in it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from huggingface_hub import DatasetCard

from grasp_core import RunOptions, run_task
from grasp_core.mock_server import MockServer
from grasp_io.sinks import HfSink, HfSinkConfig
from grasp_io.sinks._card import size_category
from tests.conftest import write_task
from tests.io.hf_helpers import rows
from tests.io.sinks.test_hf import RecordingHub

PROVENANCE: dict[str, Any] = {
    "grasp_version": "9.9.9",
    "task": {"name": "qa", "yaml": "graph_config:\n  nodes: {}\n"},
    "models": {"m": {"model": "openai/gpt-4o-mini"}},
    "seed": 3,
    "sources": [{"type": "hf", "repo_id": "org/data", "revision": "abc123"}],
    "run": {"started": "2026-01-01T00:00:00+00:00", "finished": "2026-01-01T00:01:00+00:00"},
    "usage": {"model_calls": 12, "prompt_tokens": 340, "completion_tokens": 560, "cost_usd": 0.01},
}
CARD = {
    "license": "mit",
    "task_categories": ["question-answering"],
    "language": ["en"],
    "pretty_name": "Planted QA",
}


def sink_for(tmp_path: Path, **options: Any) -> HfSink:
    config = HfSinkConfig.model_validate({"type": "hf", "file_path": "ds", **options})
    return HfSink.from_config(config, tmp_path)


def test_save_to_disk_writes_a_card_that_datasetcard_loads(tmp_path: Path) -> None:
    """The card's metadata is what the config says, with the size category and a config
    naming the split's files; its text tells how the data was made; `task.yaml` holds the
    task; the folder still loads as a dataset."""
    sink = sink_for(tmp_path, split="test", card=CARD)
    sink.set_provenance(PROVENANCE)
    sink.restore([])
    sink.write(rows("a", 3))
    sink.finalize()
    card = DatasetCard.load(tmp_path / "ds" / "README.md")
    data = card.data.to_dict()
    assert data["license"] == "mit"
    assert data["task_categories"] == ["question-answering"]
    assert data["language"] == ["en"]
    assert data["size_categories"] == ["n<1K"]
    assert data["tags"] == ["synthetic", "grasp"]
    assert data["pretty_name"] == "Planted QA"
    assert data["configs"] == [
        {"config_name": "default", "data_files": [{"split": "test", "path": "data-*.arrow"}]}
    ]
    assert "# Planted QA" in card.text
    assert "One split, `test`, of 3 records" in card.text
    assert "- `text`: string" in card.text
    assert "| seed | 3 |" in card.text
    assert "| model calls | 12 |" in card.text
    assert "repo_id `org/data`, revision `abc123`" in card.text
    assert "grasp run task.yaml --seed 3" in card.text
    assert (tmp_path / "ds" / "task.yaml").read_text() == PROVENANCE["task"]["yaml"]
    import datasets

    assert datasets.load_from_disk(str(tmp_path / "ds")).num_rows == 3


def test_the_cards_configs_name_the_files_really_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The saved folder's card names its `data-*.arrow` files and the pushed card the parquet
    shards: each glob matches data files in its place, and `datasets` reading the files the
    card names (offline) gets every row of the split."""
    import datasets

    sink = sink_for(tmp_path, split="test", card=CARD)
    sink.restore([])
    sink.write(rows("a", 3))
    sink.finalize()
    folder = tmp_path / "ds"
    [config] = DatasetCard.load(folder / "README.md").data.to_dict()["configs"]
    [files] = config["data_files"]
    assert sorted(folder.glob(files["path"]))
    loaded = datasets.load_dataset(
        "arrow", data_files={files["split"]: str(folder / files["path"])}, cache_dir=str(tmp_path)
    )
    assert loaded["test"].to_list() == datasets.load_from_disk(str(folder)).to_list()
    assert len(loaded["test"]) == 3

    hub = RecordingHub()
    pushed = sink_for(tmp_path, file_path="ds2", push_to_hub=True, repo_id="me/qa", card=CARD)
    pushed.api_factory = lambda token: hub
    pushed.restore([])
    pushed.write(rows("a", 2))
    pushed.finalize()
    [config] = DatasetCard(hub.files["README.md"].decode()).data.to_dict()["configs"]
    [files] = config["data_files"]
    glob = files["path"]
    assert [name for name in hub.files if Path(name).match(glob)] == [
        "data/train-00000-of-00001.parquet"
    ]


def test_push_uploads_the_card_and_the_task(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """push_to_hub uploads `README.md` and `task.yaml` beside the shards (to a recorder)."""
    monkeypatch.setenv("GRASP_TEST_HF_TOKEN", "hf_secretvalue123")
    hub = RecordingHub()
    sink = sink_for(
        tmp_path, push_to_hub=True, repo_id="me/qa", token_env="GRASP_TEST_HF_TOKEN", card=CARD
    )
    sink.api_factory = lambda token: hub
    sink.set_provenance(PROVENANCE)
    sink.restore([])
    sink.write(rows("a", 2))
    sink.finalize()
    assert sorted(hub.files) == ["README.md", "data/train-00000-of-00001.parquet", "task.yaml"]
    card = DatasetCard(hub.files["README.md"].decode())
    assert card.data.to_dict()["configs"][0]["data_files"] == [
        {"split": "train", "path": "data/train-*"}
    ]
    assert hub.files["task.yaml"].decode() == PROVENANCE["task"]["yaml"]


def test_the_card_can_be_turned_off(tmp_path: Path) -> None:
    """`card: {enabled: false}` writes the dataset alone."""
    sink = sink_for(tmp_path, card={"enabled": False})
    sink.restore([])
    sink.write(rows("a", 1))
    sink.finalize()
    assert not (tmp_path / "ds" / "README.md").exists()
    assert not (tmp_path / "ds" / "task.yaml").exists()


@pytest.mark.parametrize(
    ("rows_count", "category"),
    [(0, "n<1K"), (999, "n<1K"), (1000, "1K<n<10K"), (250_000, "100K<n<1M"), (2 * 10**9, "n>1B")],
)
def test_size_categories_follow_the_hub(rows_count: int, category: str) -> None:
    """Each count lands in the hub's size category."""
    assert size_category(rows_count) == category


SECRET = "tok0123456789abcdefSECRETvalue"

TASK = f"""
# a key pasted here by mistake: {SECRET}
data_config:
  source: {{type: disk, file_path: data.jsonl}}
  sink:
    type: hf
    file_path: out/qa
    card: {{license: cc-by-4.0, language: [en]}}
graph_config:
  nodes:
    answer:
      node_type: llm
      output_keys: answer
      prompt:
        - user: "{{text}}"
      model: {{name: m}}
  edges:
    - {{from: START, to: answer}}
    - {{from: answer, to: END}}
output_config:
  output_map:
    id: {{from: id}}
    answer: {{from: answer}}
post_process:
  - dedup: {{fields: [answer]}}
"""


def test_a_runs_card_tells_how_it_was_made_without_secrets(
    tmp_path: Path, mock_server: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run into an hf sink: the card counts the run's calls and shows the task; the key
    in the environment (and pasted in the task) appears in no file the run wrote."""
    monkeypatch.setenv("GRASP_TEST_CARD_KEY", SECRET)
    models = (
        f"m:\n  model: openai/m\n  api_base: {mock_server.url}/v1\n"
        "  api_key_env: GRASP_TEST_CARD_KEY\n"
    )
    (tmp_path / "data.jsonl").write_text(
        "".join(
            json.dumps({"id": f"r{n}", "text": f"hi {i}"}) + "\n"
            for n, i in enumerate([0, 1, 2, 0])
        )
    )
    task = write_task(tmp_path, TASK, {"models.yaml": models})
    run_task(task, RunOptions(seed=5))
    for folder, kept in (("qa", 4), ("qa.curated", 3)):  # the curated copy is carded too
        card = DatasetCard.load(tmp_path / "out" / folder / "README.md")
        assert card.data.to_dict()["license"] == "cc-by-4.0"
        assert f"of {kept} records" in card.text
        assert "| model calls | 4 |" in card.text
        assert "| seed | 5 |" in card.text
    assert (
        "a key pasted here by mistake: <redacted>"
        in (tmp_path / "out" / "qa" / "task.yaml").read_text()
    )
    written = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert written
    assert all(SECRET.encode() not in p.read_bytes() for p in written)
