"""`grasp tag`, `grasp run --quality` and `output_config.data_quality`, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from grasp_core.cli import main
from tests.conftest import write_task

RECORDS = [
    {
        "conversation": [
            {"role": "user", "content": "What is the capital of France?"},
            {"role": "assistant", "content": "The capital of France is Paris."},
        ]
    },
    {
        "conversation": [
            {"role": "user", "content": "Write a haiku about rain."},
            {"role": "assistant", "content": "I'm sorry, but I can't write poems."},
        ]
    },
]


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_tag_adds_heuristics_and_keeps_the_record(tmp_path: Path) -> None:
    """By default only heuristics run (no model); each record comes back as it was, plus
    `quality` (in the order records finish)."""
    data = write_jsonl(tmp_path / "chats.jsonl", RECORDS)
    out = tmp_path / "tagged.jsonl"
    assert main(["tag", str(data), "--output", str(out), "--quiet"]) == 0
    tagged = sorted(read_jsonl(out), key=lambda r: r["conversation"][0]["content"])
    assert [{k: v for k, v in r.items() if k != "quality"} for r in tagged] == RECORDS
    first, second = (r["quality"] for r in tagged)
    assert set(first) == {"heuristics", "flags", "overall"}
    assert first["heuristics"]["response_words"] == 6
    assert first["heuristics"]["language"] == "en"
    assert (first["flags"], first["overall"]) == ([], 5.0)
    assert (second["flags"], second["overall"]) == (["refusal"], 4.0)
    assert (tmp_path / "tagged.journal.jsonl").is_file()


def test_tag_reads_parquet_fields_and_counts_failures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Prompt/response fields replace the role list; a record lacking one fails with its
    reason in the failures file and the exit code is 1."""
    rows = [
        {"q": "Give JSON please", "a": '{"ok": true}'},
        {"q": "Give JSON please", "a": "{not json"},
        {"q": "Hi", "a": None},
    ]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "pairs.parquet")
    out = tmp_path / "tagged.jsonl"
    args = ["tag", str(tmp_path / "pairs.parquet"), "-o", str(out)]
    code = main([*args, "--prompt-field", "q", "--response-field", "a"])
    assert code == 0
    tagged = {r["a"]: r["quality"] for r in read_jsonl(out)}
    assert tagged['{"ok": true}']["heuristics"]["broken_json"] is False
    assert tagged["{not json"]["heuristics"]["broken_json"] is True
    assert tagged["{not json"]["flags"] == ["broken_json"]
    assert tagged[None]["flags"] == ["empty"]
    bad = tmp_path / "bad.jsonl"
    write_jsonl(bad, [{"text": "no conversation here"}, RECORDS[0]])
    code = main(["tag", str(bad), "-o", str(tmp_path / "bad_tagged.jsonl")])
    assert code == 1
    printed = capsys.readouterr().out
    assert "tagged 1, failed 1" in printed
    failures = read_jsonl(tmp_path / "bad_tagged.failures.jsonl")
    assert "no 'conversation' or 'messages' field" in failures[0]["reason"]


def test_tag_with_judge_resumes(tmp_path: Path, mock_url: str) -> None:
    """The judge runs against the mock; a second run with --resume does nothing new, and
    without --resume or --overwrite it refuses to clobber the output."""
    data = write_jsonl(tmp_path / "chats.jsonl", RECORDS)
    out = tmp_path / "judged.jsonl"
    args = ["tag", str(data), "-o", str(out), "--tasks", "heuristics,judge", "--mock-url", mock_url]
    assert main([*args, "--quiet"]) == 0
    judged = sorted(read_jsonl(out), key=json.dumps)
    assert all(1 <= r["quality"]["judge"]["question_quality"] <= 5 for r in judged)
    assert main([*args, "--quiet"]) == 2
    assert main([*args, "--quiet", "--resume"]) == 0
    assert sorted(read_jsonl(out), key=json.dumps) == judged


