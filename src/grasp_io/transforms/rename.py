"""``rename_fields`` (SyGra: ``RenameFieldsTransform``): rename keys of every record."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from pydantic import BaseModel

from grasp_core.plugin import SourceItem, StrictModel, TransformEnv
from grasp_io._fs import coerce_config
from grasp_io.transforms._base import OneForOne, map_data

__all__ = ["RenameFields", "RenameFieldsParams"]


class RenameFieldsParams(StrictModel):
    """``params`` of ``rename_fields``."""

    mapping: dict[str, str]
    """Old field name → new field name, applied in order."""
    overwrite: bool = False
    """When the new name already exists in a record: replace its value (true), or leave
    both fields as they are (false)."""


class RenameFields(OneForOne):
    """Renames fields record by record; a record without the old field is left as it is."""

    config_model: ClassVar[type[BaseModel]] = RenameFieldsParams

    def __init__(self, mapping: dict[str, str], *, overwrite: bool = False) -> None:
        self.mapping = mapping
        self.overwrite = overwrite

    @classmethod
    def from_config(cls, config: BaseModel, env: TransformEnv) -> RenameFields:
        params = coerce_config(config, RenameFieldsParams)
        return cls(params.mapping, overwrite=params.overwrite)

    def apply(self, items: Iterator[SourceItem]) -> Iterator[SourceItem]:
        return map_data(items, self._rename)

    def _rename(self, data: dict[str, Any]) -> dict[str, Any]:
        for old, new in self.mapping.items():
            if old in data and (self.overwrite or new not in data):
                data[new] = data.pop(old)
        return data
