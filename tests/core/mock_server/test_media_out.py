"""The mock server's media endpoints over real loopback HTTP: decodable, deterministic images,
speech that transcription reads back exactly, multipart uploads, faults and refusals."""

from __future__ import annotations

import base64
import io
import wave
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from PIL import Image

from grasp_core.mock_server import MockServer

GENERATE = "/v1/images/generations"
EDIT = "/v1/images/edits"
SPEECH = "/v1/audio/speech"
TRANSCRIBE = "/v1/audio/transcriptions"


@pytest.fixture
def server() -> Iterator[MockServer]:
    mock = MockServer(retry_after=0.05, log_bodies=True)
    with mock.running():
        yield mock


@pytest.fixture
def client(server: MockServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=5.0) as http_client:
        yield http_client


def images_of(response: httpx.Response) -> list[bytes]:
    assert response.status_code == 200, response.text
    return [base64.b64decode(item["b64_json"]) for item in response.json()["data"]]


def generate(client: httpx.Client, prompt: str, **body: Any) -> httpx.Response:
    return client.post(GENERATE, json={"model": "gpt-image-1", "prompt": prompt, **body})


def test_generation_answers_n_decodable_pngs_of_the_asked_size(client: httpx.Client) -> None:
    """`n` images come back as b64_json PNGs of the requested size, each different."""
    pngs = images_of(generate(client, "a red fox", n=3, size="96x40"))
    assert len(pngs) == 3
    assert len(set(pngs)) == 3
    for png in pngs:
        with Image.open(io.BytesIO(png)) as image:
            assert (image.format, image.size, image.mode) == ("PNG", (96, 40), "RGB")
            image.load()


def test_generation_is_deterministic_and_follows_the_prompt(client: httpx.Client) -> None:
    """The same request gets the same bytes; another prompt gets other pixels."""
    first = images_of(generate(client, "a red fox"))
    again = images_of(generate(client, "a red fox"))
    other = images_of(generate(client, "a blue whale"))
    assert first == again
    assert first != other
    with Image.open(io.BytesIO(first[0])) as image:
        assert image.size == (64, 64)  # no size: the small default


def test_edit_reads_several_images_and_a_mask(client: httpx.Client, server: MockServer) -> None:
    """Edits take `image[]` files and a mask; the result depends on the inputs' bytes."""
    base = images_of(generate(client, "base"))[0]
    other = images_of(generate(client, "other"))[0]

    def edit(files: list[tuple[str, tuple[str, bytes, str]]]) -> list[bytes]:
        data = {"model": "gpt-image-1", "prompt": "merge them", "n": "2", "size": "32x32"}
        return images_of(client.post(EDIT, data=data, files=files))

    two = edit(
        [("image[]", ("a.png", base, "image/png")), ("image[]", ("b.png", other, "image/png"))]
    )
    masked = edit(
        [("image[]", ("a.png", base, "image/png")), ("mask", ("m.png", other, "image/png"))]
    )
    assert len(two) == 2
    assert two != masked
    with Image.open(io.BytesIO(two[0])) as image:
        assert image.size == (32, 32)
    logged = server.requests()[-1]["body"]
    assert logged["prompt"] == ["merge them"]
    assert logged["mask"][0]["size"] == len(other)


def test_edit_without_an_image_is_a_400(client: httpx.Client) -> None:
    """An edit must upload at least one image."""
    response = client.post(EDIT, data={"model": "m", "prompt": "p"}, files={"x": ("x", b"1")})
    assert response.status_code == 400
    assert "image[]" in response.json()["error"]["message"]


def test_speech_round_trips_through_transcription(client: httpx.Client) -> None:
    """Speech is a real WAV whose text transcription reads back exactly."""
    text = "Hello, wörld! [[mock:latency=0]]"
    body = {"model": "tts-1", "input": text, "voice": "alloy", "response_format": "wav"}
    speech = client.post(SPEECH, json=body)
    assert speech.status_code == 200
    assert speech.headers["content-type"] == "audio/wav"
    with wave.open(io.BytesIO(speech.content)) as wav:
        assert (wav.getnchannels(), wav.getframerate()) == (1, 16_000)
        assert wav.getnframes() == len("Hello, wörld! ") * 640
    files = {"file": ("speech.wav", speech.content, "audio/wav")}
    heard = client.post(TRANSCRIBE, data={"model": "whisper-1"}, files=files)
    assert heard.status_code == 200
    assert heard.json() == {"text": "Hello, wörld! "}
    as_text = client.post(TRANSCRIBE, data={"model": "w", "response_format": "text"}, files=files)
    assert as_text.text == "Hello, wörld! "


def test_speech_speed_and_pcm(client: httpx.Client) -> None:
    """`speed` shortens the audio; `pcm` answers the bare samples."""
    body = {"model": "tts-1", "input": "abcd", "voice": "alloy", "response_format": "pcm"}
    normal = client.post(SPEECH, json=body).content
    fast = client.post(SPEECH, json={**body, "speed": 2}).content
    assert len(normal) == 4 * 640 * 2
    assert len(fast) == len(normal) // 2


def test_speech_in_a_format_the_mock_cannot_encode_is_a_400(client: httpx.Client) -> None:
    """flac needs an encoder: the 400 says to ask for wav."""
    body = {"model": "tts-1", "input": "hi", "voice": "alloy", "response_format": "flac"}
    response = client.post(SPEECH, json=body)
    assert response.status_code == 400
    assert "wav" in response.json()["error"]["message"]


def test_transcription_of_other_audio_is_stable(client: httpx.Client) -> None:
    """Audio without the mock's text chunk gets a fixed sentence from its bytes."""
    files = {"file": ("a.wav", b"not really audio", "audio/wav")}
    first = client.post(TRANSCRIBE, data={"model": "whisper-1"}, files=files).json()
    again = client.post(TRANSCRIBE, data={"model": "whisper-1"}, files=files).json()
    assert first == again
    assert first["text"].startswith("mock transcription of 16 bytes")


def test_faults_and_latency_markers_apply_to_media(
    client: httpx.Client, server: MockServer
) -> None:
    """`[[mock:429:1]]` faults the first try only; the retry gets the same image."""
    faulted = generate(client, "fox [[mock:429:1]]")
    assert faulted.status_code == 429
    assert "retry-after" in faulted.headers
    retried = images_of(generate(client, "fox [[mock:429:1]]"))
    assert retried == images_of(generate(client, "fox "))  # the marker is removed
    assert server.stats()["by_status"] == {"429": 1, "200": 2}


def test_content_policy_marker_answers_openais_400(client: httpx.Client) -> None:
    """`[[mock:content_policy]]` is refused the way OpenAI refuses: 400 with its code."""
    response = generate(client, "something [[mock:content_policy]]")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "content_policy_violation"


def test_bad_requests_say_what_is_wrong(client: httpx.Client) -> None:
    """A missing prompt, a bad `n` and a body that is not multipart are 400s."""
    assert generate(client, "").status_code == 400
    too_many = generate(client, "x", n=11)
    assert too_many.status_code == 400
    assert "'n'" in too_many.json()["error"]["message"]
    not_form = client.post(TRANSCRIBE, json={"model": "whisper-1"})
    assert "multipart" in not_form.json()["error"]["message"]
