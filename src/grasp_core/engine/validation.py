"""``schema_config``: check every output record before it is written."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from grasp_core.config import SchemaConfig, SchemaFieldConfig
from grasp_core.config.dotted import resolve_dotted
from grasp_core.errors import ConfigError

__all__ = ["RecordValidator", "parse_type"]

_SCALARS: dict[str, Any] = {
    "str": str,
    "int": int,
    "float": float,
    "bool": bool,
    "any": Any,
    "none": None,
}


def parse_type(text: str) -> Any:
    """Parse `list[dict[str, any]]`-style type names into Python types."""
    parsed, rest = _parse(text.replace(" ", "").lower(), text)
    if rest:
        raise ConfigError(f"type {text!r}: unexpected {rest!r}")
    return parsed


def _parse(text: str, original: str) -> tuple[Any, str]:
    options: list[Any] = []
    while True:
        match = re.match(r"[a-z]+", text)
        if match is None:
            raise ConfigError(_bad_type(original))
        name, text = match.group(), text[match.end() :]
        if name in ("list", "dict") and text.startswith("["):
            args: list[Any] = []
            text = text[1:]
            while True:
                arg, text = _parse(text, original)
                args.append(arg)
                if text.startswith(","):
                    text = text[1:]
                    continue
                if not text.startswith("]"):
                    raise ConfigError(_bad_type(original))
                text = text[1:]
                break
            if name == "list" and len(args) == 1:
                options.append(list[args[0]])  # type: ignore[valid-type]
            elif name == "dict" and len(args) == 2:
                options.append(dict[args[0], args[1]])  # type: ignore[valid-type]
            else:
                raise ConfigError(_bad_type(original))
        elif name in ("list", "dict"):
            options.append(list[Any] if name == "list" else dict[str, Any])
        elif name in _SCALARS:
            options.append(_SCALARS[name])
        else:
            raise ConfigError(_bad_type(original))
        if not text.startswith("|"):
            break
        text = text[1:]
    result = options[0]
    for option in options[1:]:
        result = result | option
    return result, text


def _bad_type(text: str) -> str:
    return (
        f"unknown type {text!r}; use str, int, float, bool, any, list[...], dict[str, ...] "
        "or unions with |"
    )


class RecordValidator:
    """Validates output records; built (and type names checked) when the task compiles."""

    def __init__(self, config: SchemaConfig, task_dir: Path | None) -> None:
        self._model: type[BaseModel] | None = None
        self._fields: list[tuple[SchemaFieldConfig, TypeAdapter[Any]]] = []
        if config.schema_ is not None:
            model = resolve_dotted(config.schema_, task_dir, what="schema model")
            if not (isinstance(model, type) and issubclass(model, BaseModel)):
                raise ConfigError(
                    f"schema_config.schema {config.schema_!r} is not a pydantic model"
                )
            self._model = model
        for index, spec in enumerate(config.fields or []):
            try:
                python_type = parse_type(spec.type)
            except ConfigError as exc:
                raise ConfigError(f"schema_config.fields[{index}].type: {exc}") from None
            if spec.regex is not None:
                try:
                    re.compile(spec.regex)
                except re.error as exc:
                    raise ConfigError(
                        f"schema_config.fields[{index}].regex: {spec.regex!r} is not a valid "
                        f"regular expression ({exc})"
                    ) from None
            self._fields.append((spec, TypeAdapter(python_type, config={"strict": True})))

    def violations(self, record: dict[str, Any]) -> list[dict[str, Any]]:
        """Every rule the record breaks: ``{"field", "rule", "value", "message"}``."""
        found: list[dict[str, Any]] = []
        if self._model is not None:
            try:
                self._model.model_validate(record)
            except ValidationError as exc:
                for err in exc.errors():
                    found.append(
                        {
                            "field": ".".join(map(str, err["loc"])) or "<record>",
                            "rule": err["type"],
                            "value": None if err["type"] == "missing" else err.get("input"),
                            "message": err["msg"],
                        }
                    )
            except Exception as exc:  # a validator that raises what pydantic does not wrap
                found.append(
                    {
                        "field": "<record>",
                        "rule": "validator_error",
                        "value": None,
                        "message": (
                            f"a validator of {self._model.__qualname__} raised "
                            f"{type(exc).__name__}: {exc} (raise ValueError in validators "
                            "for a plain rule violation)"
                        ),
                    }
                )
        for spec, adapter in self._fields:
            found.extend(_check_field(spec, adapter, record))
        return found


def _check_field(
    spec: SchemaFieldConfig, adapter: TypeAdapter[Any], record: dict[str, Any]
) -> list[dict[str, Any]]:
    def v(rule: str, value: Any, message: str) -> dict[str, Any]:
        return {"field": spec.name, "rule": rule, "value": value, "message": message}

    if spec.name not in record or record[spec.name] is None:
        return [] if spec.optional else [v("required", None, "field is missing or null")]
    value = record[spec.name]
    try:
        adapter.validate_python(value)
    except ValidationError:
        return [v("type", value, f"expected {spec.type}, got {type(value).__name__}")]
    out: list[dict[str, Any]] = []
    # A rule that cannot apply to the value's kind (a number rule on a string) is broken,
    # not skipped: the record does not have the shape the schema promises.
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if spec.is_greater_than is not None and not (number and value > spec.is_greater_than):
        out.append(v("is_greater_than", value, f"must be a number > {spec.is_greater_than}"))
    if spec.is_less_than is not None and not (number and value < spec.is_less_than):
        out.append(v("is_less_than", value, f"must be a number < {spec.is_less_than}"))
    if spec.is_equal_to is not None and value != spec.is_equal_to:
        out.append(v("is_equal_to", value, f"must equal {spec.is_equal_to!r}"))
    if spec.regex is not None and not (isinstance(value, str) and re.search(spec.regex, value)):
        out.append(v("regex", value, f"must be a string matching {spec.regex!r}"))
    sized = isinstance(value, str | list | dict)
    if spec.min_length is not None and not (sized and len(value) >= spec.min_length):
        out.append(v("min_length", value, f"must have length >= {spec.min_length}"))
    if spec.max_length is not None and not (sized and len(value) <= spec.max_length):
        out.append(v("max_length", value, f"must have length <= {spec.max_length}"))
    if spec.one_of is not None and value not in spec.one_of:
        out.append(v("one_of", value, f"must be one of {spec.one_of!r}"))
    return out
