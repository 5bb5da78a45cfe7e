"""The `structured_output` block of `llm`, `multi_llm` and `agent` nodes."""

from __future__ import annotations

import keyword
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Discriminator, Field, Tag, field_validator, model_validator

from grasp_core.errors import ConfigError
from grasp_core.plugin import StrictModel, parse_type

__all__ = ["FieldSpec", "InlineSchema", "StructuredOutputConfig"]

Scalar = str | int | float | bool
_ENUM_TYPES = ("str", "int", "float", "bool")


class FieldSpec(StrictModel):
    """One field of an inline schema: a `type`, an `enum`, or nested `fields`.

    In YAML a bare type name is short for `{type: ...}`: `score: int`.
    """

    type: str | None = None
    """A type name: `str`, `int`, `float`, `bool`, `any`, `list[str]`, `dict[str, int]`,
    unions with `|`. For a list of objects write `type: list` with `items: {fields: ...}`."""
    description: str | None = None
    """Tells the model what the field holds (it goes into the JSON schema)."""
    enum: list[Scalar] | None = None
    """The only values allowed: `enum: [good, bad]`."""
    fields: dict[str, FieldSpec] | None = None
    """A nested object's fields."""
    items: FieldSpec | None = None
    """With `type: list`, what each element is (an enum or nested `fields`)."""
    ge: int | float | None = None
    """Numbers: the smallest value allowed (inclusive)."""
    le: int | float | None = None
    """Numbers: the largest value allowed (inclusive)."""
    optional: bool = False
    """The model may leave the field out or null (it is then None)."""

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_type(value)
            except ConfigError as exc:
                raise ValueError(str(exc)) from None
        return value

    @field_validator("fields")
    @classmethod
    def _field_names(cls, value: dict[str, FieldSpec] | None) -> dict[str, FieldSpec] | None:
        if value is not None:
            check_field_names(value)
        return value

    @field_validator("enum")
    @classmethod
    def _enum(cls, value: list[Scalar] | None) -> list[Scalar] | None:
        if value is not None and not value:
            raise ValueError("`enum` needs at least one value")
        return value

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return {"type": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _one_kind(self) -> FieldSpec:
        if self.enum is not None and self.fields is not None:
            raise ValueError("a field has either `enum: [...]` or nested `fields`, not both")
        if self.fields is not None and self.type is not None:
            raise ValueError("a field with nested `fields` is an object; remove its `type`")
        if self.enum is not None and self.type not in (None, *_ENUM_TYPES):
            raise ValueError(f"an `enum` field's type is one of {', '.join(_ENUM_TYPES)}")
        if self.type is None and self.enum is None and self.fields is None:
            raise ValueError("a field needs `type`, `enum` or nested `fields`")
        numeric = (self.type or "").replace(" ", "").lower() in ("int", "float")
        if (self.ge is not None or self.le is not None) and not numeric:
            raise ValueError("`ge` and `le` bound numbers; use them with `type: int` or `float`")
        if self.items is not None and (self.type or "").replace(" ", "").lower() != "list":
            raise ValueError("`items` goes with `type: list` (a list of objects or enum values)")
        return self


def check_field_names(fields: dict[str, Any]) -> None:
    """Field names become JSON keys and Python attributes: identifiers, no leading `_`."""
    if not fields:
        raise ValueError("`fields` needs at least one `name: {type: ...}` entry")
    for name in fields:
        if not name.isidentifier() or keyword.iskeyword(name) or name.startswith("_"):
            raise ValueError(
                f"field name {name!r} must be a Python identifier not starting with `_` "
                "(letters, digits, underscores)"
            )


class InlineSchema(StrictModel):
    """A schema written in the task file."""

    fields: dict[str, FieldSpec]
    """Field name → `{type, description}`, `{enum: [...]}` or `{fields: {...}}`."""
    name: str | None = None
    """The schema's name sent to the model (default: the node's name)."""
    description: str | None = None
    """What the whole object is; goes into the JSON schema."""

    @field_validator("fields")
    @classmethod
    def _field_names(cls, value: dict[str, FieldSpec]) -> dict[str, FieldSpec]:
        check_field_names(value)
        return value


def _schema_kind(value: Any) -> str:
    """Route a `schema` value to one union member, so errors name only the relevant one.

    The tags are shaped like pydantic's own union locations, which YAML error paths skip."""
    if isinstance(value, Mapping | InlineSchema):
        return "dict"
    return "is-subclass[BaseModel]" if isinstance(value, type) else "str"


SchemaSpec = Annotated[
    Annotated[str, Tag("str")]
    | Annotated[InlineSchema, Tag("dict")]
    | Annotated[type[BaseModel], Tag("is-subclass[BaseModel]")],
    Discriminator(_schema_kind),
]


class StructuredOutputConfig(StrictModel):
    """Make the model answer JSON that validates against a schema, and store typed fields."""

    enabled: bool = True
    """`false` turns the block off without deleting it."""
    schema_: SchemaSpec = Field(alias="schema")
    """A dotted path to a pydantic model (`schemas.Verdict`, from the task folder), or
    inline `fields: {name: {type, description}}`; in Python, a model class."""
    max_attempts: int = Field(default=3, ge=1)
    """Model calls before the record fails; each retry shows the model its invalid reply
    and the validation error."""
    mode: Literal["auto", "native", "prompt"] = "auto"
    """`auto` sends the schema the way the model's `schema_mode` in the models file says
    (its default: `response_format` json_schema on openai, azure, hosted_vllm, mistral and
    ollama routes, else in the prompt); `native` does the same but refuses a model whose
    schema goes in the prompt; `prompt` always puts the JSON schema in the prompt."""
    strict: bool | None = None
    """OpenAI's `strict` flag; by default on when the schema allows it (every field
    required, no free-form dicts)."""
