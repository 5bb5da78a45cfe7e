"""Faults the mock server injects: `[[mock:...]]` markers, latency, and seeded random faults."""

from __future__ import annotations

import json
import time

import anyio
import httpx
import pytest

from grasp_core.mock_server import FAULT_KINDS, Latency, MockServer
from grasp_core.mock_server._http import Request, Response
from tests.core.mock_server.helpers import CHAT, chat, content_of, user


@pytest.mark.parametrize("status", [429, 500, 503])
def test_status_markers_answer_openai_errors(client: httpx.Client, status: int) -> None:
    """[[mock:429]], [[mock:500]] and [[mock:503]] answer that status in OpenAI's error shape."""
    response = chat(client, f"hi [[mock:{status}]]")
    assert response.status_code == status
    assert set(response.json()["error"]) >= {"message", "type", "code"}


def test_429_carries_retry_after(client: httpx.Client) -> None:
    """A 429 sends Retry-After: the server default, or the marker's retry_after option."""
    assert chat(client, "a [[mock:429]]").headers["retry-after"] == "0.05"
    response = chat(client, "b [[mock:429:2:retry_after=1]]")
    assert response.headers["retry-after"] == "1"
    assert response.headers["retry-after-ms"] == "1000"


def test_count_suffix_faults_only_first_times(server: MockServer, client: httpx.Client) -> None:
    """[[mock:500:2]] fails the first 2 sends of that exact request, then answers normally."""
    statuses = [chat(client, "retry me [[mock:500:2]]").status_code for _ in range(4)]
    assert statuses == [500, 500, 200, 200]
    assert chat(client, "another [[mock:500:2]]").status_code == 500
    server.reset()
    assert chat(client, "retry me [[mock:500:2]]").status_code == 500


def test_timeout_marker_hangs_then_answers(client: httpx.Client) -> None:
    """[[mock:timeout]] waits hang_seconds (or hang=S) before a normal 200."""
    started = time.perf_counter()
    response = chat(client, "slow [[mock:timeout]]")
    assert response.status_code == 200
    assert time.perf_counter() - started >= 0.3
    with pytest.raises(httpx.ReadTimeout):
        client.post(CHAT, json={"messages": user("[[mock:timeout:hang=5]]")}, timeout=0.2)


def test_drop_marker_closes_connection_without_response(
    server: MockServer, client: httpx.Client
) -> None:
    """[[mock:drop]] closes the TCP connection; the client sees a protocol error."""
    with pytest.raises(httpx.RemoteProtocolError):
        chat(client, "bye [[mock:drop]]")
    assert server.requests()[-1]["status"] is None
    assert server.stats()["by_status"] == {"dropped": 1}
    assert chat(client, "still serving").status_code == 200


def test_malformed_marker_answers_invalid_json(client: httpx.Client) -> None:
    """[[mock:malformed]] answers 200 with a body that is not valid JSON."""
    response = chat(client, "[[mock:malformed]]")
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)


def test_empty_marker_answers_no_choices(client: httpx.Client) -> None:
    """[[mock:empty]] answers 200 with choices: []."""
    response = chat(client, "[[mock:empty]]")
    assert response.status_code == 200
    assert response.json()["choices"] == []


def test_blank_marker_answers_a_reply_with_no_text_and_no_tool_calls(
    client: httpx.Client,
) -> None:
    """[[mock:blank]] answers 200 with one choice whose content is "" (finish_reason stop, no
    completion tokens), as a real server now and then does; `:1` blanks the first try only."""
    tools = [{"type": "function", "function": {"name": "f", "parameters": {}}}]
    blank = chat(client, 'x [[mock:blank]] [[mock:call:f {"a": 1}]]', tools=tools).json()
    (choice,) = blank["choices"]
    assert choice["message"] == {"role": "assistant", "content": ""}
    assert choice["finish_reason"] == "stop"
    assert blank["usage"]["completion_tokens"] == 0
    assert content_of(chat(client, "once [[mock:blank:1]]")) == ""
    assert content_of(chat(client, "once [[mock:blank:1]]")) == "once"


