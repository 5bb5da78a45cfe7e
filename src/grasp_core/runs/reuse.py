"""Reusing an earlier run's node outputs (``--reuse-from RUN --reuse-nodes a,b``).

The earlier run's journal holds every finished node run as a ``node_done`` event (record id,
node, iteration, state delta, condition labels). Those of the named nodes become the new
run's memo, as on a resume: the walker applies each stored delta instead of running the node,
and the nodes after it run on that state. The journal is only read, never cut or changed.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

from grasp_core.errors import ConfigError

__all__ = ["Memo", "merge_memos", "reuse_memo"]

Memo = dict[str, dict[tuple[str, int], dict[str, Any]]]
"""Per record id, the node runs to replay: ``(node, iteration) → {"d": delta, "routes": ...}``."""

_JOURNAL_SUFFIX = ".journal.jsonl"


def find_journal(source: Path) -> Path:
    """``source`` itself when it is a file, else the one journal in that folder."""
    if source.is_file():
        return source
    if not source.is_dir():
        raise ConfigError(
            f"--reuse-from {str(source)!r}: no such file or folder; give an earlier run's "
            f"journal (*{_JOURNAL_SUFFIX}) or the folder its output is in"
        )
    found = sorted(source.glob(f"*{_JOURNAL_SUFFIX}"))
    if len(found) != 1:
        listed = ", ".join(p.name for p in found) or "none"
        raise ConfigError(
            f"--reuse-from {str(source)!r}: expected one *{_JOURNAL_SUFFIX} in the folder, "
            f"found {listed}; give the journal file itself"
        )
    return found[0]


def reuse_memo(source: Path, nodes: Sequence[str], known: Collection[str]) -> Memo:
    """The node runs of ``nodes`` recorded in the journal at (or in) ``source``, by record;
    a name not among the graph's ``known`` nodes is an error listing them."""
    unknown = [name for name in nodes if name not in known]
    if unknown:
        raise ConfigError(
            f"--reuse-nodes names {', '.join(map(repr, unknown))}, not nodes of this graph; "
            f"its nodes are {', '.join(sorted(known))}"
        )
    journal = find_journal(source)
    wanted = set(nodes)
    memo: Memo = {}
    with journal.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.endswith(b"\n"):
                break  # a torn last line: the earlier run was killed mid-write
            try:
                event = json.loads(raw)
            except ValueError:
                raise ConfigError(
                    f"{journal}:{number}: the journal line is not JSON; pass another "
                    "--reuse-from, or drop --reuse-from and --reuse-nodes"
                ) from None
            if event.get("e") == "node_done" and _base(event["n"]) in wanted:
                entry = {"d": event["d"], "routes": event.get("routes", {})}
                memo.setdefault(str(event["r"]), {})[(event["n"], int(event["i"]))] = entry
    return memo


def merge_memos(resumed: Memo, reused: Memo) -> Memo:
    """``resumed`` (this run's own journal) with the ``reused`` node runs it lacks."""
    merged: Memo = {record: dict(runs) for record, runs in reused.items()}
    for record, runs in resumed.items():
        merged.setdefault(record, {}).update(runs)
    return merged


def _base(node: str) -> str:
    """The top-level node a journaled node run belongs to (``outer.inner`` → ``outer``)."""
    return node.split(".", 1)[0]
