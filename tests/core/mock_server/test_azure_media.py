"""Azure's spellings of the mock server's media routes (`/openai/deployments/NAME/...`) over
real loopback HTTP: the same media as OpenAI's routes, with the deployment as the model."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator

import httpx
import pytest
from PIL import Image

from grasp_core.mock_server import MockServer

AZURE = "/openai/deployments/{}/{}?api-version=2025-04-01-preview"


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    mock = MockServer(log_bodies=True)
    with mock.running():
        yield mock


@pytest.fixture
def client(server: MockServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=5.0) as http_client:
        yield http_client


def pngs(response: httpx.Response) -> list[bytes]:
    assert response.status_code == 200, response.text
    return [base64.b64decode(item["b64_json"]) for item in response.json()["data"]]


def test_azure_generation_is_openais_with_the_deployment_as_model(
    client: httpx.Client, server: MockServer
) -> None:
    """An Azure image generation without `model` in the body answers the PNGs OpenAI's route
    answers for `model: <deployment>`, and the request log names the deployment."""
    body = {"prompt": "a lighthouse at dusk", "n": 2, "size": "32x16"}
    azure = pngs(client.post(AZURE.format("my-painter", "images/generations"), json=body))
    openai = pngs(client.post("/v1/images/generations", json={"model": "my-painter", **body}))
    assert azure == openai
    assert len(set(azure)) == 2
    with Image.open(io.BytesIO(azure[0])) as image:
        assert (image.format, image.size) == ("PNG", (32, 16))
    logged = [e for e in server.requests() if e["path"].startswith("/openai/deployments/")]
    assert logged[-1]["path"] == "/openai/deployments/my-painter/images/generations"
    assert logged[-1]["model"] == "my-painter"


def test_azure_edit_reads_the_multipart_images(client: httpx.Client) -> None:
    """Azure's `images/edits` takes the multipart upload and answers edits of those bytes."""
    base = pngs(client.post("/v1/images/generations", json={"model": "m", "prompt": "base"}))[0]
    path = AZURE.format("my-editor", "images/edits")
    data = {"prompt": "make it blue", "size": "24x24"}
    first = pngs(client.post(path, data=data, files=[("image", ("a.png", base, "image/png"))]))
    other = pngs(client.post(path, data=data, files=[("image", ("b.png", b"x" * 9, "image/png"))]))
    assert first != other
    with Image.open(io.BytesIO(first[0])) as image:
        assert image.size == (24, 24)


def test_azure_speech_round_trips_through_azure_transcription(client: httpx.Client) -> None:
    """Speech from Azure's `audio/speech` is read back exactly by its `audio/transcriptions`."""
    speech = client.post(
        AZURE.format("my-voice", "audio/speech"),
        json={"input": "hello from azure", "response_format": "wav"},
    )
    assert speech.status_code == 200, speech.text
    heard = client.post(
        AZURE.format("my-ear", "audio/transcriptions"),
        files=[("file", ("a.wav", speech.content, "audio/wav"))],
    )
    assert heard.status_code == 200, heard.text
    assert heard.json()["text"] == "hello from azure"


def test_unknown_azure_route_is_a_404_naming_the_path(client: httpx.Client) -> None:
    """A deployment path the mock does not serve answers 404 with the path, not a media call."""
    response = client.post(AZURE.format("d", "images/variations"), json={"prompt": "p"})
    assert response.status_code == 404
    assert "/openai/deployments/d/images/variations" in response.json()["error"]["message"]
