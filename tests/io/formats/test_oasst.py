"""Records → OASST message trees (`oasst_sft`, `oasst_dpo`): every tree walks cleanly."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from grasp_core.cli import main
from grasp_core.config import OutputConfig
from grasp_core.engine.row_formats import build_row_mapper, select_format
from grasp_core.errors import ConfigError, RecordError
from grasp_io.formats import OasstDpoFormat, OasstSftFormat
from tests.conftest import write_task
from tests.io.oasst_helpers import children, chosen_path, walk_trees

SFT_RECORD: dict[str, Any] = {
    "id": "602",
    "conversation": [
        {"role": "system", "content": "You write Python."},
        {"role": "user", "content": "Find the first repeated character."},
        {"role": "assistant", "content": "def first(s): ..."},
        {"role": "user", "content": "Now in one line?"},
        {"role": "assistant", "content": "first = lambda s: ...", "quality": {"score": 4}},
    ],
    "taxonomy": [{"category": "Coding", "subcategory": ""}],
    "annotation_type": ["mistral-large"],
    "language": "en",
    "tags": ["mbpp", "self-critique"],
    "quality": {"judge": 5},
}

DPO_RECORD: dict[str, Any] = {
    "id": "pair-1",
    "conversation": [
        {"role": "user", "content": "Name a prime."},
        {"role": "assistant", "chosen": "7", "rejected": "8", "chosen_quality": {"score": 5}},
        {"role": "user", "content": "Another one?"},
        {"role": "assistant", "content": "11"},
        {"role": "user", "content": "And an even prime?"},
        {"role": "assistant", "chosen": ["2", "(the only one)"], "rejected": "4"},
    ],
    "language": "en",
}


def test_sft_rows_form_one_linear_tree_with_every_field() -> None:
    """One row per turn, linked parent to child, with the paper's and OASST's fields."""
    rows = OasstSftFormat().rows("602", SFT_RECORD)
    (tree,) = walk_trees(rows).values()
    assert [r["role"] for r in tree] == ["prompter", "assistant", "prompter", "assistant"]
    assert [r["message_level"] for r in tree] == [1, 2, 3, 4]
    assert [r["text"] for r in tree] == [t["content"] for t in SFT_RECORD["conversation"][1:]]
    for parent, child in itertools.pairwise(tree):
        assert child["parent_id"] == parent["message_id"]
    first = tree[0]
    assert first["conversation_id"] == "602"
    assert first["lang"] == "en"
    assert first["system"] == "You write Python."
    assert first["tags"] == ["mbpp", "self-critique"]
    assert first["taxonomy"] == [{"category": "Coding", "subcategory": ""}]
    assert first["annotation_type"] == ["mistral-large"]
    assert first["conversation_quality"] == {"judge": 5}
    assert tree[3]["quality"] == {"score": 4}
    assert all(r["rank"] is None for r in tree)


def test_dpo_pairs_are_ranked_siblings_and_the_conversation_continues_under_chosen() -> None:
    """Multi-turn DPO: each pair is two siblings (rank 0 chosen, rank 1 rejected leaf)."""
    rows = OasstDpoFormat().rows("pair-1", DPO_RECORD)
    walk_trees(rows)
    assert len(rows) == 8
    ranked = [r for r in rows if r["rank"] is not None]
    assert [(r["text"], r["rank"]) for r in ranked] == [
        ("7", 0),
        ("8", 1),
        ("2\n(the only one)", 0),
        ("4", 1),
    ]
    for chosen, rejected in (ranked[0:2], ranked[2:4]):
        assert chosen["parent_id"] == rejected["parent_id"]
        assert chosen["message_level"] == rejected["message_level"]
        assert children(rows, rejected["message_id"]) == []
    assert [r["text"] for r in children(rows, ranked[0]["message_id"])] == ["Another one?"]
    assert ranked[0]["quality"] == {"score": 5}
    path = chosen_path(rows)
    assert [r["text"] for r in path] == [
        "Name a prime.",
        "7",
        "Another one?",
        "11",
        "And an even prime?",
        "2\n(the only one)",
    ]


def test_ids_are_deterministic_and_distinct_per_record() -> None:
    """The same record gives the same ids (resume writes identical rows); another id differs."""
    again = OasstDpoFormat().rows("pair-1", DPO_RECORD)
    assert OasstDpoFormat().rows("pair-1", DPO_RECORD) == again
    other = OasstDpoFormat().rows("pair-2", DPO_RECORD)
    assert {r["message_id"] for r in again}.isdisjoint(r["message_id"] for r in other)


def test_sft_mapping_of_a_dpo_record_keeps_the_chosen_replies() -> None:
    """`oasst_sft` on a preference record writes one linear tree through the chosen replies."""
    rows = OasstSftFormat().rows("pair-1", DPO_RECORD)
    (tree,) = walk_trees(rows).values()
    assert [r["text"] for r in tree][1::2] == ["7", "11", "2\n(the only one)"]


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ({"question": "hi"}, "no 'conversation' field"),
        ({"conversation": []}, "non-empty list"),
        ({"conversation": "hello"}, "non-empty list"),
        ({"conversation": [{"role": "assistant", "content": "x"}]}, "alternate"),
        (
            {"conversation": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]},
            "alternate",
        ),
        ({"conversation": [{"role": "tool", "content": "x"}]}, "'tool'"),
        ({"conversation": [{"role": "user", "content": 3}]}, "must be a string"),
        (
            {
                "conversation": [
                    {"role": "user", "content": "a"},
                    {"role": "system", "content": "b"},
                ]
            },
            "only the first",
        ),
        (
            {
                "conversation": [
                    {"role": "user", "content": "a"},
                    {"role": "assistant", "chosen": "b"},
                ]
            },
            "no 'rejected'",
        ),
    ],
)
def test_records_of_the_wrong_shape_fail_with_the_reason(
    record: dict[str, Any], reason: str
) -> None:
    """A record that cannot be mapped raises RecordError naming the problem."""
    with pytest.raises(RecordError, match=reason):
        OasstSftFormat().rows("r", record)


def test_dpo_needs_at_least_one_pair() -> None:
    """`oasst_dpo` on a record without chosen/rejected is a record failure, not empty rows."""
    with pytest.raises(RecordError, match="chosen' and 'rejected"):
        OasstDpoFormat().rows("602", SFT_RECORD)


def test_the_format_is_chosen_from_flags_then_config() -> None:
    """`--format` and `--oasst` win over output_config; oasst takes its type from the mapper."""
    mapper = OutputConfig.model_validate({"oasst_mapper": {"type": "dpo", "required": "yes"}})
    lazy = OutputConfig.model_validate({"oasst_mapper": {"type": "dpo", "required": "no"}})
    assert select_format(None) is None
    assert select_format(None, oasst=True) == "oasst_sft"
    assert select_format(mapper) == "oasst_dpo"
    assert select_format(lazy) is None
    assert select_format(lazy, oasst=True) == "oasst_dpo"
    assert select_format(lazy, oasst="sft") == "oasst_sft"
    assert select_format(mapper, format_name="sft") == "sft"
    assert select_format(OutputConfig.model_validate({"format": "dpo"})) == "dpo"
    with pytest.raises(ConfigError, match="pass one"):
        select_format(None, oasst=True, format_name="sft")
    with pytest.raises(ConfigError, match=r"unknown output format 'sfft'.*did you mean 'sft'"):
        build_row_mapper("sfft")


def test_intermediate_writing_yes_is_refused_with_the_reason() -> None:
    """The paper's `intermediate_writing` key is accepted; `yes` is explained, not ignored."""
    assert OutputConfig.model_validate(
        {"oasst_mapper": {"required": "yes", "type": "sft", "intermediate_writing": "no"}}
    )
    with pytest.raises(ValueError, match="intermediate_writing"):
        OutputConfig.model_validate({"oasst_mapper": {"intermediate_writing": "yes"}})


