"""What the mock server answers: the echoed last user message, in the OpenAI, Azure and
Ollama shapes, streamed or not, cut by max_tokens, with word-count usage.
"""

from __future__ import annotations

import json

import httpx

from grasp_core.mock_server import MockServer
from tests.core.mock_server.helpers import CHAT, chat, content_of, user


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
