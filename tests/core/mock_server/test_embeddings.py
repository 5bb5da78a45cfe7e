"""The mock server's ``/v1/embeddings``, over real loopback HTTP: deterministic unit vectors in
which near duplicates lie close, OpenAI's request forms and errors, and injected faults."""

from __future__ import annotations

import base64
import math
import struct
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from grasp_core.mock_server import MockServer

EMBEDDINGS = "/v1/embeddings"
QUESTION = "How many apples does Maria have if she buys three more apples at the market on Sunday?"
REWORDED = "how many apples does maria have, if she buys three more apples at the shop on Sunday"
UNRELATED = "Write a Python function that reverses a linked list in place and returns its head."


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    """A client of a fresh server (its own fault counters)."""
    server = MockServer(retry_after=0.05)
    with server.running(), httpx.Client(base_url=server.url, timeout=5.0) as http_client:
        yield http_client


def embed(client: httpx.Client, texts: Any, **body: Any) -> httpx.Response:
    return client.post(EMBEDDINGS, json={"model": "embedder", "input": texts, **body})


def vectors_of(response: httpx.Response) -> list[list[float]]:
    assert response.status_code == 200, response.text
    return [item["embedding"] for item in response.json()["data"]]


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_one_unit_vector_per_input_in_order(client: httpx.Client) -> None:
    """Each input gets a unit vector of 384 numbers at its index, with a usage count."""
    response = embed(client, [QUESTION, UNRELATED, "one"])
    body = response.json()
    assert [item["index"] for item in body["data"]] == [0, 1, 2]
    assert (body["object"], body["model"]) == ("list", "embedder")
    for vector in vectors_of(response):
        assert len(vector) == 384
        assert math.isclose(math.fsum(x * x for x in vector), 1.0, rel_tol=1e-9)
    words = len(QUESTION.split()) + len(UNRELATED.split()) + 1
    assert body["usage"] == {"prompt_tokens": words + 3, "total_tokens": words + 3}


def test_same_text_same_vector_and_a_string_input(client: httpx.Client) -> None:
    """A text's vector does not depend on the request, the batch or the server."""
    alone = vectors_of(embed(client, QUESTION))[0]
    batched = vectors_of(embed(client, [UNRELATED, QUESTION]))[1]
    with MockServer().running() as url:
        other = vectors_of(httpx.post(url + EMBEDDINGS, json={"model": "x", "input": [QUESTION]}))
    assert alone == batched == other[0]


def test_near_duplicates_close_and_unrelated_texts_far(client: httpx.Client) -> None:
    """A reworded text stays above 0.9 cosine similarity; an unrelated one stays below 0.2."""
    question, reworded, unrelated = vectors_of(embed(client, [QUESTION, REWORDED, UNRELATED]))
    assert cosine(question, reworded) > 0.9
    assert abs(cosine(question, unrelated)) < 0.2


def test_dimensions_and_base64_encoding(client: httpx.Client) -> None:
    """`dimensions` sets the length; `encoding_format: base64` sends float32 little-endian."""
    floats = vectors_of(embed(client, [QUESTION], dimensions=64))[0]
    encoded = vectors_of(embed(client, [QUESTION], dimensions=64, encoding_format="base64"))[0]
    assert isinstance(encoded, str)
    raw = base64.b64decode(encoded)
    decoded = struct.unpack(f"<{len(raw) // 4}f", raw)
    assert len(floats) == len(decoded) == 64
    assert all(math.isclose(a, b, abs_tol=1e-6) for a, b in zip(floats, decoded, strict=True))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"model": "e", "input": ["fine", ""]}, "'$.input[1]' is invalid"),
        ({"input": ["text"]}, "'model' is required"),
        ({"model": "e", "input": [[1, 2, 3]]}, "token ids are not read"),
        ({"model": "e", "input": []}, "'input' must hold 1 to 2048 texts"),
        ({"model": "e", "input": "x", "dimensions": 0}, "'dimensions' must be 1..4096"),
        ({"model": "e", "input": "x", "encoding_format": "hex"}, "'encoding_format' must be"),
    ],
)
def test_bad_requests_are_400_saying_why(
    client: httpx.Client, body: dict[str, Any], message: str
) -> None:
    """Requests OpenAI refuses are refused with an OpenAI-shaped error naming the problem."""
    response = client.post(EMBEDDINGS, json=body)
    assert response.status_code == 400
    assert message in response.json()["error"]["message"]


def test_get_is_405(client: httpx.Client) -> None:
    """The endpoint takes POST only."""
    assert client.get(EMBEDDINGS).status_code == 405


def test_markers_inject_faults_and_are_not_embedded(client: httpx.Client) -> None:
    """`[[mock:429:1]]` in an input fails the first request only; the retried request's
    vector is that of the text without the marker."""
    marked = QUESTION + " [[mock:429:1]]"
    first = embed(client, [marked])
    assert first.status_code == 429
    assert first.headers["retry-after"] == "0.05"
    assert vectors_of(embed(client, [marked])) == vectors_of(embed(client, [QUESTION]))
    assert embed(client, ["x [[mock:malformed]]"]).text.endswith('"embed')
    assert embed(client, ["x [[mock:empty]]"]).json()["data"] == []


def test_azure_deployment_path_names_the_model(client: httpx.Client) -> None:
    """Azure's `/openai/deployments/NAME/embeddings` answers with the deployment as model."""
    response = client.post(
        "/openai/deployments/my-embedder/embeddings?api-version=2024-10-21",
        json={"input": [QUESTION]},
    )
    assert response.json()["model"] == "my-embedder"
    assert len(vectors_of(response)[0]) == 384


def test_requests_are_logged_with_their_inputs() -> None:
    """Each embeddings call is in the request log, its inputs where chat calls have messages."""
    server = MockServer()
    with server.running() as url:
        httpx.post(url + EMBEDDINGS, json={"model": "e", "input": ["a", "b"]})
    [entry] = server.requests()
    assert (entry["path"], entry["model"], entry["status"]) == (EMBEDDINGS, "e", 200)
    assert entry["messages"] == ["a", "b"]
