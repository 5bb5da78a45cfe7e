"""Shared checks for OASST message rows: walk every tree and verify its links."""

from __future__ import annotations

from collections import defaultdict
from typing import Any


def walk_trees(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Check the trees in ``rows``; return each conversation's rows, root first.

    Every id is unique, every ``parent_id`` names an emitted message of the same tree, each
    conversation has exactly one root (a prompter message at level 1, whose id is the tree's
    ``message_tree_id`` and ``root_message_id``), a reply sits one level below its parent,
    and roles alternate along every edge.
    """
    by_id = {row["message_id"]: row for row in rows}
    assert len(by_id) == len(rows), "message ids repeat"
    trees: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        trees[row["conversation_id"]].append(row)
    for conversation, members in trees.items():
        roots = [r for r in members if r["parent_id"] is None]
        assert len(roots) == 1, f"{conversation}: {len(roots)} roots"
        root = roots[0]
        assert (root["role"], root["message_level"]) == ("prompter", 1)
        for row in members:
            assert row["message_tree_id"] == row["root_message_id"] == root["message_id"]
            if row["parent_id"] is None:
                continue
            parent = by_id.get(row["parent_id"])
            assert parent is not None, f"{row['message_id']} names a parent that is not emitted"
            assert parent["conversation_id"] == conversation
            assert row["message_level"] == parent["message_level"] + 1
            assert {row["role"], parent["role"]} == {"prompter", "assistant"}
        assert members[0] is root, "the root is written first"
    return dict(trees)


def children(rows: list[dict[str, Any]], message_id: str) -> list[dict[str, Any]]:
    return [r for r in rows if r["parent_id"] == message_id]


def chosen_path(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """From the root, follow the best-ranked (or only) reply down to a leaf."""
    path = [next(r for r in rows if r["parent_id"] is None)]
    while replies := children(rows, path[-1]["message_id"]):
        path.append(min(replies, key=lambda r: r["rank"] if r["rank"] is not None else 99))
    return path
