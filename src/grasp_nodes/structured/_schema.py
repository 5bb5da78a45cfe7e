"""From a `schema` (dotted path, class or inline fields) to a pydantic model and JSON schema."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, create_model

from grasp_core.errors import ConfigError
from grasp_core.plugin import parse_type, resolve_dotted
from grasp_nodes.structured._config import FieldSpec, InlineSchema

__all__ = ["field_names", "resolve_model", "schema_name", "strict_schema"]


def resolve_model(
    schema: str | InlineSchema | type[BaseModel], *, name: str, task_dir: Path | None
) -> type[BaseModel]:
    """The pydantic model replies are validated with."""
    if isinstance(schema, InlineSchema):
        return _inline_model(schema.name or name, schema.fields, schema.description)
    model = (
        resolve_dotted(schema, task_dir, what="structured_output schema")
        if isinstance(schema, str)
        else schema
    )
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise ConfigError(
            f"structured_output.schema {schema!r} is not a pydantic model class; point it at "
            "a `class X(BaseModel)` or write inline `fields`"
        )
    return model


def schema_name(schema: str | InlineSchema | type[BaseModel], node: str) -> str:
    """The `json_schema.name` sent to the model: letters, digits, `_` and `-`, at most 64."""
    if isinstance(schema, InlineSchema):
        raw = schema.name or node
    elif isinstance(schema, str):
        raw = schema.rsplit(".", 1)[-1]
    else:
        raw = schema.__name__
    return re.sub(r"[^A-Za-z0-9_-]", "_", raw)[:64] or "reply"


def field_names(model: type[BaseModel]) -> tuple[str, ...]:
    """The JSON keys of ``model``'s fields (aliases where set)."""
    return tuple(info.alias or name for name, info in model.model_fields.items())


def _inline_model(
    name: str, fields: dict[str, FieldSpec], description: str | None
) -> type[BaseModel]:
    definitions: dict[str, Any] = {}
    for key, spec in fields.items():
        annotation = _annotation(spec, f"{name}_{key}")
        options = _constraints(spec)
        if _reserved(key):
            options["alias"] = key
        attribute = _attribute(key, taken=set(fields) | set(definitions))
        if spec.optional:
            definitions[attribute] = (annotation | None, Field(default=None, **options))
        else:
            definitions[attribute] = (annotation, Field(**options))
    model: type[BaseModel] = create_model(name, __doc__=description, **definitions)
    return model


def _annotation(spec: FieldSpec, name: str) -> Any:
    if spec.fields is not None:
        return _inline_model(name, spec.fields, spec.description)
    if spec.enum is not None:
        return Literal[tuple(spec.enum)]
    if spec.items is not None:
        return list[_item_annotation(spec.items, f"{name}_item")]  # type: ignore[misc]
    assert spec.type is not None  # FieldSpec guarantees one of type, enum, fields
    return parse_type(spec.type)


def _item_annotation(spec: FieldSpec, name: str) -> Any:
    """A list element's type, carrying its own ``ge``/``le``/``description`` so that both
    the JSON schema (``items: {minimum, maximum}``) and validation enforce them."""
    inner = _annotation(spec, name)
    if spec.optional:
        inner = inner | None
    constraints = {key: value for key, value in _constraints(spec).items() if value is not None}
    if spec.fields is not None:
        constraints.pop("description", None)  # already the nested object's own description
    return Annotated[inner, Field(**constraints)] if constraints else inner


def _constraints(spec: FieldSpec) -> dict[str, Any]:
    return {"description": spec.description, "ge": spec.ge, "le": spec.le}


def _reserved(key: str) -> bool:
    """Names pydantic keeps for itself (``json``, ``copy``, ``model_*``...)."""
    return key.startswith("model_") or hasattr(BaseModel, key)


def _attribute(key: str, *, taken: set[str]) -> str:
    """The Python attribute of JSON key ``key``: the key itself, or for a reserved name a
    ``field_`` name that no other field of the schema uses (``json`` next to ``field_json``
    becomes ``field_json_2``); the JSON key stays ``key`` through the alias."""
    if not _reserved(key):
        return key
    attribute, suffix = f"field_{key}", 2
    while attribute in taken:
        attribute, suffix = f"field_{key}_{suffix}", suffix + 1
    return attribute


def strict_schema(schema: dict[str, Any]) -> dict[str, Any] | None:
    """``schema`` as OpenAI's strict mode wants it (``additionalProperties: false`` on every
    object), or None when strict mode cannot express it: an optional field, or a free-form
    ``dict``."""
    result = copy.deepcopy(schema)
    return result if _make_strict(result) else None


_SCHEMA_MAPS = ("properties", "$defs", "definitions", "patternProperties")
"""Keywords whose value maps names to schemas (walked by value, never read as a schema)."""


def _make_strict(node: Any) -> bool:
    if isinstance(node, list):
        return all(_make_strict(item) for item in node)
    if not isinstance(node, dict):
        return True
    if node.get("type") == "object" or "properties" in node:
        properties = node.get("properties")
        if not isinstance(properties, dict) or node.get("additionalProperties", False):
            return False
        if set(node.get("required", ())) != set(properties):
            return False
        node["additionalProperties"] = False
    for key, value in node.items():
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            if not all(_make_strict(schema) for schema in value.values()):
                return False
        elif not _make_strict(value):
            return False
    return True
