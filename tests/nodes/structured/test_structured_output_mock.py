"""The schema machinery on its own, and the mock server's JSON replies over HTTP."""

from __future__ import annotations

import json
import random
import urllib.request
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grasp_core import ModelSpec
from grasp_core.errors import ConfigError
from grasp_core.mock_server import MockServer
from grasp_core.mock_server._structured import schema_instance
from grasp_nodes.structured import StructuredOutput, StructuredOutputConfig

NAMES = st.sampled_from(
    ["alpha", "beta", "gamma", "json", "field_json", "copy", "model_name", "items"]
)
TYPES = st.sampled_from(
    [
        *("str", "int", "float", "bool", "any", "list[str]", "dict[str, int]", "int | str"),
        *("list[dict[str, float]]", "str | none"),
    ]
)


def _leaf() -> st.SearchStrategy[dict[str, Any]]:
    bounded = st.tuples(st.integers(-5, 5), st.integers(0, 10)).map(
        lambda t: {"type": "int", "ge": t[0], "le": t[0] + t[1]}
    )
    enums = st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, unique=True)
    return st.one_of(TYPES.map(lambda t: {"type": t}), enums.map(lambda e: {"enum": e}), bounded)


FIELD_SPECS = st.recursive(
    _leaf(),
    lambda inner: st.one_of(
        st.dictionaries(NAMES, inner, min_size=1, max_size=3).map(lambda f: {"fields": f}),
        inner.map(lambda item: {"type": "list", "items": item}),
    ),
    max_leaves=8,
)
SCHEMAS = st.dictionaries(NAMES, st.tuples(FIELD_SPECS, st.booleans()), min_size=1, max_size=4).map(
    lambda fields: {name: {**spec, "optional": opt} for name, (spec, opt) in fields.items()}
)


def build(
    config: StructuredOutputConfig, route: str = "openai/x", **entry: Any
) -> StructuredOutput | None:
    """The contract of node `n` calling model `m`, a models-file entry on ``route``."""
    spec = ModelSpec(model=route, **entry)
    return StructuredOutput.build(
        config, node="n", model="m", spec=spec, parameters={}, task_dir=None
    )


def contract(schema: Any, **options: Any) -> StructuredOutput:
    built = build(StructuredOutputConfig.model_validate({"schema": schema, **options}))
    assert built is not None
    return built


@settings(max_examples=60, deadline=None)
@given(SCHEMAS, st.integers(0, 2**32))
def test_mock_replies_validate_against_every_inline_schema(
    fields: dict[str, Any], seed: int
) -> None:
    """For any inline schema (nesting, enums, bounds, reserved names, optional fields), the
    value the mock generates from the JSON schema sent validates with the node's model, in
    the strict form too when there is one."""
    structured = contract({"fields": fields})
    value = schema_instance(structured.schema, random.Random(seed))
    parsed, error = structured.check(json.dumps(value))
    assert error is None, (value, structured.schema)
    assert parsed is not None
    assert set(parsed) == set(fields)


def test_strict_follows_the_schema_unless_set() -> None:
    """Strict mode is on for all-required schemas, off when a field is optional, and asking
    for it on a schema it cannot express is a config error."""
    required = {"fields": {"a": "int", "b": {"fields": {"c": "str"}}}}
    optional = {"fields": {"a": {"type": "int", "optional": True}}}
    assert contract(required).strict is True
    assert contract(required, strict=False).strict is False
    assert contract(optional).strict is False
    with pytest.raises(ConfigError, match="strict mode cannot express"):
        contract(optional, strict=True)


@pytest.mark.parametrize(
    ("provider", "mode", "native"),
    [
        ("openai", "auto", True),
        ("ollama_chat", "auto", True),
        ("huggingface", "auto", False),
        ("openai", "prompt", False),
    ],
)
def test_auto_mode_is_native_only_where_the_route_takes_response_format(
    provider: str, mode: str, native: bool
) -> None:
    """`auto` sends response_format on routes that support it, else the prompt instruction."""
    config = StructuredOutputConfig.model_validate(
        {"schema": {"fields": {"a": "int"}}, "mode": mode}
    )
    built = build(config, f"{provider}/x")
    assert built is not None
    assert built.native is native
    assert ("response_format" in built.parameters({})) is native
    sent = built.prompt([{"role": "user", "content": [{"type": "text", "text": "hi"}]}])
    parts = sent[-1]["content"]
    assert len(parts) == (1 if native else 2)


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1}',
        '```json\n{"a": 1}\n```',
        'Here it is:\n```\n{"a": 1}\n```\nHope that helps.',
        '  {"a": "1"}  ',
    ],
)
def test_replies_in_code_fences_or_with_lax_numbers_validate(text: str) -> None:
    """A ```json fence (with prose around it) is read, and "1" is accepted for an int."""
    assert contract({"fields": {"a": "int"}}).check(text) == ({"a": 1}, None)


