"""What structured output sends: the JSON schema in response_format on native routes (Ollama:
`format`), or in the prompt in prompt mode; the same request bodies on both transports.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grasp_core.mock_server import MockServer
from tests.nodes.structured.helpers import bodies, outputs, run


@pytest.mark.parametrize(
    ("route", "transport"),
    [
        ("openai", "auto"),
        ("openai", "litellm"),
        ("azure", "auto"),
        ("azure", "litellm"),
        ("hosted_vllm", "auto"),
        ("mistral", "litellm"),
        ("ollama_chat", "litellm"),
    ],
)
def test_native_route_sends_the_schema_and_stores_a_validated_object(
    tmp_path: Path, server: MockServer, route: str, transport: str
) -> None:
    """Native routes carry the JSON schema in response_format (Ollama: `format`), and the
    validated object lands in the output key as a dict."""
    result = run(tmp_path, server, ["grade A", "grade B"], route=route, transport=transport)
    assert result.done == 2, result.failure_reasons
    for record in outputs(tmp_path).values():
        verdict = record["verdict"]
        assert set(verdict) == {"score", "reason"}
        assert isinstance(verdict["score"], int)
        assert 1 <= verdict["score"] <= 5
        assert isinstance(verdict["reason"], str)
        assert verdict["reason"]
        assert record["messages"][-1]["content"] == json.dumps(verdict)
    for body in bodies(server):
        if route == "ollama_chat":
            schema = body["format"]
        else:
            assert body["response_format"]["type"] == "json_schema"
            spec = body["response_format"]["json_schema"]
            assert (spec["name"], spec["strict"]) == ("judge", True)
            schema = spec["schema"]
            assert schema["additionalProperties"] is False
        assert schema["required"] == ["score", "reason"]
        assert schema["properties"]["score"]["maximum"] == 5
        assert "<json-schema>" not in json.dumps(body["messages"])


@pytest.mark.parametrize("transport", ["auto", "litellm"])
def test_prompt_mode_puts_the_schema_in_the_prompt_and_keeps_the_transcript_clean(
    tmp_path: Path, server: MockServer, transport: str
) -> None:
    """`mode: prompt` sends no response_format; the schema instruction is appended to the last
    message, the mock answers conforming JSON, and `messages` keeps the original prompt."""
    result = run(tmp_path, server, ["grade A"], mode="prompt", transport=transport)
    assert result.done == 1, result.failure_reasons
    (body,) = bodies(server)
    assert "response_format" not in body
    last = body["messages"][-1]["content"]
    assert last.startswith("grade A\n\n")
    assert "<json-schema>" in last
    schema = json.loads(last.split("<json-schema>")[1].split("</json-schema>")[0])
    assert schema["required"] == ["score", "reason"]
    record = outputs(tmp_path)[0]
    assert 1 <= record["verdict"]["score"] <= 5
    assert record["messages"][0] == {"role": "user", "content": "grade A"}


@pytest.mark.parametrize("route", ["openai", "hosted_vllm", "azure"])
def test_both_transports_send_the_same_structured_request_bodies(
    tmp_path: Path, server: MockServer, route: str
) -> None:
    """The fast lane sends response_format and the feedback turns exactly as litellm does."""
    sent = {}
    for transport in ("auto", "litellm"):
        run(
            tmp_path / transport,
            server,
            ["x [[mock:bad_json:1]]"],
            route=route,
            transport=transport,
        )
        sent[transport] = bodies(server)
    assert len(sent["auto"]) == 2
    assert sent["auto"] == sent["litellm"]
