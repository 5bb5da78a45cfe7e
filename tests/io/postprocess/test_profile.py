"""The `profile` step on planted data: word lengths (percentiles, histogram), tokens,
languages (tagged or detected), quality flags and scores, the duplicate rate and distinct-n
equal values computed by hand; `NAME.profile.json` and a self-contained
`NAME.profile.html` (no external URL, no script) are written, and records pass unchanged."""

from __future__ import annotations

import itertools
import json
import random
import re
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grasp_core.postprocess import (
    CurationResult,
    CurationTarget,
    curate,
    load_steps_file,
    read_output,
)
from grasp_io.postprocess._stats import DistinctNgrams, histogram

Records = list[dict[str, Any]]

GERMAN = "der Hund läuft schnell durch den großen Park und bellt laut"
PLANTED: Records = [
    {
        "id": "1",
        "text": "the cat sat",
        "quality": {"heuristics": {"language": "en"}, "flags": ["short"], "overall": 2},
    },
    {
        "id": "2",
        "text": "The cat sat",
        "quality": {"heuristics": {"language": "en"}, "flags": [], "overall": 4},
    },
    {"id": "3", "text": GERMAN},
    {
        "id": "4",
        "text": "a dog ran",
        "quality": {
            "heuristics": {"language": "en"},
            "flags": ["short", "repetitive"],
            "overall": 5,
        },
    },
    {"id": "5", "text": ""},
]


def profile_of(folder: Path, records: Records, steps: str) -> tuple[Path, CurationResult]:
    data = folder / "data.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    (folder / "steps.yaml").write_text(steps, encoding="utf-8")
    target = CurationTarget.at({"type": "jsonl"}, folder / "curated.jsonl")
    result = curate(
        read_output([data], "jsonl", "id"),
        load_steps_file(folder / "steps.yaml"),
        target,
        base_dir=folder,
    )
    return target.output, result


def test_the_profile_numbers_match_hand_computed_values(tmp_path: Path) -> None:
    """Words [3, 3, 11, 3, 0]: mean 4, p5 0.6, p50 3, p95 9.4, two bins [4, 1]; one exact
    duplicate in five (case folded); distinct-1 17/20, distinct-2 14/16; languages from the
    tags (en × 3), detected (de) or unknown (no letters); flags and `overall` counted."""
    output, result = profile_of(tmp_path, PLANTED, "- profile: {fields: [text], bins: 2}\n")
    profile = json.loads((tmp_path / "curated.profile.json").read_text(encoding="utf-8"))
    assert profile["records"] == 5
    words = profile["fields"]["text"]["words"]
    assert (words["mean"], words["min"], words["max"]) == (4.0, 0, 11)
    assert words["percentiles"] == {
        "p5": 0.6,
        "p25": 3.0,
        "p50": 3.0,
        "p75": 3.0,
        "p95": 9.4,
        "p99": 10.68,
    }
    assert words["histogram"] == {"edges": [0.0, 5.5, 11.0], "counts": [4, 1]}
    tokens = profile["fields"]["text"]["tokens"]
    assert tokens["min"] == 0
    assert sum(tokens["histogram"]["counts"]) == 5
    assert profile["duplicates"] == {"exact": 1, "rate": 0.2}
    assert profile["distinct"] == {
        "distinct_1": 0.85,
        "distinct_2": 0.875,
        "distinct_3": pytest.approx(11 / 12, abs=1e-4),
    }
    assert profile["languages"] == {"en": 3, "de": 1, "unknown": 1}
    assert profile["quality"] == {"tagged": 3, "flags": {"short": 2, "repetitive": 1}}
    overall = profile["scores"]["quality.overall"]
    assert (overall["count"], overall["min"], overall["max"]) == (3, 2.0, 5.0)
    brief = result.steps[0].results
    assert (brief["records"], brief["duplicate_rate"], brief["median_words"]) == (
        5,
        0.2,
        {"text": 3.0},
    )
    assert [json.loads(line) for line in output.read_text().splitlines()] == PLANTED


