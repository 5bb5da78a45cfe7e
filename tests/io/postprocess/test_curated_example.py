"""The gallery's curated dataset example, run offline on the mock: the planted near
duplicates and the benchmark leak are removed with their reasons, the rest is profiled, and
the curated hf dataset carries a card that `DatasetCard` loads, beside the provenance."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from huggingface_hub import DatasetCard

from grasp_core.cli import main
from grasp_core.mock_server import MockServer

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "curated_dataset"


def test_the_example_dedups_decontaminates_profiles_and_cards(
    tmp_path: Path, mock_server: MockServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """q02 and q08 repeat q01 and q03 (case, punctuation): near duplicates; q05 quotes the
    benchmark's first question: removed with the span; seven records are left, profiled,
    and written as a carded dataset; `grasp run` prints the profile's headline and the
    provenance file."""
    folder = tmp_path / "curated_dataset"
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns("output"))
    code = main(["run", str(folder / "task.yaml"), "--mock-url", mock_server.url])
    printed = capsys.readouterr().out
    assert code == 0
    out = folder / "output"
    assert f"provenance       {out / 'qa.provenance.json'}" in printed
    assert "    profile: 7 records; median question " in printed  # the profile's headline
    removed = [json.loads(line) for line in (out / "qa.removed.jsonl").read_text().splitlines()]
    assert {(r["id"], r["reason"]) for r in removed} == {
        ("q02", "near duplicate"),
        ("q08", "near duplicate"),
        ("q05", "benchmark overlap"),
    }
    leak = next(r for r in removed if r["id"] == "q05")["details"]["matches"][0]
    assert (leak["benchmark"], leak["benchmark_id"]) == ("tiny_bench", "b1")
    profile = json.loads((out / "qa.profile.json").read_text())
    assert profile["records"] == 7
    assert profile["languages"] == {"en": 7}
    assert (out / "qa.profile.html").is_file()
    card = DatasetCard.load(out / "qa.curated" / "README.md")
    assert card.data.to_dict()["task_categories"] == ["question-answering"]
    assert "of 7 records" in card.text
    assert "| model calls | 10 |" in card.text
    assert (out / "qa.curated" / "task.yaml").read_text() == (folder / "task.yaml").read_text()
    provenance = json.loads((out / "qa.provenance.json").read_text())
    assert provenance["profile"]["records"] == 7
    assert provenance["post_process"]["kept"] == 7
