"""``skip_records`` (SyGra: ``SkipRecords``): drop records by count or position ranges."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar, Literal, Self

from pydantic import AliasChoices, BaseModel, Field, field_validator, model_validator

from grasp_core.plugin import SourceItem, StrictModel, TransformEnv
from grasp_io._fs import coerce_config
from grasp_io.transforms._positions import Span, kept_count, parse_spans, skip_spans

__all__ = ["SkipCount", "SkipRecords", "SkipRecordsParams", "count_spans"]


class SkipCount(StrictModel):
    """How many records to skip at each end of the stream."""

    from_start: int = Field(
        default=0, ge=0, validation_alias=AliasChoices("from_start", "start", "from_beginning")
    )
    """Records skipped at the start (also spelled `start` or `from_beginning`)."""
    from_end: int = Field(default=0, ge=0, validation_alias=AliasChoices("from_end", "end"))
    """Records skipped at the end (also spelled `end`); held back in a buffer of this size,
    so the input still streams."""


def count_spans(count: SkipCount) -> list[Span]:
    """The position spans that skipping ``count`` records at each end removes."""
    spans = [Span(None, count.from_start)] if count.from_start else []
    return spans + ([Span(-count.from_end, None)] if count.from_end else [])


class SkipRecordsParams(StrictModel):
    """``params`` of ``skip_records``: a ``count`` or a ``range``."""

    skip_type: Literal["count", "range"] | None = None
    """`count` or `range`; by default whichever of the two keys is given."""
    count: SkipCount | None = None
    """Records to skip from the start and from the end (`{from_start: 2, from_end: 1}`)."""
    range: str | None = None
    """Python slices of positions to skip, comma-separated: `"[:10],[-10:]"` skips the first
    and last ten, `"[5:8]"` positions 5, 6 and 7."""

    @field_validator("range")
    @classmethod
    def _ranges(cls, value: str | None) -> str | None:
        if value is not None:
            parse_spans(value)
        return value

    @model_validator(mode="after")
    def _chosen(self) -> Self:
        kind = self.skip_type or ("range" if self.range is not None else "count")
        if kind == "range" and self.range is None:
            raise ValueError("skip_type 'range' needs `range` (such as '[:10],[-10:]')")
        if kind == "count" and self.count is None:
            raise ValueError(
                "give `count` ({from_start: N, from_end: M}) or `range` ('[:10],[-10:]')"
            )
        return self

    def spans(self) -> list[Span]:
        """The position spans to skip."""
        if self.skip_type == "range" or (self.skip_type is None and self.range is not None):
            assert self.range is not None
            return parse_spans(self.range)
        assert self.count is not None
        return count_spans(self.count)


class SkipRecords:
    """Skips records by position. Positions count records without an error (error items
    pass through and are counted as failed); skipping from the end holds back only as many
    records as it skips."""

    config_model: ClassVar[type[BaseModel]] = SkipRecordsParams

    def __init__(self, spans: list[Span]) -> None:
        self.spans = spans

    @classmethod
    def from_config(cls, config: BaseModel, env: TransformEnv) -> SkipRecords:
        return cls(coerce_config(config, SkipRecordsParams).spans())

    def apply(self, items: Iterator[SourceItem]) -> Iterator[SourceItem]:
        return skip_spans(items, self.spans)

    def count(self, items: int) -> int:
        """How many of ``items`` records are left (exact when none is an error item)."""
        return kept_count(self.spans, items)