TASK = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out/rows.jsonl}
graph_config:
  nodes:
    talk: {node_type: lambda, lambda: oasst_steps.talk, output_keys: conversation}
  edges:
    - {from: START, to: talk}
    - {from: talk, to: END}
output_config:
  output_map:
    id: {from: id}
    conversation: {from: conversation}
    language: {value: en}
    tags: {value: [$data_config.source.type]}
"""

STEPS = """
def talk(state):
    if state["n"] == 3:
        return "not a conversation"
    turns = [{"role": "user", "content": f"question {state['n']}"}]
    for turn in range(state["n"]):
        turns.append({"role": "assistant", "chosen": f"good {turn}", "rejected": f"bad {turn}"})
        turns.append({"role": "user", "content": f"follow-up {turn}"})
    turns.append({"role": "assistant", "content": "bye"})
    return turns
"""


def run_cli(tmp_path: Path, *flags: str, resume: bool = False) -> tuple[int, list[dict[str, Any]]]:
    rows = "".join(json.dumps({"id": f"c{n}", "n": n}) + "\n" for n in range(4))
    task = write_task(tmp_path, TASK, {"data.jsonl": rows, "oasst_steps.py": STEPS})
    code = main(["run", str(task), "--quiet", *flags])
    out = tmp_path / "out" / "rows.jsonl"
    return code, [json.loads(line) for line in out.read_text().splitlines()]


def test_cli_oasst_dpo_writes_walkable_trees_and_counts_unmappable_records(
    tmp_path: Path,
) -> None:
    """`grasp run --oasst dpo`: trees for mappable records; the others fail with a reason."""
    code, rows = run_cli(tmp_path, "--oasst", "dpo")
    assert code == 1
    trees = walk_trees(rows)
    assert sorted(trees) == ["c1", "c2"]
    assert len(trees["c2"]) == 1 + 2 * 3 + 1
    assert [r["text"] for r in chosen_path(trees["c2"])][-3:] == ["good 1", "follow-up 1", "bye"]
    summary = json.loads((tmp_path / "out" / "rows.summary.json").read_text())
    assert (summary["done"], summary["failed"]) == (2, 2)
    failures = [
        json.loads(line)
        for line in (tmp_path / "out" / "rows.failures.jsonl").read_text().splitlines()
    ]
    reasons = {f["id"]: f["reason"] for f in failures}
    assert "no assistant turn has 'chosen' and 'rejected'" in reasons["c0"]
    assert "'conversation' must be a non-empty list" in reasons["c3"]


def test_cli_oasst_sft_then_resume_with_another_format_is_refused(tmp_path: Path) -> None:
    """`--oasst` writes SFT trees; a rerun writes identical rows; resuming with `--format dpo`
    is refused (the journal records the format)."""
    code, rows = run_cli(tmp_path, "--oasst")
    assert code == 1
    assert sorted(walk_trees(rows)) == ["c0", "c1", "c2"]
    assert all(r["rank"] is None for r in rows)
    task = tmp_path / "task.yaml"
    assert main(["run", str(task), "--quiet", "--resume", "--format", "dpo"]) == 2
    assert main(["run", str(task), "--quiet", "--resume", "--oasst"]) == 1  # c3 failed earlier
    out = tmp_path / "out" / "rows.jsonl"

    def rows_now() -> list[dict[str, Any]]:
        found = [json.loads(line) for line in out.read_text().splitlines()]
        return sorted(found, key=lambda r: r["message_id"])

    expected = sorted(rows, key=lambda r: r["message_id"])
    assert rows_now() == expected
    assert main(["run", str(task), "--quiet", "--overwrite", "--oasst"]) == 1
    assert rows_now() == expected
    # a bare --oasst before the task file is the flag, not the task taken as its value
    assert main(["run", "--oasst", str(task), "--quiet", "--overwrite"]) == 1
    assert rows_now() == expected
