"""``combine_records`` (SyGra: ``CombineRecords``): merge sliding windows of records."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

from pydantic import BaseModel, Field, field_validator

from grasp_core.plugin import SourceItem, StrictModel, TransformEnv, get_logger
from grasp_io._fs import coerce_config
from grasp_io.transforms._positions import skip_spans
from grasp_io.transforms.skip import SkipCount, count_spans

__all__ = ["CombineRecords", "CombineRecordsParams", "Delimited"]

_log = get_logger(__name__)
_PLACEHOLDER = re.compile(r"\$(\d+)")


class Delimited(StrictModel):
    """Join a field's values from every record of the window."""

    delimiter: str
    """Put between the values (each turned to text)."""


JoinRule = str | Delimited


class CombineRecordsParams(StrictModel):
    """``params`` of ``combine_records``."""

    skip: SkipCount = Field(default_factory=SkipCount)
    """Records left out before windows are formed: `{from_start: N, from_end: M}`."""
    combine: int = Field(default=2, ge=1)
    """Records per window."""
    shift: int = Field(default=1, ge=1)
    """Positions the window moves after each combined record (1: overlapping windows,
    equal to `combine`: disjoint ones, more: records in between are left out)."""
    join_column: dict[str, JoinRule] = Field(default_factory=dict)
    """Field → how to combine it: `first` or `last` (that record's value), `{delimiter: "\\n"}`
    (every value, joined), or a template where `$1`, `$2`... stand for the values of the
    window's first, second... record (`"$1-$2"`). Fields not listed keep the first value."""

    @field_validator("join_column")
    @classmethod
    def _rules(cls, value: dict[str, JoinRule]) -> dict[str, JoinRule]:
        for name, rule in value.items():
            if isinstance(rule, str) and rule not in ("first", "last") and "$" not in rule:
                raise ValueError(
                    f"join_column.{name}: {rule!r} is not a rule; use 'first', 'last', "
                    "{delimiter: ...} or a template with $1, $2..."
                )
        return value


class CombineRecords:
    """Merges each window of ``combine`` consecutive records into one record whose id joins
    theirs with ``+`` (`p1+p2`), stable across runs. Windows that would run past the end
    are not formed; the records only they would hold are left out (logged). Error items
    pass through and take no position."""

    config_model: ClassVar[type[BaseModel]] = CombineRecordsParams

    def __init__(self, params: CombineRecordsParams) -> None:
        self.params = params

    @classmethod
    def from_config(cls, config: BaseModel, env: TransformEnv) -> CombineRecords:
        return cls(coerce_config(config, CombineRecordsParams))

    def apply(self, items: Iterator[SourceItem]) -> Iterator[SourceItem]:
        size, shift = self.params.combine, self.params.shift
        window: deque[tuple[int, SourceItem]] = deque()
        position = next_start = 0
        for item in skip_spans(items, count_spans(self.params.skip)):
            if item.error is not None:
                yield item
                continue
            if position >= next_start:
                window.append((position, item))
            position += 1
            if len(window) == size:
                yield self._merge([member for _, member in window])
                next_start += shift
                while window and window[0][0] < next_start:
                    window.popleft()
        if window:
            _log.warning(
                "combine_records left out records at the end that did not fill a window",
                records=len(window),
                window=size,
            )

    def _merge(self, records: Sequence[SourceItem]) -> SourceItem:
        rules = self.params.join_column
        merged: dict[str, Any] = {}
        for record in records:
            for name, value in record.data.items():
                merged.setdefault(name, value)
        for name, rule in rules.items():
            merged[name] = _combine_field(name, rule, [r.data for r in records])
        return SourceItem("+".join(r.record_id for r in records), merged)


def _combine_field(name: str, rule: JoinRule, records: Sequence[dict[str, Any]]) -> Any:
    values = [record[name] for record in records if name in record]
    if isinstance(rule, Delimited):
        return rule.delimiter.join(_text(v) for v in values)
    if rule == "first":
        return values[0] if values else None
    if rule == "last":
        return values[-1] if values else None

    def substitute(match: re.Match[str]) -> str:
        index = int(match.group(1)) - 1
        if 0 <= index < len(records):
            return _text(records[index].get(name, ""))
        return match.group(0)

    return _PLACEHOLDER.sub(substitute, rule)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)
