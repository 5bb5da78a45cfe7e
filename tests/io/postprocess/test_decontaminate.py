"""The `decontaminate` step over planted leaks: every record holding 13 consecutive words of a
benchmark's test split is found (and no clean record, not even one sharing 12 words), from
JSONL, CSV and `save_to_disk` benchmarks; matches are reported with the benchmark, split,
row and span, and removed or flagged."""

from __future__ import annotations

import json
import random
import string
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from grasp_core.errors import ConfigError
from grasp_core.postprocess import (
    CurationResult,
    CurationTarget,
    curate,
    load_steps_file,
    read_output,
)

Records = list[dict[str, Any]]


def write_jsonl(path: Path, records: Records) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def read_jsonl(path: Path) -> Records:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def run_steps(
    folder: Path, records: Records, steps_yaml: str, *, output: str = "curated.jsonl"
) -> tuple[Path, Records, CurationResult]:
    """Curate ``records`` with the steps: the output's path, the removal report, the result."""
    data = write_jsonl(folder / "data.jsonl", records)
    (folder / "steps.yaml").write_text(steps_yaml, encoding="utf-8")
    target = CurationTarget.at({"type": Path(output).suffix[1:]}, folder / output)
    steps = load_steps_file(folder / "steps.yaml")
    result = curate(read_output([data], "jsonl", "id"), steps, target, base_dir=folder)
    return target.output, read_jsonl(target.removed_path), result


def words(rng: random.Random, count: int) -> list[str]:
    return ["".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 8))) for _ in range(count)]


class Planted:
    """A benchmark of 40 questions of 30 words, and 200 records: 20 that quote a whole
    question (changed case and punctuation, inside other text), 10 that hold 13 consecutive
    words of one, 20 that hold 12 (one short of an n-gram: clean) and 150 clean ones."""

    def __init__(self, seed: int = 11) -> None:
        rng = random.Random(seed)
        self.questions = [words(rng, 30) for _ in range(40)]
        self.benchmark = [
            {"id": f"q{n}", "question": " ".join(q), "answer": str(n)}
            for n, q in enumerate(self.questions)
        ]
        self.records: Records = []
        self.leaks: dict[str, tuple[str, str]] = {}
        """Record id → (benchmark row id, the normalised span it shares)."""
        for n in range(200):
            q = rng.randrange(40)
            question = self.questions[q]
            before, after = words(rng, 20), words(rng, 20)
            if n < 20:
                shared = question
                quoted = " ".join(shared).upper().replace(" ", ", ", 4)
            elif n < 30:
                start = rng.randrange(30 - 13)
                shared = question[start : start + 13]
                quoted = " ".join(shared)
            elif n < 50:
                start = rng.randrange(30 - 12)
                shared, quoted = [], " ".join(question[start : start + 12])
            else:
                shared, quoted = [], ""
            text = " ".join([*before, quoted, *after]).replace("  ", " ")
            self.records.append({"id": f"r{n}", "prompt": "Solve this.", "response": text})
            if shared:
                self.leaks[f"r{n}"] = (f"q{q}", " ".join(shared))


def steps(benchmarks: str, **settings: Any) -> str:
    extra = "".join(f"    {key}: {value}\n" for key, value in settings.items())
    return f"- decontaminate:\n    fields: [prompt, response]\n{extra}    benchmarks:\n{benchmarks}"


JSONL_BENCH = (
    "      - {name: mybench, source: {type: disk, file_path: bench.jsonl}, fields: [question]}\n"
)