def test_the_html_page_is_self_contained(tmp_path: Path) -> None:
    """The page shows the figures with CSS bars and refers to nothing outside itself: no
    URL, no script, no linked stylesheet, no image source."""
    profile_of(tmp_path, PLANTED, "- profile: {fields: [text]}\n")
    page = (tmp_path / "curated.profile.html").read_text(encoding="utf-8")
    assert "<h1>Dataset profile</h1>" in page
    assert "text: length in words" in page
    assert not re.search(r"https?:|//[a-z]|<script|<link|src=|@import|url\(", page, re.IGNORECASE)


def test_html_can_be_left_out(tmp_path: Path) -> None:
    """`html: false` writes the JSON only."""
    profile_of(tmp_path, PLANTED, "- profile: {fields: [text], html: false, tokens: false}\n")
    assert (tmp_path / "curated.profile.json").is_file()
    assert not (tmp_path / "curated.profile.html").exists()
    profile = json.loads((tmp_path / "curated.profile.json").read_text(encoding="utf-8"))
    assert "tokens" not in profile["fields"]["text"]


def test_diversity_from_embeddings_through_the_mock(tmp_path: Path, mock_url: str) -> None:
    """With `embedding_model`, the profile embeds a sample through the mock's
    /v1/embeddings: three copies of one text are not diverse at all (distance 0), three
    different texts are; empty texts are not sent."""
    from grasp_core.models.catalog import ModelCatalog

    steps = "- profile: {fields: [text], embedding_model: embedder, diversity_sample: 10}\n"
    models = ModelCatalog().with_mock(mock_url)
    found = []
    for name, texts in {
        "same": ["one text"] * 3,
        "varied": ["alpha beta", "gamma delta", "epsilon", ""],
    }.items():
        folder = tmp_path / name
        folder.mkdir()
        rows = [{"id": str(i), "text": text} for i, text in enumerate(texts)]
        (folder / "data.jsonl").write_text(
            "".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8"
        )
        (folder / "steps.yaml").write_text(steps, encoding="utf-8")
        target = CurationTarget.at({"type": "jsonl"}, folder / "curated.jsonl")
        result = curate(
            read_output([folder / "data.jsonl"], "jsonl", "id"),
            load_steps_file(folder / "steps.yaml"),
            target,
            base_dir=folder,
            models=models,
        )
        found.append(result.steps[0].results["diversity"])
    assert found[0] == {"model": "embedder", "sample": 3, "mean_cosine_distance": 0.0}
    assert found[1]["sample"] == 3
    assert found[1]["mean_cosine_distance"] > 0.05


def test_a_value_on_a_bin_edge_lands_where_numpy_puts_it() -> None:
    """1.925 sits on an edge that float arithmetic puts at 1.9250000000000003: numpy counts
    it in the seventh bin, and so does the profile (dividing by the width put it in the
    eighth)."""
    values = [0.0, 0.275, 0.55, 0.825, 1.1, 1.375, 1.65, 1.925, 2.2]
    counts, _edges = np.histogram(values, bins=8)
    assert counts.tolist() == [1, 1, 2, 0, 1, 2, 1, 1]
    assert histogram(values, 8)["counts"] == counts.tolist()


def test_distinct_n_memory_is_bounded_and_the_estimate_close() -> None:
    """300,000 bigrams over a 1,000-word vocabulary (about 260,000 distinct): the counter
    holds well under a megabyte once past its exact limit (a set of their hashes held over
    ten), and the distinct-2 estimate is within 2.5 % of the exact figure."""
    rng = random.Random(3)
    vocabulary = [f"w{n}" for n in range(1000)]
    texts = [[rng.choice(vocabulary) for _ in range(200)] for _ in range(1500)]
    exact = len({(a, b) for text in texts for a, b in itertools.pairwise(text)})
    for text in texts[:5]:  # fills the token-hash cache before measuring
        DistinctNgrams([1]).add(text)
    tracemalloc.start()
    try:
        counter = DistinctNgrams([2])
        for text in texts:
            counter.add(text)
        held, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert exact > 250_000
    assert held < 1_000_000
    assert counter.estimated
    ratio = counter.ratios()["distinct_2"]
    assert ratio == pytest.approx(exact / (1500 * 199), rel=0.025)
