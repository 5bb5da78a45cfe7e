"""Turn pydantic validation errors into messages that name file, line and YAML path."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from grasp_core.config.parameters import misspelt_parameters
from grasp_core.config.yaml_source import YamlDocument, YamlPath, format_yaml_path
from grasp_core.errors import ConfigError
from grasp_core.logs import get_logger

__all__ = ["validate_block"]

ModelT = TypeVar("ModelT", bound=BaseModel)
_log = get_logger(__name__)


def validate_block(
    model: type[ModelT],
    data: Any,
    *,
    path: YamlPath,
    document: YamlDocument | None,
    context: Mapping[str, Any] | None = None,
) -> ModelT:
    """Validate ``data`` (found at ``path`` in ``document``) against ``model``.

    Every problem becomes one line of a single ``ConfigError``; an unknown key gets the
    nearest valid key as a suggestion. A request parameter that looks misspelt is valid
    (it is sent as it is) but logged as a warning at its location.
    """
    try:
        validated = model.model_validate(data, context=dict(context or {}))
    except ValidationError as exc:
        problems = _problems(exc.errors(), model, data, path, document)
        header = "invalid task configuration" if len(problems) > 1 else ""
        body = "\n".join(f"  {p}" for p in problems) if header else problems[0]
        raise ConfigError(f"{header}:\n{body}" if header else body) from None
    for where, message in misspelt_parameters(validated, path):
        located = document.where(where) if document is not None else format_yaml_path(where)
        _log.warning(f"{located}: {message}")
    return validated


_EXPECTED = {
    "string_type": "a string",
    "list_type": "a list",
    "tuple_type": "a list",
    "set_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "dataclass_type": "a mapping",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "none_required": "null",
    "callable_type": "a callable",
}
"""What a type error expected, in YAML's words (never a Python class name)."""


def _problems(
    errors: list[Any],
    model: type[BaseModel],
    data: Any,
    base: YamlPath,
    document: YamlDocument | None,
) -> list[str]:
    """One line per place in the YAML. A value that fits no member of a union gets one
    line saying what each member expected (``expected a string or a list (got 42)``), not
    one line per member; a member that matched the value's shape (a list whose item is
    wrong) speaks alone, at the item."""
    grouped: dict[YamlPath, list[tuple[Any, bool]]] = {}
    for err in errors:
        loc = _clean_loc(err["loc"], data)
        in_union = len(loc) < len(err["loc"])  # a union member's marker was dropped
        grouped.setdefault(loc, []).append((err, in_union))
    deeper = {loc[:n] for loc in grouped for n in range(len(loc))}
    problems = []
    for loc, group in grouped.items():
        unions = [err for err, in_union in group if in_union and loc not in deeper]
        if len(unions) > 1:
            problems.append(_describe_union(unions, (*base, *loc), document))
        problems += [
            _describe(err, model, data, base, document)
            for err, in_union in group
            if not in_union or (len(unions) == 1 and loc not in deeper)
        ]
    return problems


def _describe_union(group: list[Any], full: YamlPath, document: YamlDocument | None) -> str:
    where = document.where(full) if document is not None else format_yaml_path(full)
    expected: list[str] = []
    for err in group:
        text = _expected(err)
        if text not in expected:
            expected.append(text)
    either = ", ".join(expected[:-1]) + f" or {expected[-1]}" if len(expected) > 1 else expected[0]
    return f"{where}: expected {either}{_got(group[0]['input'])}"


def _expected(err: Any) -> str:
    known = _EXPECTED.get(err["type"])
    if known is not None:
        return known
    if err["type"] == "literal_error":
        return str(err.get("ctx", {}).get("expected", "one of its values"))
    message = str(err["msg"]).removeprefix("Value error, ").removeprefix("Input should be ")
    return message[0].lower() + message[1:] if message else message


def _got(value: Any) -> str:
    """`` (got 42)``, `` (got a list)``; nothing for null (the key is there, but empty)."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return f" (got {'a mapping' if isinstance(value, dict) else 'a list'})"
    return f" (got {_short(value)})"


def _describe(
    err: Any, model: type[BaseModel], data: Any, base: YamlPath, document: YamlDocument | None
) -> str:
    loc = _clean_loc(err["loc"], data)
    full: YamlPath = (*base, *loc)
    where = document.where(full) if document is not None else format_yaml_path(full)
    kind = err["type"]
    if kind in ("model_type", "model_attributes_type", "dataclass_type"):
        return f"{where}: expected a mapping{_got(err.get('input'))}"  # not the class's name
    if kind == "extra_forbidden" and loc:
        bad = str(loc[-1])
        valid = _field_names(model, data, loc[:-1])
        hint = _suggest(bad, valid)
        known = ", ".join(sorted(valid)) if valid else "none"
        return f"{where}: unknown key {bad!r}{hint}; valid keys here: {known}"
    if kind == "missing":
        return f"{where}: required key is missing; add it"
    message = err["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    value = err.get("input")
    shown = "" if isinstance(value, dict | list) or value is None else f" (got {_short(value)})"
    return f"{where}: {message[0].lower()}{message[1:]}{shown}"


def _short(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 20] + f"... ({len(text)} chars)"


def _clean_loc(loc: Iterable[Any], data: Any) -> YamlPath:
    """Drop pydantic's union/tag markers so the location is a real YAML path.

    A part is real when it is a key (or index) of the data at that depth; a part that is
    not in the data is kept only where it cannot be a marker (the missing key itself).
    """
    cleaned: list[str | int] = []
    current: Any = data
    for part in loc:
        if _has_key(current, part):
            cleaned.append(part)
            current = current[part]
        elif not _is_marker(part):
            cleaned.append(part)
            current = None
    return tuple(cleaned)


def _has_key(data: Any, part: Any) -> bool:
    """Whether ``part`` is a key of ``data`` (a mapping) or an index into it (a list)."""
    if isinstance(data, list):
        return isinstance(part, int) and 0 <= part < len(data)
    try:
        return isinstance(data, Mapping) and part in data
    except TypeError:
        return False


_TYPE_NAMES = frozenset({"str", "list", "dict", "int", "float", "bool", "bytes", "none", "set"})
"""Pydantic's names for the plain members of a union (``str | int``)."""


def _is_marker(part: Any) -> bool:
    """Pydantic's names for union members and validators (``list[str]``, ``function-after``)."""
    return isinstance(part, str) and (
        "[" in part
        or part.startswith(("function-", "constrained-"))  # constrained-str: Field(min_length)
        or part in _TYPE_NAMES
    )


def _field_names(model: type[BaseModel], data: Any, loc: YamlPath) -> set[str]:
    """Valid keys of the (sub)model found at ``loc`` under ``model``."""
    current: Any = model
    for part in loc:
        if isinstance(part, int) or current is None:
            continue
        field = current.model_fields.get(part) if _is_model(current) else None
        if field is None and _is_model(current):
            field = next((f for f in current.model_fields.values() if f.alias == part), None)
        current = _model_in(field.annotation) if field is not None else None
    if not _is_model(current):
        return set()
    return {f.alias or name for name, f in current.model_fields.items()}


def _is_model(obj: Any) -> bool:
    return isinstance(obj, type) and issubclass(obj, BaseModel)


def _model_in(annotation: Any) -> Any:
    """The first pydantic model inside an annotation such as ``list[Edge] | None``."""
    if _is_model(annotation):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _suggest(bad: str, valid: Iterable[str]) -> str:
    match = difflib.get_close_matches(bad, list(valid), n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""
