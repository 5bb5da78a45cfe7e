"""The bundled mock model server, exercised over real loopback HTTP."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from grasp_core.mock_server import FAULT_KINDS, Latency, MockServer

os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"  # before litellm is first imported

CHAT = "/v1/chat/completions"


@pytest.fixture
def anyio_backend() -> str:
    """The server is an asyncio protocol and litellm needs asyncio."""
    return "asyncio"


@pytest.fixture
def server() -> Iterator[MockServer]:
    """A running server with no latency."""
    mock = MockServer(retry_after=0.05, hang_seconds=0.3)
    with mock.running():
        yield mock


@pytest.fixture
def client(server: MockServer) -> Iterator[httpx.Client]:
    """A keep-alive client bound to ``server``."""
    with httpx.Client(base_url=server.url, timeout=5.0) as http_client:
        yield http_client


def user(text: Any) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def chat(client: httpx.Client, text: Any, **body: Any) -> httpx.Response:
    return client.post(CHAT, json={"model": "mock-model", "messages": user(text), **body})


def content_of(response: httpx.Response) -> str:
    text: str = response.json()["choices"][0]["message"]["content"]
    return text


def test_echo_returns_last_user_message_without_markers(client: httpx.Client) -> None:
    """The reply is the last user message with markers removed and whitespace stripped."""
    messages = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "  say [[mock:latency=0]]hello  "},
    ]
    response = client.post(CHAT, json={"model": "gpt-x", "messages": messages})
    body = response.json()
    assert response.status_code == 200
    assert body["object"] == "chat.completion"
    assert body["model"] == "gpt-x"
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "say hello"}
    assert body["choices"][0]["finish_reason"] == "stop"


def test_list_content_joins_text_parts_and_counts_media(client: httpx.Client) -> None:
    """Text parts of a list content are joined by newlines; media parts are counted after."""
    parts = [
        {"type": "text", "text": "describe"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
        {"type": "text", "text": "this picture"},
    ]
    assert content_of(chat(client, parts)) == "describe\nthis picture [1 image]"
    audio = {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}
    url = {"type": "audio_url", "audio_url": {"url": "data:audio/wav;base64,AAAA"}}
    image = parts[1]
    assert content_of(chat(client, [image, image, audio, url])) == "[2 images, 2 audio]"


def test_max_tokens_truncates_reply_and_reports_length(client: httpx.Client) -> None:
    """max_tokens (or max_completion_tokens) keeps that many words and finishes with length."""
    truncated = chat(client, "one two three four five", max_tokens=3).json()
    assert truncated["choices"][0]["message"]["content"] == "one two three"
    assert truncated["choices"][0]["finish_reason"] == "length"
    assert truncated["usage"]["completion_tokens"] == 3
    newer = chat(client, "one two three", max_completion_tokens=2).json()
    assert newer["choices"][0]["message"]["content"] == "one two"
    roomy = chat(client, "one two", max_tokens=5).json()
    assert roomy["choices"][0]["finish_reason"] == "stop"


def test_usage_counts_words_over_all_messages(client: httpx.Client) -> None:
    """prompt_tokens counts words of every message, completion_tokens those of the reply."""
    messages = [{"role": "system", "content": "a b c"}, {"role": "user", "content": "d e"}]
    usage = client.post(CHAT, json={"model": "m", "messages": messages}).json()["usage"]
    assert usage == {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}


def test_lorem_mode_is_deterministic_per_request() -> None:
    """reply_mode='lorem' answers 20-60 words that depend only on model and messages."""
    replies = []
    for _ in range(2):
        server = MockServer(reply_mode="lorem")
        with server.running() as url, httpx.Client(base_url=url) as http_client:
            replies.append([content_of(chat(http_client, f"q{i}")) for i in range(3)])
    assert replies[0] == replies[1]
    assert len(set(replies[0])) == 3
    assert all(20 <= len(reply.split()) <= 60 for reply in replies[0])


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


def test_max_tokens_cuts_streamed_and_lorem_replies_too() -> None:
    """A streamed reply and a lorem reply stop at max_tokens words with finish_reason length."""
    with MockServer(reply_mode="lorem").running() as url, httpx.Client(base_url=url) as client:
        lorem = chat(client, "anything", max_tokens=4)
        streamed = chat(client, "anything", max_tokens=4, stream=True).text
    assert len(content_of(lorem).split()) == 4
    assert lorem.json()["choices"][0]["finish_reason"] == "length"
    events = [json.loads(line[6:]) for line in streamed.splitlines() if line[6:].startswith("{")]
    text = "".join(e["choices"][0]["delta"].get("content") or "" for e in events if e["choices"])
    assert text == content_of(lorem)
    assert [c["finish_reason"] for e in events for c in e["choices"]][-1] == "length"


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


def test_latency_parse_accepts_documented_forms() -> None:
    """Latency.parse reads seconds, fixed:S and lognormal:MEDIAN:SIGMA and names bad input."""
    assert Latency.parse("0.2") == Latency.fixed(0.2)
    assert Latency.parse("fixed:0.2") == Latency.fixed(0.2)
    assert Latency.parse("lognormal:0.5:0.25") == Latency.lognormal(median=0.5, sigma=0.25)
    with pytest.raises(ValueError, match=r"'gamma:1'.*lognormal:MEDIAN:SIGMA"):
        Latency.parse("gamma:1")
    with pytest.raises(ValueError, match="'fixed:-1'"):
        Latency.parse("fixed:-1")


def test_azure_path_answers_with_deployment_as_model(client: httpx.Client) -> None:
    """Azure's deployments path answers the chat shape with model = deployment."""
    path = "/openai/deployments/my-gpt/chat/completions?api-version=2024-06-01"
    body = client.post(path, json={"messages": user("azure hi")}).json()
    assert body["model"] == "my-gpt"
    assert body["choices"][0]["message"]["content"] == "azure hi"


