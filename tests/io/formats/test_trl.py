"""TRL-ready exports: `--format sft` and `--format dpo` rows match TRL's documented dataset
formats and load with `datasets`.

TRL's "Dataset formats and types" guide: a conversational dataset holds lists of
``{"role", "content"}`` messages; *language modeling* is ``{"messages": [...]}``; a
*preference* dataset with explicit prompt is ``{"prompt": [...], "chosen": [...],
"rejected": [...]}`` where chosen/rejected hold the assistant reply. `check_trl_row` mirrors
those rules (and TRL's `is_conversational`) so the tests need no TRL install.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import datasets
import pytest

from grasp_core import RunOptions, registry, run_task
from grasp_core.cli import main
from grasp_core.engine.row_formats import build_row_mapper
from grasp_core.errors import RecordError, ResumeError
from grasp_io.formats import DpoFormat, SftFormat
from tests.conftest import copy_task_yaml, write_task

_ROLES = {"system", "user", "assistant"}


def is_messages(value: Any) -> bool:
    """TRL's conversational test: a list of dicts, each with a role and string content."""
    return (
        isinstance(value, list)
        and bool(value)
        and all(
            isinstance(m, dict)
            and set(m) == {"role", "content"}
            and m["role"] in _ROLES
            and isinstance(m["content"], str)
            for m in value
        )
    )


def check_trl_row(row: dict[str, Any], kind: str) -> None:
    """Assert that ``row`` is a conversational language-modeling (`sft`) or preference
    (`dpo`, explicit prompt) example as TRL documents them."""
    if kind == "sft":
        assert set(row) == {"messages"}
        messages = row["messages"]
        assert is_messages(messages)
        roles = [m["role"] for m in messages if m["role"] != "system"]
        assert roles[0] == "user"
        assert "assistant" in roles
        assert all(m["role"] != "system" for m in messages[1:])
        return
    assert set(row) == {"prompt", "chosen", "rejected"}
    assert is_messages(row["prompt"])
    assert row["prompt"][-1]["role"] == "user"
    for key in ("chosen", "rejected"):
        assert is_messages(row[key])
        assert [m["role"] for m in row[key]] == ["assistant"]
    assert row["chosen"] != row["rejected"]


def load(path: Path, cache: Path) -> datasets.Dataset:
    loaded = datasets.load_dataset(
        "json", data_files=str(path), split="train", cache_dir=str(cache)
    )
    assert isinstance(loaded, datasets.Dataset)
    return loaded


MULTI_TURN_DPO: dict[str, Any] = {
    "conversation": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Name a prime."},
        {"role": "assistant", "chosen": "7", "rejected": "8"},
        {"role": "user", "content": "Another?"},
        {"role": "assistant", "content": "11"},
        {"role": "user", "content": "An even one?"},
        {"role": "assistant", "chosen": "2", "rejected": "4"},
    ]
}


def test_sft_row_is_the_conversation_with_chosen_replies() -> None:
    """One `messages` row per record; preference turns contribute their chosen reply."""
    (row,) = SftFormat().rows("r", MULTI_TURN_DPO)
    check_trl_row(row, "sft")
    assert [m["content"] for m in row["messages"]] == [
        "Be brief.",
        "Name a prime.",
        "7",
        "Another?",
        "11",
        "An even one?",
        "2",
    ]


def test_multi_turn_dpo_gives_one_row_per_pair_with_the_chosen_history() -> None:
    """Each pair becomes a row whose prompt holds the history, earlier pairs as chosen."""
    rows = DpoFormat().rows("r", MULTI_TURN_DPO)
    for row in rows:
        check_trl_row(row, "dpo")
    assert [r["chosen"][0]["content"] for r in rows] == ["7", "2"]
    assert [r["rejected"][0]["content"] for r in rows] == ["8", "4"]
    assert [m["content"] for m in rows[0]["prompt"]] == ["Be brief.", "Name a prime."]
    assert [m["content"] for m in rows[1]["prompt"]] == [
        "Be brief.",
        "Name a prime.",
        "7",
        "Another?",
        "11",
        "An even one?",
    ]


