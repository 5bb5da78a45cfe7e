"""``add_new_field`` (SyGra: ``AddNewFieldTransform``): set fields to constant values."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any, ClassVar

from pydantic import BaseModel

from grasp_core.plugin import SourceItem, StrictModel, TransformEnv
from grasp_io._fs import coerce_config
from grasp_io.transforms._base import OneForOne, map_data

__all__ = ["AddNewField", "AddNewFieldParams"]


class AddNewFieldParams(StrictModel):
    """``params`` of ``add_new_field``."""

    mapping: dict[str, Any]
    """Field name → value (any YAML value) given to every record."""
    overwrite: bool = True
    """When a record already has the field: replace it (true) or keep the record's value."""


class AddNewField(OneForOne):
    """Adds the same fields to every record (each record gets its own copy of the value)."""

    config_model: ClassVar[type[BaseModel]] = AddNewFieldParams

    def __init__(self, mapping: dict[str, Any], *, overwrite: bool = True) -> None:
        self.mapping = mapping
        self.overwrite = overwrite

    @classmethod
    def from_config(cls, config: BaseModel, env: TransformEnv) -> AddNewField:
        params = coerce_config(config, AddNewFieldParams)
        return cls(params.mapping, overwrite=params.overwrite)

    def apply(self, items: Iterator[SourceItem]) -> Iterator[SourceItem]:
        return map_data(items, self._add)

    def _add(self, data: dict[str, Any]) -> dict[str, Any]:
        for name, value in self.mapping.items():
            if self.overwrite or name not in data:
                data[name] = copy.deepcopy(value)
        return data
