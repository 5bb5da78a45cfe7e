"""Structured replies in the mock server: JSON that conforms to the request's JSON schema.

A request asks for JSON natively (OpenAI/Azure ``response_format`` of type ``json_schema`` or
``json_object``, the latter with an optional ``schema`` as llama.cpp's server takes it; Ollama
``format``: a schema or ``"json"``) or in its prompt: a JSON schema between ``<json-schema>``
and ``</json-schema>`` in any message (GraSP's prompt-mode instruction uses these
delimiters), or by showing a JSON template (``_examples`` gives the rule). Either way the
reply is a JSON value generated from the schema, seeded by the request, so the same request
always gets the same reply. With ``raw_newlines`` (llama.cpp's
grammar-constrained output) its strings hold bare newline characters, which strict JSON
parsers refuse.

Markers make the reply wrong on purpose (only in requests that ask for JSON):

- ``[[mock:bad_json]]``: a reply that is not valid JSON, every time;
- ``[[mock:bad_json:2]]``: invalid for the first 2 attempts of the conversation;
- ``[[mock:schema_violation]]`` (``:N`` too): valid JSON with the wrong type in every field.

An *attempt* is counted from the conversation itself rather than from a tally of requests
seen (as ``[[mock:429:N]]`` does): a retry that feeds the error back changes the request, so
"the same request" never repeats. Attempt ``n`` is the one after ``n - 1`` plain assistant
answers (tool-call turns not counted) following the last message holding the marker. So a
transport retry of one attempt (after a 429) stays the same attempt, and nothing is
remembered between requests.
"""

from __future__ import annotations

import json
import math
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from grasp_core.mock_server._examples import example_schema

__all__ = [
    "STRUCTURED_MARKERS",
    "JsonRequest",
    "SchemaRequestError",
    "raw_newlines",
    "requested_json",
    "schema_instance",
    "structured_reply",
    "wanted_json",
]

STRUCTURED_MARKERS: Final = ("bad_json", "schema_violation")
_MARKER = re.compile(r"\[\[mock:(bad_json|schema_violation)(?::(\d+))?\]\]")
_PROMPT_SCHEMA = re.compile(r"<json-schema>\s*(.*?)\s*</json-schema>", re.DOTALL)
_BAD_JSON: Final = '{"answer": "this reply stops half way'
_WORDS: Final = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel")
_FORMATS: Final = {
    "date-time": "2024-01-02T03:04:05Z",
    "date": "2024-01-02",
    "time": "03:04:05",
    "email": "mock@example.com",
    "uri": "https://example.com/mock",
    "uuid": "123e4567-e89b-42d3-a456-426614174000",
}
_MAX_DEPTH = 8
_NEWLINE_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\n")
"""A ``\\n`` escape in JSON text (not the tail of an escaped backslash)."""


class SchemaRequestError(ValueError):
    """The request's JSON schema or format cannot be read; the server replies 400."""


@dataclass(frozen=True, slots=True)
class JsonRequest:
    """A request for JSON: ``schema`` is None for "any JSON object" (``json_object``)."""

    schema: dict[str, Any] | None
    kind: str = "prompt"
    """How it was asked: ``json_schema``, ``json_object`` (``response_format`` types),
    ``format`` (Ollama), ``prompt`` (a ``<json-schema>`` block) or ``example`` (a JSON
    template the prompt shows)."""


def requested_json(payload: dict[str, Any], *, ollama: bool) -> JsonRequest | None:
    """What JSON the request body asks for natively, or None for plain text."""
    if ollama:
        fmt = payload.get("format")
        if fmt is None or fmt == "":
            return None
        if fmt == "json":
            return JsonRequest(None, "format")
        if isinstance(fmt, dict):
            return JsonRequest(fmt, "format")
        raise SchemaRequestError(f"'format' must be \"json\" or a JSON schema, got {fmt!r}")
    response_format = payload.get("response_format")
    if response_format is None:
        return None
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if kind == "text":
        return None
    if kind == "json_object":
        schema = response_format.get("schema")
        if schema is not None and not isinstance(schema, dict):
            raise SchemaRequestError(
                f"response_format json_object's `schema` must be a JSON schema, got {schema!r}"
            )
        return JsonRequest(schema, "json_object")
    if kind == "json_schema":
        spec = response_format.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, dict) else None
        if not isinstance(schema, dict):
            raise SchemaRequestError(
                "response_format json_schema needs `json_schema: {name, schema: {...}}`"
            )
        return JsonRequest(schema, "json_schema")
    raise SchemaRequestError(
        f"response_format type must be text, json_object or json_schema, got {response_format!r}"
    )


