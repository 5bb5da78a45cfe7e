"""``fields``: keep only some fields of every record, or drop some."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar, Self

from pydantic import BaseModel, model_validator

from grasp_core.plugin import SourceItem, StrictModel, TransformEnv
from grasp_io._fs import coerce_config
from grasp_io.transforms._base import OneForOne, map_data

__all__ = ["SelectFields", "SelectFieldsParams"]


class SelectFieldsParams(StrictModel):
    """``params`` of ``fields``: exactly one of ``keep`` and ``drop``."""

    keep: list[str] | None = None
    """The fields to keep, in this order; others are removed (a missing one is skipped)."""
    drop: list[str] | None = None
    """The fields to remove; others are kept."""

    @model_validator(mode="after")
    def _one_of(self) -> Self:
        if (self.keep is None) == (self.drop is None):
            raise ValueError("give exactly one of `keep` (fields to keep) and `drop`")
        return self


class SelectFields(OneForOne):
    """Column selection. Record ids are fixed when the source reads a record, so dropping
    the id field does not change them."""

    config_model: ClassVar[type[BaseModel]] = SelectFieldsParams

    def __init__(self, *, keep: list[str] | None = None, drop: list[str] | None = None) -> None:
        self.keep = keep
        self.drop = frozenset(drop or ())

    @classmethod
    def from_config(cls, config: BaseModel, env: TransformEnv) -> SelectFields:
        params = coerce_config(config, SelectFieldsParams)
        return cls(keep=params.keep, drop=params.drop)

    def apply(self, items: Iterator[SourceItem]) -> Iterator[SourceItem]:
        return map_data(items, self._select)

    def _select(self, data: dict[str, Any]) -> dict[str, Any]:
        if self.keep is not None:
            return {name: data[name] for name in self.keep if name in data}
        return {name: value for name, value in data.items() if name not in self.drop}
