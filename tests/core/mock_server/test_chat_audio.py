"""The mock server's chat answers with audio (gpt-4o-audio): a request whose `modalities`
hold `audio` gets the reply spoken in `message.audio`, as OpenAI answers it."""

from __future__ import annotations

import base64
import io
import wave
from typing import Any

import httpx

from grasp_core.mock_server import MockServer
from grasp_core.mock_server._media_out import decode_speech

CHAT = "/v1/chat/completions"


def _chat(server: MockServer, **extra: Any) -> httpx.Response:
    body = {"model": "gpt-4o-audio-preview", "messages": [{"role": "user", "content": "Hi Ada"}]}
    return httpx.post(server.url + CHAT, json={**body, **extra}, timeout=5)


def test_audio_modality_answers_the_reply_spoken(mock_server: MockServer) -> None:
    """`message.audio.data` is a WAV that carries its `transcript`; `content` is null; the
    same request gets the same audio."""
    response = _chat(mock_server, modalities=["text", "audio"], audio={"format": "wav"})
    assert response.status_code == 200, response.text
    message = response.json()["choices"][0]["message"]
    assert message["content"] is None
    audio = message["audio"]
    wav = base64.b64decode(audio["data"])
    with wave.open(io.BytesIO(wav)) as reader:
        assert reader.getnframes() > 0
    assert audio["transcript"]
    assert decode_speech(wav) == audio["transcript"]
    again = _chat(mock_server, modalities=["text", "audio"], audio={"format": "wav"})
    assert again.json()["choices"][0]["message"]["audio"]["data"] == audio["data"]


def test_text_only_chat_is_unchanged_and_other_formats_are_refused(
    mock_server: MockServer,
) -> None:
    """Without `audio` in `modalities` the reply is text; an audio format the mock cannot
    encode answers 400 naming it."""
    plain = _chat(mock_server, modalities=["text"]).json()["choices"][0]["message"]
    assert "audio" not in plain
    assert isinstance(plain["content"], str)
    refused = _chat(mock_server, modalities=["text", "audio"], audio={"format": "flac"})
    assert refused.status_code == 400
    assert "'flac'" in refused.text