def test_tag_refuses_a_source_block_naming_the_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--source` with a relative file_path that is OUT is refused; the input is kept."""
    monkeypatch.chdir(tmp_path)
    data = write_jsonl(tmp_path / "chats.jsonl", RECORDS)
    source = json.dumps({"type": "disk", "file_path": "chats.jsonl"})
    assert main(["tag", "--source", source, "-o", "chats.jsonl", "--overwrite"]) == 2
    assert "is the input" in capsys.readouterr().err
    assert read_jsonl(data) == RECORDS


def test_tag_reads_a_csv_it_wrote(tmp_path: Path) -> None:
    """A CSV holds `conversation` as JSON text; tagging that CSV reads the messages."""
    data = write_jsonl(tmp_path / "chats.jsonl", RECORDS)
    as_csv, again = tmp_path / "tagged.csv", tmp_path / "again.jsonl"
    assert main(["tag", str(data), "-o", str(as_csv), "--quiet"]) == 0
    assert main(["tag", str(as_csv), "-o", str(again), "--quiet"]) == 0
    retagged = sorted(read_jsonl(again), key=lambda r: r["quality"]["flags"])
    assert [r["quality"]["flags"] for r in retagged] == [[], ["refusal"]]
    assert retagged[0]["quality"]["heuristics"]["response_words"] == 6


def test_tag_rejects_unknown_tasks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A misspelt task name is a one-line error listing the valid ones."""
    data = write_jsonl(tmp_path / "chats.jsonl", RECORDS)
    assert main(["tag", str(data), "-o", str(tmp_path / "o.jsonl"), "--tasks", "judgee"]) == 2
    assert "unknown quality task(s) 'judgee'; choose from heuristics, judge" in (
        capsys.readouterr().err
    )


RUN_TASK = """
data_config:
  source: {type: disk, file_path: topics.jsonl}
  sink: {type: jsonl, file_path: out.jsonl}
graph_config:
  nodes:
    answer:
      node_type: llm
      output_keys: answer
      prompt: [{user: "Explain {topic} in one sentence."}]
      model: {name: writer}
    check:
      node_type: lambda
      lambda: steps.route
      output_keys: checked
  edges:
    - {from: START, to: answer}
    - {from: answer, to: check}
    - from: check
      condition: steps.route
      path_map: {done: END, again: answer}
output_config:
  output_map:
    topic: {from: topic}
    answer: {from: answer}
  data_quality:
    prompt_fields: [topic]
    response_fields: [answer]
"""
STEPS = """
def route(state):
    return "done"
"""


def test_run_with_data_quality_tags_shaped_records(tmp_path: Path, mock_url: str) -> None:
    """`output_config.data_quality` puts the tagger before END (conditional edges too) and
    adds `quality` to the output_map."""
    task = write_task(
        tmp_path,
        RUN_TASK,
        {"topics.jsonl": '{"topic": "gravity"}\n{"topic": "tides"}\n', "steps.py": STEPS},
    )
    assert main(["run", str(task), "--mock-url", mock_url, "--quiet"]) == 0
    records = read_jsonl(tmp_path / "out.jsonl")
    assert [set(r) for r in records] == [{"topic", "answer", "quality"}] * 2
    heur = records[0]["quality"]["heuristics"]
    assert heur["response_chars"] == len(records[0]["answer"])
    assert (heur["user_turns"], heur["assistant_turns"]) == (1, 1)


def test_run_quality_flag_adds_the_judge_and_changes_the_fingerprint(
    tmp_path: Path, mock_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--quality heuristics,judge` tags a run that has no data_quality block; resuming the
    same journal without the flag is refused as a different task."""
    plain = RUN_TASK.split("  data_quality:")[0]
    task = write_task(
        tmp_path, plain, {"topics.jsonl": '{"topic": "gravity"}\n', "steps.py": STEPS}
    )
    base = ["run", str(task), "--mock-url", mock_url, "--quiet"]
    assert main([*base, "--quality", "heuristics,judge"]) == 0
    (record,) = read_jsonl(tmp_path / "out.jsonl")
    assert set(record["quality"]) == {"heuristics", "flags", "judge", "overall"}
    # a bare --quality before the task file means heuristics, not the task as its value
    flag_first = ["run", "--quality", str(task), "--mock-url", mock_url, "--quiet"]
    assert main([*flag_first, "--overwrite"]) == 0
    (record,) = read_jsonl(tmp_path / "out.jsonl")
    assert set(record["quality"]) == {"heuristics", "flags", "overall"}
    assert main([*base, "--quality", "heuristics,judge", "--overwrite"]) == 0
    assert main([*base, "--resume"]) == 2
    assert "the task changed" in capsys.readouterr().err
    assert main([*base, "--quality", "heuristics,judge", "--resume"]) == 0


def test_run_quality_without_a_value_means_heuristics(tmp_path: Path, mock_url: str) -> None:
    """A bare `--quality` runs the heuristics only (no judge calls)."""
    plain = RUN_TASK.split("  data_quality:")[0]
    task = write_task(
        tmp_path, plain, {"topics.jsonl": '{"topic": "gravity"}\n', "steps.py": STEPS}
    )
    summary = tmp_path / "out.summary.json"
    assert main(["run", str(task), "--mock-url", mock_url, "--quiet", "--quality"]) == 0
    (record,) = read_jsonl(tmp_path / "out.jsonl")
    assert set(record["quality"]) == {"heuristics", "flags", "overall"}
    assert record["quality"]["heuristics"]["assistant_turns"] >= 1
    assert json.loads(summary.read_text())["done"] == 1


def test_tag_then_filter(tmp_path: Path) -> None:
    """The usual pipeline: tag, then keep what has no flags."""
    data = write_jsonl(tmp_path / "chats.jsonl", RECORDS)
    tagged, kept = tmp_path / "tagged.jsonl", tmp_path / "kept.jsonl"
    assert main(["tag", str(data), "-o", str(tagged), "--quiet"]) == 0
    where = ["--where", "quality.flags == []", "--where", "quality.overall >= 4"]
    assert main(["filter", str(tagged), *where, "-o", str(kept), "--quiet"]) == 0
    assert [r["conversation"] for r in read_jsonl(kept)] == [RECORDS[0]["conversation"]]


OASST_TASK = """
data_config:
  source: {type: disk, file_path: topics.jsonl}
  sink: {type: jsonl, file_path: out.jsonl}