def test_planted_leaks_found_exactly_and_reported(tmp_path: Path) -> None:
    """Exactly the records sharing 13+ consecutive words with a benchmark question are
    removed; each report names the benchmark, the split, the row, the field and the span."""
    planted = Planted()
    write_jsonl(tmp_path / "bench.jsonl", planted.benchmark)
    output, removed, result = run_steps(tmp_path, planted.records, steps(JSONL_BENCH))
    assert {r["id"] for r in removed} == set(planted.leaks)
    for report in removed:
        row, span = planted.leaks[report["id"]]
        assert report["reason"] == "benchmark overlap"
        [match] = report["details"]["matches"]
        assert match == {
            "benchmark": "mybench",
            "split": "test",
            "benchmark_id": row,
            "field": "response",
            "span": span,
            "words": len(span.split()),
        }
    kept = read_jsonl(output)
    assert [r["id"] for r in kept] == [
        r["id"] for r in planted.records if r["id"] not in planted.leaks
    ]
    assert result.steps[0].results == {
        "action": "remove",
        "ngram": 13,
        "contaminated": 30,
        "benchmarks": {
            "mybench": {
                "split": "test",
                "rows": 40,
                "ngrams": 40 * 18,
                "too_short": 0,
                "unreadable": 0,
                "records_matched": 30,
            }
        },
    }


def test_a_shorter_ngram_finds_shorter_overlaps(tmp_path: Path) -> None:
    """With `ngram: 12`, the records sharing 12 words are found too."""
    planted = Planted()
    write_jsonl(tmp_path / "bench.jsonl", planted.benchmark)
    _, removed, _ = run_steps(tmp_path, planted.records, steps(JSONL_BENCH, ngram=12))
    assert {r["id"] for r in removed} == set(planted.leaks) | {f"r{n}" for n in range(30, 50)}


def test_flag_keeps_every_record_and_lists_matches(tmp_path: Path) -> None:
    """`action: flag` keeps every record, in order, with `flag_field` listing its matches
    (empty for clean records); a Parquet output holds the field for all of them."""
    planted = Planted()
    write_jsonl(tmp_path / "bench.jsonl", planted.benchmark)
    bench_steps = steps(JSONL_BENCH, action="flag", flag_field="leaks")
    output, removed, _ = run_steps(tmp_path, planted.records, bench_steps, output="out.parquet")
    assert removed == []
    rows = pq.read_table(output).to_pylist()
    assert [r["id"] for r in rows] == [r["id"] for r in planted.records]
    flagged = {r["id"]: r["leaks"] for r in rows if r["leaks"]}
    assert set(flagged) == set(planted.leaks)
    for record_id, matches in flagged.items():
        assert [(m["benchmark_id"], m["span"]) for m in matches] == [planted.leaks[record_id]]
    assert all(r["leaks"] == [] for r in rows if r["id"] not in planted.leaks)


def test_csv_and_saved_hf_dataset_benchmarks(tmp_path: Path) -> None:
    """Benchmarks come through GraSP's sources: a CSV file, and a dataset folder written by
    `save_to_disk` (its test split, named in the report); each leak names its benchmark."""
    import datasets

    planted = Planted()
    half = len(planted.benchmark) // 2
    csv_rows = [
        "id,question,answer",
        *(f"{r['id']},{r['question']},{r['answer']}" for r in planted.benchmark[:half]),
    ]
    (tmp_path / "bench.csv").write_text("\n".join(csv_rows) + "\n", encoding="utf-8")
    saved = datasets.DatasetDict({"test": datasets.Dataset.from_list(planted.benchmark[half:])})
    saved.save_to_disk(str(tmp_path / "saved_bench"))
    benchmarks = (
        "      - {name: first, source: {type: disk, file_path: bench.csv}, fields: [question]}\n"
        "      - {name: second, source: {type: hf, repo_id: ./saved_bench, split: test}}\n"
    )
    _, removed, result = run_steps(tmp_path, planted.records, steps(benchmarks))
    assert {r["id"] for r in removed} == set(planted.leaks)
    first = {f"q{n}" for n in range(half)}
    for report in removed:
        [match] = report["details"]["matches"]
        expected = "first" if planted.leaks[report["id"]][0] in first else "second"
        assert (match["benchmark"], match["split"]) == (expected, "test")
    counts = result.steps[0].results["benchmarks"]
    assert (counts["first"]["rows"], counts["second"]["rows"]) == (half, half)


def test_short_benchmark_texts_are_counted(tmp_path: Path) -> None:
    """A benchmark row with fewer words than `ngram` in every field cannot match: counted."""
    write_jsonl(tmp_path / "bench.jsonl", [{"id": "a", "question": "two words"}])
    _, removed, result = run_steps(
        tmp_path, [{"id": "1", "prompt": "two words", "response": ""}], steps(JSONL_BENCH)
    )
    assert removed == []
    assert result.steps[0].results["benchmarks"]["mybench"]["too_short"] == 1


