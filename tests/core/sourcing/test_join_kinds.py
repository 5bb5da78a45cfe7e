"""What each join yields: sequential, random, cross and column joins of a secondary to the
primary, and vstack of several sources; ids unique and stable across windows and seeds.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grasp_core.errors import SourceError
from grasp_core.protocols import SourceItem
from tests.core.sourcing.join_tasks import PERSONA_JOIN, items, pairs, task_with


def test_sequential_join_cycles_through_the_secondary(tmp_path: Path) -> None:
    """Record n gets secondary record n, starting over when the secondary runs out; the
    secondary's fields land under its alias and the primary id is kept."""
    got = items(task_with(tmp_path, PERSONA_JOIN.format(kind="sequential")))
    assert got[0] == SourceItem(
        "q0", {"id": "q0", "text": "question 0", "persona": {"id": "p0", "name": "Ada"}}
    )
    assert [item.data["persona"]["name"] for item in got] == ["Ada", "Bo", "Cy"] * 2


def test_start_and_limit_do_not_shift_sequential_pairs(tmp_path: Path) -> None:
    """start_index counts joined records, so a record keeps its partner whatever the window."""
    task = task_with(tmp_path, PERSONA_JOIN.format(kind="sequential"))
    window = items(task, start=2, limit=2)
    assert [(i.record_id, i.data["persona"]["name"]) for i in window] == [
        ("q2", "Cy"),
        ("q3", "Ada"),
    ]


def test_random_join_depends_on_seed_and_record_id_only(tmp_path: Path) -> None:
    """A random partner is fixed by the run seed and the record id: the same in every run,
    in any window, and different under another seed."""
    task = task_with(tmp_path, PERSONA_JOIN.format(kind="random"), n=60)
    first = pairs(task, seed=3)
    assert pairs(task, seed=3) == first
    assert set(first.values()) == {"Ada", "Bo", "Cy"}
    window = items(task, seed=3, start=40, limit=5)
    assert {i.record_id: i.data["persona"]["name"] for i in window} == {
        f"q{n}": first[f"q{n}"] for n in range(40, 45)
    }
    assert pairs(task, seed=4) != first


def test_cross_join_pairs_every_record_with_every_partner(tmp_path: Path) -> None:
    """A cross join yields one record per pair, with ids that name both sides."""
    got = items(task_with(tmp_path, PERSONA_JOIN.format(kind="cross"), n=2))
    assert [item.record_id for item in got] == [
        "q0|persona:p0",
        "q0|persona:p1",
        "q0|persona:p2",
        "q1|persona:p0",
        "q1|persona:p1",
        "q1|persona:p2",
    ]
    assert got[4].data == {
        "id": "q1|persona:p1",
        "text": "question 1",
        "persona": {"id": "p1", "name": "Bo"},
    }


def test_column_join_matches_keys_as_text(tmp_path: Path) -> None:
    """A column join finds the partner by key (a CSV's "7" matches JSON's 7); a record
    without a match, or without the key, fails with the reason instead of vanishing."""
    primary = "".join(
        json.dumps(row) + "\n"
        for row in [
            {"id": "a", "doc": 7},
            {"id": "b", "doc": 8},
            {"id": "c", "doc": 9},
            {"id": "d"},
        ]
    )
    docs = "doc_id,title\n7,Seven\n8,Eight\n"
    task = task_with(
        tmp_path,
        """
        - {type: disk, file_path: primary.jsonl, alias: main, join_type: primary}
        - type: disk
          file_path: docs.csv
          alias: document
          join_type: column
          primary_key: doc
          join_key: doc_id
        """,
        {"primary.jsonl": primary, "docs.csv": docs},
    )
    got = items(task)
    assert got[0] == SourceItem(
        "a", {"id": "a", "doc": 7, "document": {"doc_id": "7", "title": "Seven"}}
    )
    assert got[1].data["document"]["title"] == "Eight"
    assert got[2].error is not None
    assert "no record of source 'document' has doc_id = '9'" in got[2].error
    assert got[3].error is not None
    assert "has no field 'doc'" in got[3].error


def test_column_join_needs_unique_keys(tmp_path: Path) -> None:
    """Two secondary records with one key stop the run with both ids named."""
    task = task_with(
        tmp_path,
        """
        - {type: disk, file_path: questions.jsonl, alias: q, join_type: primary}
        - {type: disk, file_path: dup.jsonl, alias: d, join_type: column, primary_key: id,
           join_key: k}
        """,
        {"dup.jsonl": '{"id": "x", "k": 1}\n{"id": "y", "k": 1}\n'},
    )
    with pytest.raises(SourceError, match="records 'x' and 'y' both have k = '1'"):
        items(task)


def test_vstack_concatenates_with_alias_prefixed_ids(tmp_path: Path) -> None:
    """vstack yields every source's records in list order; ids carry the alias, so two files
    with the same ids do not collide."""
    task = task_with(
        tmp_path,
        """
        - {type: disk, file_path: questions.jsonl, alias: q, join_type: vstack}
        - {type: disk, file_path: more.jsonl, alias: more, join_type: vstack}
        """,
        {"more.jsonl": '{"id": "q0", "text": "again"}\n'},
        n=2,
    )
    assert [(i.record_id, i.data["text"]) for i in items(task)] == [
        ("q:q0", "question 0"),
        ("q:q1", "question 1"),
        ("more:q0", "again"),
    ]
    assert [i.record_id for i in items(task, start=1, limit=1)] == ["q:q1"]
