"""The `oasst` source: OASST exports (message rows or nested trees) back to conversations."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from grasp_core import registry
from grasp_core.protocols import SourceItem
from grasp_io.formats import OasstDpoFormat, OasstSftFormat
from grasp_io.sources import OasstSource, OasstSourceConfig

# A hand-made tree in the public dump's nested layout: a prompt with two ranked replies
# (and a deleted one), the best reply continued by a follow-up.
TREE: dict[str, Any] = {
    "message_tree_id": "t1",
    "tree_state": "ready_for_export",
    "prompt": {
        "message_id": "t1",
        "parent_id": None,
        "text": "What is a prime?",
        "role": "prompter",
        "lang": "en",
        "replies": [
            {
                "message_id": "a-worse",
                "parent_id": "t1",
                "text": "An odd number.",
                "role": "assistant",
                "lang": "en",
                "rank": 1,
            },
            {
                "message_id": "a-best",
                "parent_id": "t1",
                "text": "A number with exactly two divisors.",
                "role": "assistant",
                "lang": "en",
                "rank": 0,
                "replies": [
                    {
                        "message_id": "p2",
                        "parent_id": "a-best",
                        "text": "Is 1 prime?",
                        "role": "prompter",
                        "lang": "en",
                        "replies": [
                            {
                                "message_id": "a2",
                                "parent_id": "p2",
                                "text": "No.",
                                "role": "assistant",
                                "lang": "en",
                            }
                        ],
                    }
                ],
            },
            {
                "message_id": "a-deleted",
                "parent_id": "t1",
                "text": "spam",
                "role": "assistant",
                "lang": "en",
                "rank": None,
                "deleted": True,
            },
        ],
    },
}

SECOND_TREE: dict[str, Any] = {
    "message_tree_id": "t2",
    "prompt": {
        "message_id": "t2",
        "parent_id": None,
        "text": "Hi",
        "role": "prompter",
        "lang": "de",
        "replies": [{"message_id": "t2a", "parent_id": "t2", "text": "Hallo", "role": "assistant"}],
    },
}


def flatten(tree: dict[str, Any]) -> list[dict[str, Any]]:
    """The tree as dump message rows (what the public `*.messages.jsonl` files hold)."""
    rows: list[dict[str, Any]] = []

    def visit(node: dict[str, Any]) -> None:
        row = {k: v for k, v in node.items() if k != "replies"}
        rows.append({**row, "message_tree_id": tree["message_tree_id"]})
        for reply in node.get("replies", []):
            visit(reply)

    visit(tree["prompt"])
    return rows


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    text = "".join(json.dumps(r) + "\n" for r in rows)
    if path.suffix == ".gz":
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            handle.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def read(path: Path, **options: Any) -> list[SourceItem]:
    source_type = registry.sources.get("oasst")
    config = source_type.config_model.model_validate(
        {"type": "oasst", "file_path": path.name, **options}
    )
    source = source_type.from_config(config, path.parent)
    return list(source.iter_records())


def conversations(items: list[SourceItem]) -> dict[str, list[dict[str, Any]]]:
    assert [i.error for i in items if i.error] == []
    return {i.record_id: i.data["conversation"] for i in items}


def layouts(tmp_path: Path) -> list[Path]:
    trees = write_jsonl(tmp_path / "dump.trees.jsonl", [TREE, SECOND_TREE])
    rows = flatten(TREE)
    rows = [rows[2], rows[0], rows[4], rows[1], rows[3], rows[5]]  # any order within a tree
    messages = write_jsonl(tmp_path / "dump.messages.jsonl.gz", rows + flatten(SECOND_TREE))
    return [trees, messages]


BEST_PATH = [
    {"role": "user", "content": "What is a prime?"},
    {"role": "assistant", "content": "A number with exactly two divisors."},
    {"role": "user", "content": "Is 1 prime?"},
    {"role": "assistant", "content": "No."},
]


def test_both_layouts_give_one_record_per_leaf_path(tmp_path: Path) -> None:
    """Nested trees and (gzipped, shuffled) message rows read to the same conversations;
    deleted messages are skipped."""
    results = [conversations(read(path)) for path in layouts(tmp_path)]
    assert results[0] == results[1]
    assert results[0] == {
        "a-worse": [
            {"role": "user", "content": "What is a prime?"},
            {"role": "assistant", "content": "An odd number."},
        ],
        "a2": BEST_PATH,
        "t2a": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hallo"}],
    }
    (item,) = [i for i in read(layouts(tmp_path)[0]) if i.record_id == "t2a"]
    assert item.data["conversation_id"] == "t2"
    assert item.data["language"] == "de"


def test_branches_best_follows_the_best_ranked_reply(tmp_path: Path) -> None:
    """`branches: best` keeps only paths through rank-0 (best) assistant replies."""
    for path in layouts(tmp_path):
        found = conversations(read(path, branches="best"))
        assert found["a2"] == BEST_PATH
        assert "a-worse" not in found


def test_dpo_mode_turns_ranked_siblings_into_chosen_and_rejected(tmp_path: Path) -> None:
    """`mode: dpo`: best vs worst ranked sibling; trees without a ranked pair are left out."""
    for path in layouts(tmp_path):
        assert conversations(read(path, mode="dpo")) == {
            "a2": [
                {"role": "user", "content": "What is a prime?"},
                {
                    "role": "assistant",
                    "chosen": "A number with exactly two divisors.",
                    "rejected": "An odd number.",
                },
                {"role": "user", "content": "Is 1 prime?"},
                {"role": "assistant", "content": "No."},
            ]
        }


def test_dpo_rejected_is_the_worst_ranked_reply_never_an_unranked_one(tmp_path: Path) -> None:
    """Unranked siblings (rank null, or NaN as Parquet exports write it) sort last but are
    never the `rejected` reply: the pair stays best vs worst ranked."""
    reply = {"parent_id": "t1", "role": "assistant"}
    unranked: list[dict[str, Any]] = [
        {**reply, "message_id": "a-late", "text": "Late.", "rank": None},
        {**reply, "message_id": "a-nan", "text": "NaN.", "rank": float("nan")},
    ]
    tree = {**TREE, "prompt": {**TREE["prompt"]}}
    tree["prompt"]["replies"] = [unranked[1], *TREE["prompt"]["replies"], unranked[0]]
    path = write_jsonl(tmp_path / "late.trees.jsonl", [tree])
    found = conversations(read(path, mode="dpo"))
    assert list(found) == ["a2"]
    assert found["a2"][1] == {
        "role": "assistant",
        "chosen": "A number with exactly two divisors.",
        "rejected": "An odd number.",
    }


def test_a_repeated_tree_gives_one_failure_per_conversation_with_distinct_ids(
    tmp_path: Path,
) -> None:
    """Each conversation of a tree seen twice fails under its own id, so none hides another
    in the journal."""
    path = write_jsonl(tmp_path / "twice.trees.jsonl", [TREE, TREE])
    items = read(path)
    failed = [i for i in items if i.error]
    assert [i.record_id for i in items if not i.error] == ["a-worse", "a2"]
    assert len(failed) == 2
    assert len({i.record_id for i in failed}) == 2
    assert all(f"{path}:2: message id" in str(i.error) for i in failed)


def test_keep_deleted_reads_deleted_messages(tmp_path: Path) -> None:
    """`keep_deleted: true` reads messages the dump marks deleted."""
    found = conversations(read(layouts(tmp_path)[0], keep_deleted=True))
    assert found["a-deleted"][-1] == {"role": "assistant", "content": "spam"}


RECORDS: list[dict[str, Any]] = [
    {
        "conversation": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Name a colour."},
            {"role": "assistant", "content": "Blue.", "quality": {"score": 3}},
            {"role": "user", "content": "Another?"},
            {"role": "assistant", "content": "Red."},
        ],
        "language": "en",
        "tags": ["colours"],
        "taxonomy": [{"category": "Chat", "subcategory": ""}],
        "annotation_type": ["m"],
        "quality": {"judge": 4},
    },
    {"conversation": [{"role": "user", "content": "Only a question?"}], "language": "fr"},
]

DPO_RECORDS: list[dict[str, Any]] = [
    {
        "conversation": [
            {"role": "user", "content": "Name a prime."},
            {
                "role": "assistant",
                "chosen": "7",
                "rejected": "8",
                "chosen_quality": {"s": 1},
                "rejected_quality": {"s": 0},
            },
            {"role": "user", "content": "An even one?"},
            {"role": "assistant", "chosen": "2", "rejected": "4"},
        ],
        "language": "en",
    }
]


@pytest.mark.parametrize(
    ("fmt", "mode", "records"),
    [(OasstSftFormat, "sft", RECORDS), (OasstDpoFormat, "dpo", DPO_RECORDS)],
)
def test_mapped_rows_read_back_to_the_same_records(
    tmp_path: Path, fmt: Any, mode: str, records: list[dict[str, Any]]
) -> None:
    """Records → OASST rows → the `oasst` source gives back each record (id aside)."""
    rows = [row for i, record in enumerate(records) for row in fmt().rows(f"r{i}", record)]
    path = write_jsonl(tmp_path / "rows.jsonl", rows)
    items = read(path, mode=mode)
    assert [i.error for i in items] == [None] * len(records)
    for i, (item, record) in enumerate(zip(items, records, strict=True)):
        back = dict(item.data)
        assert back.pop("conversation_id") == f"r{i}"
        assert back.pop("id") == item.record_id
        assert back == record


def test_unreadable_trees_become_failed_items_naming_the_line(tmp_path: Path) -> None:
    """A bad line, an orphan and scattered tree rows each give one item with an error."""
    rows = flatten(SECOND_TREE)
    orphan = {**rows[1], "message_id": "x", "parent_id": "nowhere", "message_tree_id": "t3"}
    lines = [
        json.dumps(rows[0]),
        "{not json",
        json.dumps({**rows[0], "message_id": "t3", "message_tree_id": "t3"}),
        json.dumps(orphan),
        json.dumps(rows[1]),  # tree t2 again, after t3
    ]
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    items = read(path)
    errors = [i.error for i in items if i.error]
    assert len(errors) == 3
    assert f"{path}:2: not valid json" in errors[0]
    assert f"{path}:3: tree 't3'" in errors[1]
    assert "names parent 'nowhere'" in errors[1]
    assert f"{path}:5: the rows of tree 't2' are not adjacent" in errors[2]
    assert [i.record_id for i in items if not i.error] == ["t2"]


def test_start_and_limit_count_records(tmp_path: Path) -> None:
    """`start_index`/`num_records` apply to conversation records, in file order."""
    path = layouts(tmp_path)[0]
    config = OasstSourceConfig.model_validate({"type": "oasst", "file_path": str(path)})
    source = OasstSource.from_config(config, tmp_path)
    assert [i.record_id for i in source.iter_records()] == ["a-worse", "a2", "t2a"]
    assert [i.record_id for i in source.iter_records(start=1, limit=1)] == ["a2"]