def test_ollama_paths_answer_ollama_shapes(client: httpx.Client) -> None:
    """/api/chat and /api/generate answer Ollama's non-streaming shapes."""
    body = {"model": "llama3", "messages": user("hi ollama"), "stream": False}
    answer = client.post("/api/chat", json=body).json()
    assert answer["message"] == {"role": "assistant", "content": "hi ollama"}
    assert answer["done"] is True
    assert answer["done_reason"] == "stop"
    assert (answer["prompt_eval_count"], answer["eval_count"]) == (2, 2)
    generated = client.post("/api/generate", json={"model": "llama3", "prompt": "go on"}).json()
    assert generated["response"] == "go on"


def test_stream_answers_server_sent_events_with_usage(client: httpx.Client) -> None:
    """stream: true answers chat.completion.chunk events, usage in the last, then [DONE]."""
    response = chat(client, "stream these words", stream=True)
    assert response.headers["content-type"] == "text/event-stream"
    events = [line[len("data: ") :] for line in response.text.split("\n\n") if line]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(event) for event in events[:-1]]
    assert {chunk["object"] for chunk in chunks} == {"chat.completion.chunk"}
    text = "".join(chunk["choices"][0]["delta"].get("content", "") for chunk in chunks)
    assert text == "stream these words"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["usage"]["completion_tokens"] == 3


def test_unknown_path_answers_404_error(client: httpx.Client) -> None:
    """An unknown path answers 404 in OpenAI's error shape."""
    response = client.get("/v2/nothing")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_url"


def test_models_health_stats_and_reset(server: MockServer, client: httpx.Client) -> None:
    """GET /v1/models, /health and /_mock/stats answer; POST /_mock/reset clears counters."""
    assert client.get("/v1/models").json()["data"][0]["id"] == "mock-model"
    assert client.get("/health").json() == {"status": "ok"}
    chat(client, "count me")
    assert client.get("/_mock/stats").json()["by_status"] == {"200": 1}
    assert client.post("/_mock/reset").status_code == 200
    assert server.stats()["requests"] == 0
    assert server.requests() == []


@pytest.mark.anyio
async def test_stats_track_max_in_flight() -> None:
    """Concurrent requests overlap during latency and max_in_flight records the peak."""
    server = MockServer(latency=Latency.fixed(0.3))
    statuses: list[int] = []

    async def call(http_client: httpx.AsyncClient, i: int) -> None:
        response = await http_client.post(CHAT, json={"messages": user(f"parallel {i}")})
        statuses.append(response.status_code)

    with server.running() as url:
        async with httpx.AsyncClient(base_url=url) as http_client, anyio.create_task_group() as tg:
            for i in range(20):
                tg.start_soon(call, http_client, i)
    assert statuses == [200] * 20
    assert server.stats()["max_in_flight"] == 20
    assert server.stats()["in_flight"] == 0


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


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "example.com", "::"])
def test_non_loopback_host_is_refused(host: str) -> None:
    """Only 127.0.0.0/8, localhost and ::1 may be bound."""
    with pytest.raises(ValueError, match="loopback only"):
        MockServer(host=host)


@pytest.mark.parametrize("host", ["localhost", "127.0.0.2", "::1"])
def test_loopback_hosts_are_served(host: str) -> None:
    """localhost, any 127.x address and ::1 serve requests."""
    with MockServer(host=host).running() as url:
        assert httpx.get(url + "/health").status_code == 200


