"""Where a Ray run keeps its shards: ``<output>.shards/shard-00003/`` beside the output.

Each shard folder holds an ordinary run's files (``output.jsonl``, its journal, failures and
summary); ``plan.json`` records the shard count, so a resume splits the input the same way.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grasp_core.errors import ResumeError

__all__ = ["SHARD_OUTPUT", "ShardLayout"]

SHARD_OUTPUT = "output.jsonl"
"""Every shard writes JSON Lines; the driver merges them into the task's sink."""


@dataclass(frozen=True)
class ShardLayout:
    """The shards folder of one run's output."""

    root: Path

    @classmethod
    def beside(cls, journal_path: Path) -> ShardLayout:
        """The layout for the run whose local journal would be ``journal_path``."""
        stem = journal_path.name.removesuffix(".journal.jsonl")
        return cls(journal_path.with_name(f"{stem}.shards"))

    @property
    def plan_path(self) -> Path:
        return self.root / "plan.json"

    def folder(self, index: int) -> Path:
        return self.root / f"shard-{index:05d}"

    def output(self, index: int) -> Path:
        return self.folder(index) / SHARD_OUTPUT

    def failures(self, index: int) -> Path:
        return self.folder(index) / "output.failures.jsonl"

    def journal(self, index: int) -> Path:
        return self.folder(index) / "output.journal.jsonl"

    def prepare(
        self,
        *,
        num_shards: int | None,
        default: int,
        resume: bool,
        overwrite: bool,
        plan: dict[str, Any],
    ) -> int:
        """Check the folder against the options and write the plan; return the shard count.

        A fresh run refuses to reuse an earlier run's shards; a resume keeps the recorded
        count (a different ``num_shards`` would split the input differently)."""
        if overwrite and self.root.exists():
            shutil.rmtree(self.root)
        recorded = self._recorded()
        if recorded is not None and not resume:
            raise ResumeError(
                f"{self.root} holds the shards of an earlier run of this task. Pass --resume "
                "to continue it, or --overwrite to start over"
            )
        if recorded is not None:
            count = int(recorded["num_shards"])
            if num_shards is not None and num_shards != count:
                raise ResumeError(
                    f"{self.plan_path} says this run was split into {count} shards; resuming "
                    f"with --num-shards {num_shards} would split the input differently. "
                    f"Drop --num-shards (or pass {count}), or pass --overwrite"
                )
            return count
        count = num_shards or default
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.plan_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({**plan, "num_shards": count}, indent=2), encoding="utf-8")
        tmp.replace(self.plan_path)
        return count

    def _recorded(self) -> dict[str, Any] | None:
        if not self.plan_path.is_file():
            return None
        try:
            found: dict[str, Any] = json.loads(self.plan_path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise ResumeError(
                f"{self.plan_path} is not valid JSON ({exc}); pass --overwrite to start over"
            ) from None
        return found