def test_list_items_carry_their_bounds_and_description() -> None:
    """`items: {type: int, ge, le, description}` reaches the JSON schema's `items` and every
    element is validated against it."""
    items: dict[str, Any] = {"type": "int", "ge": 1, "le": 5, "description": "one rating"}
    structured = contract({"fields": {"scores": {"type": "list", "items": items}}})
    schema = structured.schema
    assert schema["properties"]["scores"]["items"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 5,
        "description": "one rating",
    }
    assert structured.check('{"scores": [1, 5]}') == ({"scores": [1, 5]}, None)
    parsed, error = structured.check('{"scores": [99, -5]}')
    assert parsed is None
    assert error is not None
    assert "scores.0: Input should be less than or equal to 5" in error
    assert "scores.1: Input should be greater than or equal to 1" in error


def test_a_reserved_name_beside_its_attribute_twin_keeps_both_fields() -> None:
    """`json` (kept by pydantic) and `field_json` are two fields; neither is dropped."""
    structured = contract({"fields": {"field_json": "int", "json": "str"}})
    assert set(structured.fields) == {"field_json", "json"}
    assert structured.check('{"field_json": 1, "json": "x"}') == (
        {"field_json": 1, "json": "x"},
        None,
    )
    parsed, error = structured.check('{"field_json": 1}')
    assert parsed is None
    assert error is not None
    assert "json" in error


def test_disabled_block_builds_nothing() -> None:
    """`enabled: false` leaves the node a plain text node."""
    config = StructuredOutputConfig.model_validate(
        {"enabled": False, "schema": {"fields": {"a": "int"}}}
    )
    assert build(config) is None


def post(url: str, body: dict[str, Any]) -> tuple[int, Any]:
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


SCHEMA = {
    "type": "object",
    "properties": {"n": {"type": "integer", "minimum": 3, "maximum": 4}},
    "required": ["n"],
}


def test_mock_answers_json_requests_in_every_dialect(mock_server: MockServer) -> None:
    """json_object gets a JSON object; json_schema and Ollama's `format` (chat and generate)
    get conforming JSON; the same request gets the same reply."""
    url = mock_server.url
    user = [{"role": "user", "content": "hi"}]
    status, body = post(url + "/v1/chat/completions", {"messages": user})
    assert (status, body["choices"][0]["message"]["content"]) == (200, "hi")
    fmt = {"type": "json_object"}
    _, body = post(url + "/v1/chat/completions", {"messages": user, "response_format": fmt})
    assert isinstance(json.loads(body["choices"][0]["message"]["content"]), dict)
    fmt = {"type": "json_schema", "json_schema": {"name": "x", "schema": SCHEMA}}
    replies = [
        post(url + "/v1/chat/completions", {"messages": user, "response_format": fmt})[1]
        for _ in range(2)
    ]
    texts = [r["choices"][0]["message"]["content"] for r in replies]
    assert texts[0] == texts[1]
    assert json.loads(texts[0])["n"] in (3, 4)
    _, body = post(url + "/api/chat", {"messages": user, "format": SCHEMA, "stream": False})
    assert json.loads(body["message"]["content"])["n"] in (3, 4)
    _, body = post(url + "/api/generate", {"prompt": "hi", "format": "json", "stream": False})
    assert isinstance(json.loads(body["response"]), dict)


def test_mock_rejects_unreadable_formats_and_ignores_reply_markers_without_json(
    mock_server: MockServer,
) -> None:
    """A malformed response_format or prompt schema block is a 400; a bad_json marker in a
    plain text request is only stripped from the echo."""
    url = mock_server.url + "/v1/chat/completions"
    user = [{"role": "user", "content": "hi [[mock:bad_json]]"}]
    status, body = post(url, {"messages": user})
    assert (status, body["choices"][0]["message"]["content"]) == (200, "hi")
    status, body = post(url, {"messages": user, "response_format": {"type": "xml"}})
    assert status == 400
    assert "json_schema" in body["error"]["message"]
    broken = [{"role": "user", "content": "<json-schema>{nope</json-schema>"}]
    status, body = post(url, {"messages": broken})
    assert status == 400
    assert "<json-schema> block is not JSON" in body["error"]["message"]