def wanted_json(
    native: JsonRequest | None, texts: Sequence[str], messages: Sequence[Any] = ()
) -> JsonRequest | None:
    """The JSON the request asks for: natively, else by a schema block in its prompt, else
    by a JSON template its instructions show (``_examples``)."""
    if native is not None:
        return native
    schema = _prompt_schema(texts)
    if schema is not None:
        return JsonRequest(schema)
    shown = example_schema(messages, texts)
    return JsonRequest(shown, "example") if shown is not None else None


def structured_reply(
    messages: Sequence[Any],
    texts: Sequence[str],
    wanted: JsonRequest,
    key: str,
    *,
    raw: bool = False,
) -> str:
    """The JSON reply text (seeded by the request ``key``), or a broken one by marker.

    ``raw``: generated strings hold newlines, written as bare characters (``raw_newlines``).
    """
    schema = wanted.schema
    broken = _broken(messages, texts)
    if broken == "bad_json":
        return _BAD_JSON
    rng = random.Random(int(key[:16], 16))
    separator = "\n" if raw else " "
    if schema is None:
        value: Any = {"answer": separator.join(rng.choice(_WORDS) for _ in range(5))}
    elif broken == "schema_violation":
        value = _violation(schema, schema)
    else:
        value = schema_instance(schema, rng, separator=separator)
    text = json.dumps(value)
    return raw_newlines(text) if raw else text


def raw_newlines(text: str) -> str:
    """JSON ``text`` with every ``\\n`` escape inside its strings written as a bare newline
    character, as llama.cpp's grammar-constrained output has them."""
    return _NEWLINE_ESCAPE.sub(lambda match: match.group(1) + "\n", text)


def _prompt_schema(texts: Sequence[str]) -> dict[str, Any] | None:
    for text in reversed(texts):
        found = _PROMPT_SCHEMA.findall(text)
        if found:
            try:
                schema = json.loads(found[-1])
            except ValueError as exc:
                raise SchemaRequestError(f"the <json-schema> block is not JSON: {exc}") from None
            if not isinstance(schema, dict):
                raise SchemaRequestError("the <json-schema> block must hold a JSON object")
            return schema
    return None


def _broken(messages: Sequence[Any], texts: Sequence[str]) -> str | None:
    """The marker kind that applies to this attempt, or None."""
    for position in range(len(texts) - 1, -1, -1):
        found = _MARKER.findall(texts[position])
        if not found:
            continue
        kind, count = found[-1]
        answers = sum(
            1
            for message in messages[position + 1 :]
            if isinstance(message, dict)
            and message.get("role") == "assistant"
            and not message.get("tool_calls")
        )
        return kind if not count or answers < int(count) else None
    return None


def schema_instance(schema: dict[str, Any], rng: random.Random, *, separator: str = " ") -> Any:
    """A value valid for ``schema`` (types, enums, bounds, lengths, required fields, ``$ref``);
    ``pattern`` is not honoured. Generated strings join their words with ``separator``."""
    return _instance(schema, schema, _Draw(rng, separator), 0)


