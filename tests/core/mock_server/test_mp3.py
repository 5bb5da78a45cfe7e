"""The mock server speaks MP3 when asked (OpenAI's default for speech, and gpt-4o-audio's
`audio.format: mp3`): real MPEG-1 Layer III a decoder reads as silence of the speech's
length, carrying its text so a transcription reads it back."""

from __future__ import annotations

import base64
import io

import httpx
import soundfile

from grasp_core.mock_server import MockServer

SPEECH = "/v1/audio/speech"
TRANSCRIBE = "/v1/audio/transcriptions"
CHAT = "/v1/chat/completions"


def _frames(data: bytes) -> list[bytes]:
    """The MPEG frame headers after the ID3 tag, each checked: sync word, MPEG-1 Layer III,
    32 kbit/s at 48 kHz (96-byte frames) and mono."""
    assert data[:3] == b"ID3"
    size = sum(
        (byte & 0x7F) << shift for byte, shift in zip(data[6:10], (21, 14, 7, 0), strict=False)
    )
    frames = data[10 + size :]
    assert frames
    assert len(frames) % 96 == 0
    headers = [frames[at : at + 4] for at in range(0, len(frames), 96)]
    for header in headers:
        assert header[0] == 0xFF
        assert header[1] & 0xE0 == 0xE0
        assert (header[1] >> 3) & 0b11 == 0b11
        assert (header[1] >> 1) & 0b11 == 0b01
        assert header[2] >> 4 == 0b0001
        assert (header[2] >> 2) & 0b11 == 0b01
        assert header[3] >> 6 == 0b11
    return headers


def test_speech_without_a_format_is_mp3_a_decoder_reads(mock_server: MockServer) -> None:
    """No `response_format` answers audio/mpeg; libsndfile decodes it as 48 kHz mono
    silence as long as the WAV would be; the transcription reads the text back."""
    body = {"model": "tts-1", "input": "Book a flight to Oslo", "voice": "alloy"}
    response = httpx.post(mock_server.url + SPEECH, json=body, timeout=5)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "audio/mpeg"
    headers = _frames(response.content)
    samples, rate = soundfile.read(io.BytesIO(response.content))
    assert rate == 48_000
    assert samples.ndim == 1
    assert len(samples) == 1152 * len(headers)
    assert len(samples) / rate >= len(body["input"]) * 0.04
    assert float(abs(samples).max()) == 0.0
    files = {"file": ("speech.mp3", response.content, "audio/mpeg")}
    heard = httpx.post(
        mock_server.url + TRANSCRIBE, data={"model": "whisper-1"}, files=files, timeout=5
    )
    assert heard.json() == {"text": "Book a flight to Oslo"}


def test_chat_audio_in_mp3_is_spoken_mp3(mock_server: MockServer) -> None:
    """`audio.format: mp3` on a chat request answers `message.audio.data` as MP3 that
    decodes, with the reply as its transcript."""
    body = {
        "model": "gpt-audio",
        "modalities": ["text", "audio"],
        "audio": {"voice": "nova", "format": "mp3"},
        "messages": [{"role": "user", "content": "Say good morning"}],
    }
    response = httpx.post(mock_server.url + CHAT, json=body, timeout=5)
    assert response.status_code == 200, response.text
    audio = response.json()["choices"][0]["message"]["audio"]
    data = base64.b64decode(audio["data"])
    _frames(data)
    samples, rate = soundfile.read(io.BytesIO(data))
    assert rate == 48_000
    assert len(samples) > 0
    assert audio["transcript"] == "Say good morning"