@pytest.mark.parametrize(
    ("fmt", "record", "reason"),
    [
        (SftFormat, {"prompt": "hi"}, "no 'conversation' field"),
        (SftFormat, {"conversation": [{"role": "user", "content": "hi"}]}, "no assistant reply"),
        (DpoFormat, {"conversation": [{"role": "user", "content": "hi"}]}, "'chosen' and"),
    ],
)
def test_unmappable_records_fail_with_a_reason(
    fmt: Any, record: dict[str, Any], reason: str
) -> None:
    """A record the format cannot express is a RecordError, never an empty or partial row."""
    with pytest.raises(RecordError, match=reason):
        fmt().rows("r", record)


LLM_TASK = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out/train.jsonl}
graph_config:
  nodes:
    answer:
      node_type: llm
      output_keys: answer
      prompt: [{user: "{question}"}]
      model: {name: writer, parameters: {max_tokens: 20}}
  edges:
    - {from: START, to: answer}
    - {from: answer, to: END}
output_config:
  generator: trl_generators.Chat
  output_map:
    id: {from: id}
    conversation: {from: question, transform: to_conversation}
"""

GENERATORS = """
class Chat:
    def to_conversation(self, question, state):
        if state["id"] == "q2":
            return [{"role": "user", "content": question}]
        return [
            {"role": "user", "content": question},
            {"role": "assistant", "content": state["answer"]},
        ]
"""


def test_cli_format_sft_over_the_mock_server_loads_with_datasets(
    tmp_path: Path, mock_url: str
) -> None:
    """`grasp run --format sft` over real HTTP writes TRL `messages` rows `datasets` loads;
    a record without a reply fails and is counted."""
    rows = "".join(
        json.dumps({"id": f"q{i}", "question": f"what is {i}?"}) + "\n" for i in range(4)
    )
    task = write_task(tmp_path, LLM_TASK, {"data.jsonl": rows, "trl_generators.py": GENERATORS})
    code = main(["run", str(task), "--quiet", "--mock-url", mock_url, "--format", "sft"])
    assert code == 1
    out = tmp_path / "out" / "train.jsonl"
    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(written) == 3
    for row in written:
        check_trl_row(row, "sft")
    loaded = load(out, tmp_path / "cache")
    assert loaded.column_names == ["messages"]
    assert sorted(r["messages"][0]["content"] for r in loaded) == [
        "what is 0?",
        "what is 1?",
        "what is 3?",
    ]
    summary = json.loads((tmp_path / "out" / "train.summary.json").read_text())
    assert (summary["done"], summary["failed"]) == (3, 1)


DPO_TASK = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out/prefs.jsonl}
graph_config:
  nodes:
    pairs: {node_type: lambda, lambda: dpo_steps.pairs, output_keys: conversation}
  edges:
    - {from: START, to: pairs}
    - {from: pairs, to: END}
output_config:
  format: dpo
  output_map:
    conversation: {from: conversation}
"""

DPO_STEPS = """
def pairs(state):
    turns = []
    for turn in range(state["turns"]):
        turns.append({"role": "user", "content": f"q{turn} of {state['id']}"})
        turns.append({"role": "assistant", "chosen": f"good {turn}", "rejected": f"bad {turn}"})
    return turns
"""


def test_output_config_format_dpo_writes_one_row_per_pair_in_one_commit(tmp_path: Path) -> None:
    """`output_config.format: dpo`: every pair of a multi-turn record is a row; `datasets`
    loads them; the journal commits each record once."""
    rows = "".join(json.dumps({"id": f"d{i}", "turns": i + 1}) + "\n" for i in range(3))
    task = write_task(tmp_path, DPO_TASK, {"data.jsonl": rows, "dpo_steps.py": DPO_STEPS})
    assert main(["run", str(task), "--quiet"]) == 0
    out = tmp_path / "out" / "prefs.jsonl"
    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(written) == 1 + 2 + 3
    for row in written:
        check_trl_row(row, "dpo")
    loaded = load(out, tmp_path / "cache")
    assert set(loaded.column_names) == {"prompt", "chosen", "rejected"}
    assert len(loaded) == 6
    journal = [json.loads(line) for line in (tmp_path / "out" / "prefs.journal.jsonl").open()]
    done = [i for e in journal if e.get("e") == "record_done" for i in e["ids"]]
    assert sorted(done) == ["d0", "d1", "d2"]
    summary = json.loads((tmp_path / "out" / "prefs.summary.json").read_text())
    assert (summary["done"], summary["failed"]) == (3, 0)