def test_bad_markers_and_bodies_answer_400(client: httpx.Client) -> None:
    """An unknown marker, conflicting faults or a non-JSON body answer 400 naming the problem."""
    unknown = chat(client, "[[mock:teapot]]")
    assert unknown.status_code == 400
    assert "teapot" in unknown.json()["error"]["message"]
    assert chat(client, "[[mock:429]] [[mock:500]]").status_code == 400
    assert client.post(CHAT, content=b"{not json").status_code == 400


def test_latency_model_and_marker_delay_answers() -> None:
    """A fixed latency delays every answer; [[mock:latency=S]] overrides it per request.

    The latency is long enough that the override's bound holds on a loaded machine."""
    with MockServer(latency=Latency.fixed(2.0)).running() as url, httpx.Client(base_url=url) as c:
        started = time.perf_counter()
        chat(c, "fast [[mock:latency=0]]")
        assert time.perf_counter() - started < 1.0
        started = time.perf_counter()
        chat(c, "normal")
        assert time.perf_counter() - started >= 2.0


@pytest.mark.anyio
async def test_latency_counts_from_when_the_request_arrived() -> None:
    """A drawn latency is the time from the request's arrival to its answer: the time spent
    since it arrived (the mock's own parsing and logging, or a wait) is part of it, so a
    request that arrived a latency ago is answered at once, and one that just arrived waits."""
    server = MockServer(latency=Latency.fixed(60.0))
    body = json.dumps({"model": "mock-model", "messages": user("hi")}).encode()

    def arrived(seconds_ago: float) -> Request:
        headers = {"content-type": "application/json"}
        return Request("POST", CHAT, {}, headers, body, True, time.monotonic() - seconds_ago)

    with anyio.fail_after(30):  # half the latency: only a request not kept waiting is back
        answer = await server._handle(arrived(61.0))
    assert isinstance(answer, Response)
    assert answer.status == 200
    assert json.loads(answer.body)["choices"][0]["message"]["content"] == "hi"
    with pytest.raises(TimeoutError), anyio.fail_after(0.5):
        await server._handle(arrived(0.0))


def test_latency_parse_accepts_documented_forms() -> None:
    """Latency.parse reads seconds, fixed:S and lognormal:MEDIAN:SIGMA and names bad input."""
    assert Latency.parse("0.2") == Latency.fixed(0.2)
    assert Latency.parse("fixed:0.2") == Latency.fixed(0.2)
    assert Latency.parse("lognormal:0.5:0.25") == Latency.lognormal(median=0.5, sigma=0.25)
    with pytest.raises(ValueError, match=r"'gamma:1'.*lognormal:MEDIAN:SIGMA"):
        Latency.parse("gamma:1")
    with pytest.raises(ValueError, match="'fixed:-1'"):
        Latency.parse("fixed:-1")


def test_random_faults_are_reproducible_by_seed() -> None:
    """fault_rate faults the same requests for the same seed, and different ones otherwise."""

    def statuses(seed: int) -> list[int]:
        server = MockServer(fault_rate=0.4, faults=("429", "500", "503"), seed=seed)
        with server.running() as url, httpx.Client(base_url=url) as http_client:
            return [chat(http_client, f"request {i}").status_code for i in range(40)]

    first = statuses(seed=1)
    assert first == statuses(seed=1)
    assert first != statuses(seed=2)
    assert 5 <= sum(status != 200 for status in first) <= 30
    assert set(first) <= {200, 429, 500, 503}


def test_fault_kinds_are_the_documented_ones() -> None:
    """The fault kinds are exactly the documented markers."""
    assert set(FAULT_KINDS) == {
        "429",
        "500",
        "503",
        "timeout",
        "drop",
        "malformed",
        "empty",
        "blank",
    }
