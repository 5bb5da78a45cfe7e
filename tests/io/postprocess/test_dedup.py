"""The `dedup` step over planted data: exact and near duplicates found, each reported with the
record it duplicates and the similarity, and nothing else removed."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from grasp_core.errors import ConfigError
from grasp_core.postprocess import CurationTarget, curate, load_steps_file, read_output

VOCABULARY = [f"w{i}" for i in range(5000)]


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def run_dedup(
    tmp_path: Path, records: list[dict[str, Any]], steps_yaml: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Curate ``records`` (a real JSONL file) with the steps; the kept records and the
    removal report."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    data = write_jsonl(tmp_path / "data.jsonl", records)
    steps = tmp_path / "steps.yaml"
    steps.write_text(steps_yaml, encoding="utf-8")
    out = tmp_path / "curated.jsonl"
    target = CurationTarget.at({"type": "jsonl"}, out)
    curate(read_output([data], "jsonl", "id"), load_steps_file(steps), target, base_dir=tmp_path)
    return read_jsonl(out), read_jsonl(target.removed_path)


def sentence(rng: random.Random, words: int) -> list[str]:
    return [rng.choice(VOCABULARY) for _ in range(words)]


def planted_near_duplicates(
    seed: int = 7,
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """400 distinct texts of 150 words, 100 near copies of some (3 words replaced, the case
    and punctuation changed: estimated Jaccard about 0.9) and 50 texts that share a third of
    their words with one of the originals (similar, not duplicates). The copies, by id, map
    to the id they copy."""
    rng = random.Random(seed)
    originals = [sentence(rng, 150) for _ in range(400)]
    records = [{"id": f"o{i}", "text": " ".join(words)} for i, words in enumerate(originals)]
    planted: dict[str, str] = {}
    for n in range(100):
        source = rng.randrange(len(originals))
        copy = list(originals[source])
        for position in rng.sample(range(len(copy)), 3):
            copy[position] = rng.choice(VOCABULARY)
        text = " ".join(copy).upper().replace(" ", ", ", 5) + "!"
        planted[f"c{n}"] = f"o{source}"
        records.append({"id": f"c{n}", "text": text})
    for n in range(50):
        source = originals[rng.randrange(len(originals))]
        records.append({"id": f"s{n}", "text": " ".join(source[:50] + sentence(rng, 100))})
    rng.shuffle(records[400:])  # copies come after what they copy, in no particular order
    return records, planted


def precision_recall(removed: list[dict[str, Any]], planted: dict[str, str]) -> tuple[float, float]:
    """A removal is right when it removes a planted copy in favour of its original."""
    right = sum(1 for r in removed if planted.get(r["id"]) == r["details"]["duplicate_of"])
    return right / max(len(removed), 1), right / len(planted)


def test_minhash_finds_planted_near_duplicates(tmp_path: Path) -> None:
    """Near copies are removed in favour of their original (precision and recall >= 0.95),
    texts that only share a third of their words are kept, and each removal names the kept
    record and an estimated similarity at or above the threshold."""
    records, planted = planted_near_duplicates()
    kept, removed = run_dedup(
        tmp_path, records, "- dedup: {method: minhash, fields: [text], threshold: 0.7}\n"
    )
    precision, recall = precision_recall(removed, planted)
    assert precision >= 0.95
    assert recall >= 0.95
    assert len(kept) + len(removed) == len(records)
    assert all(r["step"] == "dedup" and r["reason"] == "near duplicate" for r in removed)
    assert all(0.7 <= r["details"]["similarity"] <= 1.0 for r in removed)
    assert all(r["record"]["id"] == r["id"] for r in removed)
    kept_ids = {r["id"] for r in kept}
    assert {f"s{n}" for n in range(50)} <= kept_ids


def test_short_near_duplicates_need_single_words_and_a_lower_threshold(tmp_path: Path) -> None:
    """100 texts of 8 words and a copy of each with one word changed (single-word Jaccard
    7/9): the defaults (trigrams, 0.8) find almost none, `ngram: 1, threshold: 0.7` finds
    them (precision and recall >= 0.95), and no original is removed."""
    rng = random.Random(13)
    originals = [sentence(rng, 8) for _ in range(100)]
    records = [{"id": f"o{i}", "text": " ".join(words)} for i, words in enumerate(originals)]
    planted: dict[str, str] = {}
    for i, words in enumerate(originals):
        copy = list(words)
        copy[rng.randrange(8)] = f"changed{i}"
        planted[f"c{i}"] = f"o{i}"
        records.append({"id": f"c{i}", "text": " ".join(copy)})
    _, by_default = run_dedup(tmp_path / "default", records, "- dedup: {method: minhash}\n")
    assert precision_recall(by_default, planted)[1] <= 0.05
    short = "- dedup: {method: minhash, ngram: 1, threshold: 0.7}\n"
    _, removed = run_dedup(tmp_path / "short", records, short)
    precision, recall = precision_recall(removed, planted)
    assert precision >= 0.95
    assert recall >= 0.95
    assert not [r for r in removed if r["id"].startswith("o")]


def test_exact_finds_planted_duplicates_after_normalising(tmp_path: Path) -> None:
    """Copies that differ only in case, spacing and Unicode width are exact duplicates of the
    first occurrence (similarity 1.0); a copy with other punctuation is one only with
    `strip_punctuation`."""
    rng = random.Random(3)
    originals = [" ".join(sentence(rng, 20)) for _ in range(300)]
    records = [{"id": f"o{i}", "text": text} for i, text in enumerate(originals)]
    planted: dict[str, str] = {}
    for n in range(100):
        source = rng.randrange(len(originals))
        text = "  " + originals[source].title().replace(" ", " \t ") + "\n"
        planted[f"c{n}"] = f"o{source}"
        records.append({"id": f"c{n}", "text": text})
    records.append({"id": "wide", "text": originals[0].replace("w", "ｗ")})
    records.append({"id": "punct", "text": originals[1] + "!!!"})
    planted["wide"] = "o0"

    kept, removed = run_dedup(tmp_path / "a", records, "- dedup: {fields: [text]}\n")
    precision, recall = precision_recall(removed, planted)
    assert (precision, recall) == (1.0, 1.0)
    assert {r["details"]["similarity"] for r in removed} == {1.0}
    assert "punct" in {r["id"] for r in kept}

    _, removed = run_dedup(
        tmp_path / "b", records, "- dedup: {fields: [text], strip_punctuation: true}\n"
    )
    assert {"punct": "o1"}.items() <= {
        r["id"]: r["details"]["duplicate_of"] for r in removed
    }.items()


def test_fields_read_chat_turns_and_roles(tmp_path: Path) -> None:
    """A `messages` field reads as the text of its turns; `roles` leaves out turns (here a
    system prompt that differs) so the conversations compare on what was said."""

    def chat(system: str, user: str, answer: str) -> list[dict[str, str]]:
        return [
            {"role": "system", "content": system},
            {"role": "user", "content": user},
            {"role": "assistant", "content": [{"type": "text", "text": answer}]},
        ]

    records = [
        {"id": "a", "messages": chat("be brief", "what is 2+2?", "4")},
        {"id": "b", "messages": chat("be kind", "What is 2+2?", "4")},
        {"id": "c", "messages": chat("be brief", "what is 3+3?", "6")},
    ]
    _, removed = run_dedup(tmp_path / "all", records, "- dedup: {fields: [messages]}\n")
    assert removed == []
    kept, removed = run_dedup(
        tmp_path / "roles",
        records,
        "- dedup: {fields: [messages], roles: [user, assistant]}\n",
    )
    assert [(r["id"], r["details"]["duplicate_of"]) for r in removed] == [("b", "a")]
    assert [r["id"] for r in kept] == ["a", "c"]
    _, removed = run_dedup(tmp_path / "path", records, "- dedup: {fields: [messages.2]}\n")
    assert [(r["id"], r["details"]["duplicate_of"]) for r in removed] == [("b", "a")]


def test_records_without_text_are_kept_and_counted(tmp_path: Path) -> None:
    """A record whose chosen fields are missing or empty is compared with nothing: kept."""
    records = [{"id": "a", "text": ""}, {"id": "b"}, {"id": "c", "text": "x"}]
    data = write_jsonl(tmp_path / "data.jsonl", records)
    steps = tmp_path / "steps.yaml"
    steps.write_text("- dedup: {method: minhash, fields: [text]}\n", encoding="utf-8")
    result = curate(
        read_output([data], "jsonl", "id"),
        load_steps_file(steps),
        CurationTarget.at({"type": "jsonl"}, tmp_path / "out.jsonl"),
        base_dir=tmp_path,
    )
    assert result.kept == 3
    assert result.steps[0].results["empty"] == 2


def test_dedup_is_deterministic(tmp_path: Path) -> None:
    """Two passes over the same data remove the same records for the same reasons."""
    records, _ = planted_near_duplicates(seed=11)
    steps = "- dedup: {method: minhash, fields: [text], threshold: 0.5, num_perm: 64}\n"
    first = run_dedup(tmp_path / "1", records, steps)
    second = run_dedup(tmp_path / "2", records, steps)
    assert first == second


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ("{method: exact, threshold: 0.5}", "`threshold` only applies to `method: minhash`"),
        ("{method: minhash, threshold: 1.5}", "dedup.threshold: input should be less than"),
        ("{method: fuzzy}", "dedup.method: input should be 'exact' or 'minhash'"),
        ("{fields: []}", "dedup.fields: list should have at least 1 item"),
    ],
)
def test_bad_settings_name_the_key(tmp_path: Path, settings: str, message: str) -> None:
    """Settings are checked before anything is read, with the file, line and key."""
    steps = tmp_path / "steps.yaml"
    steps.write_text(f"- dedup: {settings}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"steps\.yaml:1: post_process") as caught:
        load_steps_file(steps)
    assert message in str(caught.value)