graph_config:
  nodes:
    answer:
      node_type: llm
      output_keys: answer
      prompt: [{user: "Explain {topic} in one sentence."}]
      model: {name: writer}
    convo:
      node_type: lambda
      lambda: steps.convo
      output_keys: conversation
  edges:
    - {from: START, to: answer}
    - {from: answer, to: convo}
    - {from: convo, to: END}
output_config:
  output_map:
    id: {from: id}
    conversation: {from: conversation}
"""
CONVO_STEP = """
def convo(state):
    return [
        {"role": "user", "content": "Explain " + state["topic"] + "."},
        {"role": "assistant", "content": state["answer"]},
    ]
"""


def test_oasst_rows_carry_the_records_quality(tmp_path: Path, mock_url: str) -> None:
    """With --oasst, each message row gets the record's tags as `conversation_quality`."""
    task = write_task(
        tmp_path,
        OASST_TASK,
        {"topics.jsonl": '{"id": "t1", "topic": "tides"}\n', "steps.py": CONVO_STEP},
    )
    args = ["run", str(task), "--mock-url", mock_url, "--quiet", "--quality", "--oasst"]
    assert main(args) == 0
    rows = read_jsonl(tmp_path / "out.jsonl")
    assert [r["role"] for r in rows] == ["prompter", "assistant"]
    for row in rows:
        tags = row["conversation_quality"]
        assert tags["heuristics"]["turns"] == 2
        assert tags["overall"] == 5.0


def test_tag_checks_the_input_fields_before_tagging(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An input whose records lack the field the tagger reads is refused once, up front, in
    one line naming the fields they have (and the nearest to a misspelt --prompt-field);
    nothing is written, so the corrected command runs as it is."""
    data = write_jsonl(tmp_path / "plain.jsonl", [{"q": "Hi?", "text": "Hello"}] * 3)
    out = tmp_path / "tagged.jsonl"
    assert main(["tag", str(data), "-o", str(out)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "grasp: error: none of the first 3 input records has a 'conversation' or 'messages' "
        "field to tag (their fields: q, text); name the role/content list with "
        "--messages-field, or the text with --prompt-field and --response-field. Nothing "
        "was tagged"
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain.jsonl"]
    assert main(["tag", str(data), "-o", str(out), "--prompt-field", "qq"]) == 2
    assert "has the field 'qq' to tag (did you mean 'q'?)" in capsys.readouterr().err
    fixed = ["tag", str(data), "-o", str(out), "--prompt-field", "q", "--response-field", "text"]
    assert main([*fixed, "--quiet"]) == 0
    assert [r["quality"]["heuristics"]["response_words"] for r in read_jsonl(out)] == [1] * 3


def test_a_tagging_that_tagged_nothing_does_not_block_the_next(
    tmp_path: Path, mock_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every record failed (the judge needs a reply, and none was named): the corrected
    command runs without --resume or --overwrite, replacing the files of the run that tagged
    nothing; a run that tagged something is still kept from being overwritten."""
    data = write_jsonl(
        tmp_path / "pairs.jsonl", [{"q": f"Question {i}?", "a": "Yes."} for i in range(3)]
    )
    out = tmp_path / "judged.jsonl"
    base = ["tag", str(data), "-o", str(out), "--tasks", "heuristics,judge", "--mock-url", mock_url]
    assert main([*base, "--prompt-field", "q"]) == 1
    assert "tagged 0, failed 3" in capsys.readouterr().out
    fixed = [*base, "--prompt-field", "q", "--response-field", "a", "--quiet"]
    assert main(fixed) == 0
    judged = read_jsonl(out)
    assert len(judged) == 3
    assert all("judge" in r["quality"] for r in judged)
    assert read_jsonl(tmp_path / "judged.failures.jsonl") == []
    assert main(fixed) == 2
    assert "Pass --resume to continue it, or --overwrite" in capsys.readouterr().err