@pytest.mark.parametrize(
    ("benchmarks", "settings", "message"),
    [
        (JSONL_BENCH + JSONL_BENCH, {}, r"benchmark names must differ; \['mybench'\]"),
        (JSONL_BENCH, {"flag_field": "x"}, r"`flag_field` only applies to `action: flag`"),
        ("      - {name: b, source: {file_path: bench.jsonl}}\n", {}, r"needs a `type`"),
        (JSONL_BENCH, {"ngram": 2}, r"ngram"),
    ],
)
def test_bad_settings_are_refused_at_their_line(
    tmp_path: Path, benchmarks: str, settings: dict[str, Any], message: str
) -> None:
    """Settings that cannot work are refused when the steps file is loaded, naming it."""
    (tmp_path / "steps.yaml").write_text(steps(benchmarks, **settings), encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"steps\.yaml:\d+.*{message}"):
        load_steps_file(tmp_path / "steps.yaml")


def test_a_missing_benchmark_file_stops_before_any_record(tmp_path: Path) -> None:
    """A benchmark that cannot be read fails when the step is built: nothing is written."""
    with pytest.raises(ConfigError, match=r"steps\.yaml:1.*benchmark 'mybench': data file"):
        run_steps(tmp_path, Planted().records, steps(JSONL_BENCH))
    assert not (tmp_path / "curated.jsonl").exists()
    assert not (tmp_path / "curated.removed.jsonl").exists()


def test_a_benchmark_field_no_row_has_stops_before_any_record(tmp_path: Path) -> None:
    """A misspelt benchmark field (`questoin`) would index nothing and miss every leak
    silently: it stops the step with one line naming the benchmark and the row's fields."""
    write_jsonl(tmp_path / "bench.jsonl", [{"id": "a", "question": "a long enough question"}])
    typo = JSONL_BENCH.replace("[question]", "[questoin]")
    with pytest.raises(
        ConfigError,
        match=r"steps\.yaml:1.*benchmark 'mybench': no row has text in its fields "
        r"\['questoin'\]; its rows have \['id', 'question'\]",
    ):
        run_steps(tmp_path, [{"id": "1", "prompt": "x", "response": "y"}], steps(typo))
    assert not (tmp_path / "curated.jsonl").exists()


def test_every_benchmark_a_record_leaks_from_is_reported_and_counted(tmp_path: Path) -> None:
    """A text two benchmarks share counts for both, and stretches of two benchmarks that
    touch in a record are two spans, one per benchmark: no benchmark hides another."""
    rng = random.Random(5)
    shared, only_a, only_b = words(rng, 15), words(rng, 14), words(rng, 14)
    write_jsonl(tmp_path / "a.jsonl", [{"id": "a0", "q": " ".join(shared)}])
    write_jsonl(
        tmp_path / "b.jsonl",
        [{"id": "b0", "q": " ".join(only_b)}, {"id": "b1", "q": " ".join(shared)}],
    )
    write_jsonl(tmp_path / "c.jsonl", [{"id": "c0", "q": " ".join(only_a)}])
    benchmarks = "".join(
        f"      - {{name: {name}, source: {{type: disk, file_path: {name}.jsonl}}}}\n"
        for name in ("a", "b", "c")
    )
    records = [
        {"id": "both", "prompt": "x", "response": " ".join(shared)},
        {"id": "touching", "prompt": "x", "response": " ".join([*only_a, *only_b])},
    ]
    _, removed, result = run_steps(tmp_path, records, steps(benchmarks))
    found = {
        r["id"]: [(m["benchmark"], m["benchmark_id"], m["words"]) for m in r["details"]["matches"]]
        for r in removed
    }
    assert found == {
        "both": [("a", "a0", 15), ("b", "b1", 15)],
        "touching": [("b", "b0", 14), ("c", "c0", 14)],
    }
    counts = result.steps[0].results["benchmarks"]
    assert {name: counts[name]["records_matched"] for name in counts} == {"a": 1, "b": 2, "c": 1}
