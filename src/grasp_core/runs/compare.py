"""Compare two runs of a task on the same inputs: their metrics side by side and, record by
record (matched by id), what differs in their outputs.

Both outputs are read once per comparison (records kept as JSON text, ids in a dict); the
differences are then paged. A comparison is kept while neither file changes.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from grasp_core.runs.row_stores import open_rows
from grasp_core.runs.run_files import RunFiles

__all__ = ["RecordDiff", "RunComparison", "compare_runs", "run_metrics"]

Status = Literal["changed", "same", "only_left", "only_right"]
_METRICS = (
    "done",
    "failed",
    "filtered",
    "seconds",
    "totals.model_calls",
    "totals.retries",
    "totals.truncated_replies",
    "totals.empty_replies",
    "totals.prompt_tokens",
    "totals.completion_tokens",
    "totals.cost_usd",
)
_CACHE: OrderedDict[tuple[Any, ...], RunComparison] = OrderedDict()
_CACHE_LOCK = threading.Lock()


@dataclass(frozen=True)
class RecordDiff:
    """One record id's outputs in the two runs."""

    record_id: str
    status: Status
    fields: dict[str, tuple[Any, Any]]
    """Top-level field → (left value, right value) for the fields that differ; a field one
    side lacks is ``None`` there."""

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.record_id,
            "status": self.status,
            "fields": {k: {"left": a, "right": b} for k, (a, b) in self.fields.items()},
        }


@dataclass
class RunComparison:
    """Two runs' outputs matched by id."""

    left: Path
    right: Path
    order: list[tuple[str, Status]] = field(default_factory=list)
    """Every id with its status: the left run's order, then ids only the right run has."""
    _left: dict[str, str] = field(default_factory=dict, repr=False)
    _right: dict[str, str] = field(default_factory=dict, repr=False)

    def counts(self) -> dict[str, int]:
        found = {"changed": 0, "same": 0, "only_left": 0, "only_right": 0}
        for _, status in self.order:
            found[status] += 1
        return found

    def diffs(
        self, offset: int = 0, limit: int = 50, statuses: tuple[Status, ...] | None = None
    ) -> tuple[int, list[RecordDiff]]:
        """The number of ids with one of ``statuses`` (default: all but ``same``) and the
        page of their diffs from ``offset``."""
        wanted = statuses or ("changed", "only_left", "only_right")
        chosen = [(i, s) for i, s in self.order if s in wanted]
        page = chosen[max(0, offset) : max(0, offset) + max(0, limit)]
        return len(chosen), [self._diff(record_id, status) for record_id, status in page]

    def _diff(self, record_id: str, status: Status) -> RecordDiff:
        left = json.loads(self._left[record_id]) if record_id in self._left else {}
        right = json.loads(self._right[record_id]) if record_id in self._right else {}
        fields = {
            key: (left.get(key), right.get(key))
            for key in {**left, **right}
            if _text(left.get(key)) != _text(right.get(key))
        }
        return RecordDiff(record_id, status, fields)


def compare_runs(left: Path, right: Path, id_column: str = "id") -> RunComparison:
    """The records of the outputs ``left`` and ``right`` matched by ``id_column`` (a record
    without one is matched by its position)."""
    key = (_stamp(left), _stamp(right), id_column)
    with _CACHE_LOCK:
        if key in _CACHE:
            return _CACHE[key]
    comparison = RunComparison(left, right)
    comparison._left = _by_id(left, id_column)
    comparison._right = _by_id(right, id_column)
    for record_id, text in comparison._left.items():
        other = comparison._right.get(record_id)
        status: Status = "only_left" if other is None else "same" if other == text else "changed"
        comparison.order.append((record_id, status))
    comparison.order.extend(
        (record_id, "only_right")
        for record_id in comparison._right
        if record_id not in comparison._left
    )
    with _CACHE_LOCK:
        _CACHE[key] = comparison
        while len(_CACHE) > 4:
            _CACHE.popitem(last=False)
    return comparison


def run_metrics(output: Path) -> dict[str, Any]:
    """The run's headline metrics from its summary (``None`` where it has none): records
    done, failed and filtered, seconds, calls, retries, cut and empty replies, tokens, cost."""
    summary = RunFiles.of(output).summary_data() or {}
    found: dict[str, Any] = {}
    for name in _METRICS:
        value: Any = summary
        for part in name.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        found[name] = value
    return found


def _by_id(output: Path, id_column: str) -> dict[str, str]:
    records: dict[str, str] = {}
    for number, record in enumerate(
        open_rows(output, RunFiles.of(output).output_format).iter_rows()
    ):
        value = record.get(id_column)
        records[str(value) if value is not None else f"<row {number}>"] = _text(record)
    return records


def _text(value: Any) -> str:
    """A value as canonical JSON text (key order does not make two records differ)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def _stamp(path: Path) -> tuple[str, int, int]:
    resolved = path.resolve()
    stat = resolved.stat()
    return (str(resolved), stat.st_mtime_ns, stat.st_size)