OASST_TASK = """
data_config:
  source: {type: oasst, file_path: dump.trees.jsonl, branches: best}
  sink: {type: jsonl, file_path: out/sft.jsonl}
graph_config:
  nodes:
    turns: {node_type: lambda, lambda: count_steps.turns, output_keys: turns}
  edges:
    - {from: START, to: turns}
    - {from: turns, to: END}
output_config:
  output_map:
    conversation: {from: conversation}
"""


def test_an_oasst_dump_exports_to_trl_sft_through_the_cli(tmp_path: Path) -> None:
    """Source `oasst` → `--format sft`: the best path of each tree becomes a TRL row."""
    tree = {
        "message_tree_id": "t",
        "prompt": {
            "message_id": "t",
            "text": "Hi?",
            "role": "prompter",
            "replies": [
                {"message_id": "b", "text": "Bad", "role": "assistant", "rank": 1},
                {"message_id": "g", "text": "Good", "role": "assistant", "rank": 0},
            ],
        },
    }
    task = write_task(
        tmp_path,
        OASST_TASK,
        {
            "dump.trees.jsonl": json.dumps(tree) + "\n",
            "count_steps.py": "def turns(state):\n    return len(state['conversation'])\n",
        },
    )
    assert main(["run", str(task), "--quiet", "--format", "sft"]) == 0
    out = tmp_path / "out" / "sft.jsonl"
    (row,) = [json.loads(line) for line in out.read_text().splitlines()]
    check_trl_row(row, "sft")
    assert row == {
        "messages": [{"role": "user", "content": "Hi?"}, {"role": "assistant", "content": "Good"}]
    }


class StampedFormat:
    """A custom format whose rows hold non-JSON values: a date, or for record `bad` an
    object that has no JSON form."""

    def rows(self, record_id: str, record: dict[str, Any]) -> list[dict[str, Any]]:
        if record_id == "bad":
            return [{"id": record_id, "at": object()}]
        return [{"id": record_id, "at": datetime.date(2020, 1, 1), "raw": b"\x00\x01"}]


def test_custom_format_rows_are_made_json_safe_and_a_bad_row_fails_only_its_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A date becomes ISO text (as in shaped records); a value with no JSON form fails that
    record with the format's name, and the run goes on."""
    monkeypatch.setitem(registry.formats._loaded, "stamped", StampedFormat)
    rows = "".join(json.dumps({"id": i}) + "\n" for i in ("a", "bad", "c"))
    steps = "def copy(state):\n    return {'copied': 1}\n"
    task = write_task(tmp_path, copy_task_yaml(), {"data.jsonl": rows, "steps.py": steps})
    result = run_task(task, RunOptions(format="stamped"))
    assert (result.done, result.failed) == (2, 1)
    written = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert sorted(written, key=lambda r: r["id"]) == [
        {"id": "a", "at": "2020-01-01", "raw": written[0]["raw"]},
        {"id": "c", "at": "2020-01-01", "raw": written[0]["raw"]},
    ]
    assert build_row_mapper("stamped")("a", {}) == [
        {"id": "a", "at": "2020-01-01", "raw": b"\x00\x01"}
    ], "bytes stay bytes for the sink to store"
    (failure,) = [json.loads(line) for line in result.failures_path.read_text().splitlines()]
    assert failure["id"] == "bad"
    assert (
        "output format 'stamped' returned a row that is not JSON-serialisable"
        in (failure["reason"])
    )


def test_resuming_with_another_format_is_refused_even_with_force(tmp_path: Path) -> None:
    """The journal records the row format; `--resume --force` with another one is refused
    naming both, and nothing is added to the output; the same format resumes."""
    rows = "".join(json.dumps({"id": f"d{i}", "turns": 1}) + "\n" for i in range(3))
    task = write_task(tmp_path, DPO_TASK, {"data.jsonl": rows, "dpo_steps.py": DPO_STEPS})
    first = run_task(task, RunOptions(num_records=1))
    assert first.done == 1
    out = tmp_path / "out" / "prefs.jsonl"
    before = out.read_text()
    with pytest.raises(ResumeError) as refused:
        run_task(task, RunOptions(resume=True, force=True, format="sft"))
    message = str(refused.value)
    assert "rows in format 'dpo'" in message
    assert "rows in format 'sft'" in message
    assert "Resume with RunOptions(format='dpo')" in message  # raised through Python
    assert out.read_text() == before
    again = run_task(task, RunOptions(resume=True, format="dpo"))
    assert (again.done, again.previously_done) == (2, 1)
    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert all(set(row) == {"prompt", "chosen", "rejected"} for row in written)
    assert len(written) == 3