def test_chunked_request_body_and_keep_alive(server: MockServer) -> None:
    """Chunked request bodies are read, and one connection serves several requests."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    body = json.dumps({"model": "m", "messages": user("chunked hello")}).encode()
    pieces = iter([body[:10], body[10:]])
    connection.request("POST", CHAT, body=pieces, encode_chunked=True)
    answer = json.loads(connection.getresponse().read())
    assert answer["choices"][0]["message"]["content"] == "chunked hello"
    connection.request("GET", "/health")
    assert connection.getresponse().status == 200
    connection.close()


def test_pipelined_requests_are_answered_in_order(server: MockServer) -> None:
    """Requests sent back to back on one connection are answered in the order sent."""
    bodies = [json.dumps({"model": "m", "messages": user(f"n{i}")}).encode() for i in range(3)]
    raw = b"".join(
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%b"
        % (len(body), body)
        for body in bodies
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(raw + b"GET /health HTTP/1.1\r\nConnection: close\r\n\r\n")
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    assert [received.find(f'"n{i}"'.encode()) for i in range(3)] == sorted(
        received.find(f'"n{i}"'.encode()) for i in range(3)
    )
    assert received.count(b"HTTP/1.1 200 OK") == 4


def test_stop_does_not_wait_for_hanging_requests() -> None:
    """Leaving running() aborts requests still hanging instead of waiting for them."""
    server = MockServer(hang_seconds=30)
    errors: list[Exception] = []
    started = time.perf_counter()
    with server.running() as url:

        def call() -> None:
            try:
                httpx.post(url + CHAT, json={"messages": user("[[mock:timeout]]")}, timeout=10)
            except httpx.HTTPError as exc:
                errors.append(exc)

        caller = threading.Thread(target=call)
        caller.start()
        while server.stats()["in_flight"] == 0:
            time.sleep(0.01)
    caller.join()
    assert time.perf_counter() - started < 20, "the stop waited for the 30 s hang"
    assert len(errors) == 1


def test_max_seconds_stops_the_server() -> None:
    """The server stops by itself after max_seconds."""
    server = MockServer(max_seconds=0.2)
    with server.running() as url:
        time.sleep(0.4)
        with pytest.raises(httpx.ConnectError):
            httpx.get(url + "/health")


@pytest.mark.anyio
async def test_serve_runs_on_the_current_loop() -> None:
    """await server.serve() serves on the caller's loop; task_group.start returns the url."""
    server = MockServer()
    async with anyio.create_task_group() as tg, httpx.AsyncClient() as http_client:
        url = await tg.start(server.serve)
        response = await http_client.post(url + CHAT, json={"messages": user("on my loop")})
        assert response.json()["choices"][0]["message"]["content"] == "on my loop"
        server.stop()


def test_request_log_file_records_what_another_process_saw(tmp_path: Path) -> None:
    """serve_cli prints its url, and request_log_path gets one JSON line per model call."""
    log_path = tmp_path / "requests.jsonl"
    code = (
        "from grasp_core.mock_server import serve_cli; "
        f"serve_cli(port=0, max_seconds=20, request_log_path={str(log_path)!r})"
    )
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("grasp mock server listening on http://127.0.0.1:")
        url = line.split()[-1]
        httpx.post(url + CHAT, json={"model": "m", "messages": user("logged")})
        httpx.post(url + CHAT, json={"model": "m", "messages": user("x [[mock:503]]")})
        entries = [json.loads(line) for line in log_path.read_text().splitlines()]
    finally:
        process.terminate()
        process.wait(timeout=5)
    assert [(entry["status"], entry["fault"]) for entry in entries] == [(200, None), (503, "503")]
    assert entries[0]["messages"] == user("logged")
    assert len(entries[0]["key"]) == 64


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


@pytest.mark.anyio
async def test_litellm_acompletion_reads_echo_and_usage(server: MockServer) -> None:
    """litellm's OpenAI provider gets the echoed content and word usage from the mock."""
    import litellm

    response = await litellm.acompletion(
        model="openai/mock-model",
        api_base=server.url + "/v1",
        api_key="sk-mock",
        messages=user("hello from litellm"),
        max_retries=0,
    )
    assert response.choices[0].message.content == "hello from litellm"
    assert response.usage.prompt_tokens == 3
    assert response.usage.completion_tokens == 3


# --- tool calls ---------------------------------------------------------------------------

TOOLS = [{"type": "function", "function": {"name": "add", "parameters": {"type": "object"}}}]


def tool_calls_of(response: httpx.Response) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = response.json()["choices"][0]["message"]["tool_calls"]
    return calls


