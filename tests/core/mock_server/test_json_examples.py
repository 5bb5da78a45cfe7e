"""The mock server answers a prompt that asks for JSON by showing a template (no
`response_format`) with JSON of the template's shape, as a real model would; a prompt that
merely quotes JSON data, or does not say JSON, is answered as before (echo)."""

from __future__ import annotations

import json
from typing import Any

import httpx

from grasp_core.mock_server import MockServer

CHAT = "/v1/chat/completions"


def _reply(server: MockServer, messages: list[dict[str, Any]]) -> str:
    body = {"model": "judge", "messages": messages}
    response = httpx.post(server.url + CHAT, json=body, timeout=5)
    assert response.status_code == 200, response.text
    content = response.json()["choices"][0]["message"]["content"]
    assert isinstance(content, str)
    return content


def test_a_json_template_in_the_prompt_is_answered_in_its_shape(mock_server: MockServer) -> None:
    """Keys kept; a quoted placeholder is a string, an unquoted one an integer 1..10, other
    values kept; an array template holds one item; the same request gets the same JSON."""
    prompt = (
        "Grade the answer. Reply with JSON only, like this:\n"
        '[{"grader": "strict", "score": <score>, "why": "<one sentence>"}]'
    )
    messages = [{"role": "system", "content": "Be fair."}, {"role": "user", "content": prompt}]
    text = _reply(mock_server, messages)
    (item,) = json.loads(text)
    assert set(item) == {"grader", "score", "why"}
    assert item["grader"] == "strict"
    assert isinstance(item["score"], int)
    assert 1 <= item["score"] <= 10
    assert isinstance(item["why"], str)
    assert item["why"]
    assert _reply(mock_server, messages) == text


def test_the_system_message_can_show_the_template(mock_server: MockServer) -> None:
    """A template in a system message counts when the user's message shows none."""
    system = 'Answer as JSON: {"label": "<label>", "sure": true}'
    text = _reply(
        mock_server,
        [{"role": "system", "content": system}, {"role": "user", "content": "Label: cats"}],
    )
    reply = json.loads(text)
    assert set(reply) == {"label", "sure"}
    assert reply["sure"] is True


def test_quoted_data_or_no_mention_of_json_is_echoed(mock_server: MockServer) -> None:
    """JSON without placeholders is data the prompt quotes, and a template in a prompt that
    never says JSON asks for nothing: both are echoed."""
    data = 'Summarise this JSON record: {"name": "Ada", "age": 36}'
    assert _reply(mock_server, [{"role": "user", "content": data}]) == data
    unasked = 'Fill in {"name": "<name>"} for me'
    assert _reply(mock_server, [{"role": "user", "content": unasked}]) == unasked


def test_a_placeholder_naming_a_type_gets_that_type(mock_server: MockServer) -> None:
    """Unquoted `<string>`, `<bool>`, `<list>` and `<float>` placeholders are a string, a
    boolean, a list and a number; another unquoted placeholder is an integer 1..10."""
    prompt = (
        "Return a valid JSON dictionary with exactly these keys:\n"
        '{"role": <string>, "ok": <bool>, "tags": <list>, "p": <float>, "n": <count>}'
    )
    reply = json.loads(_reply(mock_server, [{"role": "user", "content": prompt}]))
    assert isinstance(reply["role"], str)
    assert isinstance(reply["ok"], bool)
    assert isinstance(reply["tags"], list)
    assert isinstance(reply["p"], int | float)
    assert not isinstance(reply["p"], bool)
    assert isinstance(reply["n"], int)
    assert 1 <= reply["n"] <= 10
