"""``schema_config``: the shape every output record must have before it is written."""

from __future__ import annotations

from typing import Any

from pydantic import model_validator

from grasp_core.config._base import StrictModel

__all__ = ["SchemaConfig", "SchemaFieldConfig"]


class SchemaFieldConfig(StrictModel):
    """One required output field with its type and optional rules."""

    name: str
    """Output field name."""
    type: str = "any"
    """`str`, `int`, `float`, `bool`, `any`, `list[...]`, `dict[str, ...]` (nestable)."""
    optional: bool = False
    """Allow the field to be missing or null."""
    is_greater_than: float | None = None
    """Numbers must be greater than this."""
    is_less_than: float | None = None
    """Numbers must be less than this."""
    is_equal_to: Any = None
    """The value must equal this."""
    regex: str | None = None
    """Strings must match this regular expression (search)."""
    min_length: int | None = None
    """Strings and lists need at least this many characters/items."""
    max_length: int | None = None
    """Strings and lists may have at most this many characters/items."""
    one_of: list[Any] | None = None
    """The value must be one of these."""


class SchemaConfig(StrictModel):
    """Inline `fields`, or `schema`: a dotted path to a pydantic model."""

    fields: list[SchemaFieldConfig] | None = None
    """Field rules checked on every output record."""
    schema_: str | None = None
    """Dotted path to a pydantic model class that validates each output record."""

    model_config = StrictModel.model_config | {"protected_namespaces": ()}

    @model_validator(mode="before")
    @classmethod
    def _alias_schema(cls, data: Any) -> Any:
        if isinstance(data, dict) and "schema" in data:
            data = dict(data)
            data["schema_"] = data.pop("schema")
        return data

    @model_validator(mode="after")
    def _one(self) -> SchemaConfig:
        if self.fields is None and self.schema_ is None:
            raise ValueError("schema_config needs `fields` or `schema`")
        return self