def test_call_markers_answer_tool_calls_when_tools_are_offered(client: httpx.Client) -> None:
    """Each call marker of the last user message becomes one tool call, arguments verbatim."""
    text = 'add [[mock:call:add {"a": [[1]], "b": 2}]] then [[mock:call:nope]] [[mock:call:add {x]]'
    response = chat(client, text, tools=TOOLS)
    choice = response.json()["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    assert [(c["id"], c["type"], c["function"]) for c in tool_calls_of(response)] == [
        ("call_0", "function", {"name": "add", "arguments": '{"a": [[1]], "b": 2}'}),
        ("call_1", "function", {"name": "nope", "arguments": "{}"}),
        ("call_2", "function", {"name": "add", "arguments": "{x"}),
    ]
    assert response.json()["usage"]["prompt_tokens"] == 2  # "add then": markers do not count


def test_call_markers_without_tools_are_removed_from_the_echo(client: httpx.Client) -> None:
    """Without `tools` in the request the markers are stripped and the text is echoed."""
    response = chat(client, 'sum [[mock:call:add {"a": 1}]] please')
    assert response.json()["choices"][0]["message"] == {
        "role": "assistant",
        "content": "sum  please",
    }


def test_tool_messages_are_answered_with_their_results(client: httpx.Client) -> None:
    """After tool messages the answer is their contents; later call ids continue the count."""
    marker = "go [[mock:call:add]] [[mock:call:add]]"
    calls = [
        {"id": f"call_{i}", "type": "function", "function": {"name": "add", "arguments": "{}"}}
        for i in range(2)
    ]
    conversation = [
        {"role": "user", "content": marker},
        {"role": "assistant", "content": None, "tool_calls": calls},
        {"role": "tool", "tool_call_id": "call_0", "content": "3 [[mock:latency=0]]"},
        {"role": "tool", "tool_call_id": "call_1", "content": '{"sum": 4}'},
    ]
    body = {"model": "m", "messages": conversation, "tools": TOOLS}
    answer = client.post(CHAT, json=body).json()["choices"][0]
    assert answer["message"] == {"role": "assistant", "content": 'tool results: 3; {"sum": 4}'}
    assert answer["finish_reason"] == "stop"
    again = {**body, "messages": [*conversation, {"role": "system", "content": "once more"}]}
    ids = [call["id"] for call in tool_calls_of(client.post(CHAT, json=again))]
    assert ids == ["call_2", "call_3"]


def test_streamed_tool_calls_arrive_as_deltas(client: httpx.Client) -> None:
    """With stream: true each call is one tool_calls delta; the last chunk says tool_calls."""
    response = chat(client, '[[mock:call:add {"a": 1}]]', tools=TOOLS, stream=True)
    events = [line[len("data: ") :] for line in response.text.split("\n\n") if line]
    chunks = [json.loads(event) for event in events[:-1]]
    deltas = [chunk["choices"][0]["delta"] for chunk in chunks[:-1]]
    assert deltas == [
        {"role": "assistant", "content": None},
        {
            "tool_calls": [
                {
                    "index": 0,
                    "id": "call_0",
                    "type": "function",
                    "function": {"name": "add", "arguments": '{"a": 1}'},
                }
            ]
        },
    ]
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_ollama_chat_answers_tool_calls_with_object_arguments(client: httpx.Client) -> None:
    """/api/chat answers Ollama's tool_calls shape, arguments as a JSON object."""
    body = {"model": "llama3", "messages": user('[[mock:call:add {"a": 1}]]'), "tools": TOOLS}
    message = client.post("/api/chat", json=body).json()["message"]
    assert message["tool_calls"] == [{"function": {"name": "add", "arguments": {"a": 1}}}]


def test_fault_markers_apply_to_tool_call_requests(client: httpx.Client) -> None:
    """Fault markers beside call markers still fault first; bad tools values are a 400."""
    text = "[[mock:429:1:retry_after=0]] [[mock:call:add]]"
    assert chat(client, text, tools=TOOLS).status_code == 429
    assert tool_calls_of(chat(client, text, tools=TOOLS))[0]["function"]["name"] == "add"
    assert chat(client, "x", tools={"not": "a list"}).status_code == 400
    assert chat(client, "[[mock:call:]]", tools=TOOLS).status_code == 400


@pytest.mark.anyio
async def test_litellm_reads_tool_calls(server: MockServer) -> None:
    """litellm's OpenAI provider parses the mock's tool calls."""
    import litellm

    response = await litellm.acompletion(
        model="openai/mock-model",
        api_base=server.url + "/v1",
        api_key="sk-mock",
        messages=user('[[mock:call:add {"a": 1}]]'),
        tools=TOOLS,
        max_retries=0,
        _skip_mcp_handler=True,  # litellm 1.106 otherwise imports its MCP gateway (needs `mcp`)
    )
    (call,) = response.choices[0].message.tool_calls
    assert (call.id, call.function.name, call.function.arguments) == ("call_0", "add", '{"a": 1}')
    assert response.choices[0].finish_reason == "tool_calls"