@dataclass(frozen=True, slots=True)
class _Draw:
    """The random source of one generated value, and how its strings join words."""

    rng: random.Random
    separator: str


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with its local ``$ref`` followed; a remote, dangling or endless one
    resolves to ``{}`` (answered with a string)."""
    for _ in range(_MAX_DEPTH):
        ref = schema.get("$ref")
        if ref is None:
            return schema
        target: Any = root if isinstance(ref, str) and ref.startswith("#") else None
        for part in ref[1:].split("/") if target is not None else ():
            if part:
                target = target.get(part) if isinstance(target, dict) else None
        rest = {k: v for k, v in schema.items() if k != "$ref"}
        schema = {**target, **rest} if isinstance(target, dict) else rest
    return {}


def _type_of(schema: dict[str, Any]) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        if "properties" in schema:
            return "object"
        if "items" in schema:
            return "array"
    return kind if isinstance(kind, str) else None


def _instance(schema: Any, root: dict[str, Any], draw: _Draw, depth: int) -> Any:
    rng = draw.rng
    if not isinstance(schema, dict):
        return "mock"
    schema = _resolve(schema, root)
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return rng.choice(schema["enum"])
    for key in ("anyOf", "oneOf", "allOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            concrete = [o for o in options if not (isinstance(o, dict) and o.get("type") == "null")]
            return _instance((concrete or options)[0], root, draw, depth)
    kind = _type_of(schema)
    if kind == "object":
        return _object(schema, root, draw, depth)
    if kind == "array":
        fewest = int(schema.get("minItems", 0))
        count = max(fewest, min(2, int(schema.get("maxItems", 2))))
        if depth >= _MAX_DEPTH:
            count = fewest
        items = schema.get("items", {})
        return [_instance(items, root, draw, depth + 1) for _ in range(count)]
    if kind == "integer":
        low, high = _bounds(schema, integer=True)
        return rng.randint(int(low), int(high))
    if kind == "number":
        low, high = _bounds(schema, integer=False)
        return min(high, max(low, round(rng.uniform(low, high), 2)))
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "null":
        return None
    return _string(schema, draw)


def _object(
    schema: dict[str, Any], root: dict[str, Any], draw: _Draw, depth: int
) -> dict[str, Any]:
    properties = schema.get("properties") or {}
    required = set(schema.get("required") or ())
    if depth >= _MAX_DEPTH:
        properties = {k: v for k, v in properties.items() if k in required}
    value = {name: _instance(sub, root, draw, depth + 1) for name, sub in properties.items()}
    extra = schema.get("additionalProperties")
    if not properties and isinstance(extra, dict) and depth < _MAX_DEPTH:
        value["key"] = _instance(extra, root, draw, depth + 1)
    return value


def _bounds(schema: dict[str, Any], *, integer: bool) -> tuple[float, float]:
    step: float = 1 if integer else 0.01
    low: Any = schema.get("minimum")
    if low is None and "exclusiveMinimum" in schema:
        low = schema["exclusiveMinimum"] + step
    high: Any = schema.get("maximum")
    if high is None and "exclusiveMaximum" in schema:
        high = schema["exclusiveMaximum"] - step
    low = 0 if low is None else low
    high = low + 100 if high is None else high
    if integer:
        low, high = math.ceil(low), math.floor(high)
    return low, max(low, high)


def _string(schema: dict[str, Any], draw: _Draw) -> str:
    rng = draw.rng
    fmt = schema.get("format")
    if isinstance(fmt, str) and fmt in _FORMATS:
        return _FORMATS[fmt]
    text = draw.separator.join(rng.choice(_WORDS) for _ in range(rng.randint(2, 5)))
    low = int(schema.get("minLength", 0))
    high = int(schema.get("maxLength", max(low, len(text))))
    while len(text) < low:
        text += " " + rng.choice(_WORDS)
    return text[:high]


def _violation(schema: dict[str, Any], root: dict[str, Any]) -> Any:
    """Valid JSON of the wrong shape: every property of an object with a wrong-typed value."""
    schema = _resolve(schema, root)
    if _type_of(schema) == "object" and schema.get("properties"):
        return {name: _wrong(sub, root) for name, sub in schema["properties"].items()}
    return _wrong(schema, root)


def _wrong(schema: Any, root: dict[str, Any]) -> Any:
    schema = _resolve(schema, root) if isinstance(schema, dict) else {}
    if "enum" in schema or "const" in schema:
        return "not one of the allowed values"
    kind = _type_of(schema)
    if kind == "string":
        return 12345
    if kind in ("integer", "number"):
        return "not a number"
    if kind == "boolean":
        return "not a boolean"
    if kind == "array":
        return "not a list"
    return "not an object" if kind == "object" else [["not", "this"]]
