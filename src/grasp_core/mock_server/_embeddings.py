"""``POST /v1/embeddings``: deterministic vectors in which near-duplicate texts lie close.

A text's vector is a bag of features hashed into ``dimensions`` signed buckets (feature
hashing) and scaled to unit length: each word (Unicode word characters, case folded) and
each character trigram of a word padded with ``#`` (``#ca``, ``cat``, ``at#``), so a changed
word or a typo moves the vector a little. Two texts that share most of their words have a
cosine similarity near 1; texts with no word in common are near 0 (a few hundredths either
way, from bucket collisions). The same text always gets the same vector, on every server.

``[[mock:...]]`` markers in the inputs inject faults and latency as in chat requests; they
are removed before a text is embedded, so a retried request gets the same vectors. As
OpenAI's endpoint does, an empty input is refused (400), and ``encoding_format: base64``
returns each vector as base64 of little-endian float32 values (the openai SDK asks for it).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import math
import re
import struct
from dataclasses import dataclass
from typing import Any, Final

from grasp_core.mock_server._dialects import json_response
from grasp_core.mock_server._http import Response
from grasp_core.mock_server._replies import RequestError, strip_markers

__all__ = [
    "AZURE_EMBEDDINGS_PATH",
    "DEFAULT_DIMENSIONS",
    "EMBEDDINGS_PATHS",
    "EmbeddingsRequest",
    "embed_text",
    "embeddings_response",
    "read_embeddings_request",
]

EMBEDDINGS_PATHS: Final = frozenset({"/v1/embeddings", "/embeddings"})
AZURE_EMBEDDINGS_PATH: Final = re.compile(r"/openai/deployments/([^/]+)/embeddings")
DEFAULT_DIMENSIONS: Final = 384
"""Vector length when the request sets no ``dimensions`` (all-MiniLM-L6-v2's)."""
MAX_DIMENSIONS: Final = 4096
MAX_INPUTS: Final = 2048
"""Most inputs in one request, as OpenAI allows."""
_WORD: Final = re.compile(r"\w+")
_TRUNCATED: Final = b'{"object": "list", "data": [{"object": "embedding", "index": 0, "embed'


@dataclass(frozen=True, slots=True)
class EmbeddingsRequest:
    """The parts of an embeddings request the mock server looks at."""

    model: str
    inputs: list[str]
    """The texts as sent, markers included."""
    dimensions: int
    base64: bool


def read_embeddings_request(body: bytes, deployment: str | None = None) -> EmbeddingsRequest:
    """Parse an OpenAI embeddings body (Azure's names the model by its ``deployment``);
    :class:`RequestError` (a 400) says what is wrong."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RequestError(f"request body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise RequestError("request body must be a JSON object")
    model = deployment or data.get("model")
    if not isinstance(model, str) or not model:
        raise RequestError("'model' is required: the name of an embedding model")
    raw = data.get("input")
    inputs = [raw] if isinstance(raw, str) else raw
    if not isinstance(inputs, list) or not all(isinstance(text, str) for text in inputs):
        raise RequestError("'input' must be a string or a list of strings (token ids are not read)")
    if not inputs or len(inputs) > MAX_INPUTS:
        raise RequestError(f"'input' must hold 1 to {MAX_INPUTS} texts, got {len(inputs)}")
    for index, text in enumerate(inputs):
        if not text:
            raise RequestError(f"'$.input[{index}]' is invalid: an input must not be empty")
    dimensions = data.get("dimensions", DEFAULT_DIMENSIONS)
    if isinstance(dimensions, bool) or not isinstance(dimensions, int):
        raise RequestError(f"'dimensions' must be an integer, got {dimensions!r}")
    if not 1 <= dimensions <= MAX_DIMENSIONS:
        raise RequestError(f"'dimensions' must be 1..{MAX_DIMENSIONS}, got {dimensions}")
    encoding = data.get("encoding_format", "float")
    if encoding not in ("float", "base64"):
        raise RequestError(f"'encoding_format' must be 'float' or 'base64', got {encoding!r}")
    return EmbeddingsRequest(model, inputs, dimensions, encoding == "base64")


def embed_text(text: str, dimensions: int = DEFAULT_DIMENSIONS) -> list[float]:
    """The unit vector of ``text`` (markers removed); all zeros for a text without words."""
    vector = [0.0] * dimensions
    for word in _WORD.findall(strip_markers(text).casefold()):
        for feature in _features(word):
            index, sign = _bucket(feature, dimensions)
            vector[index] += sign
    norm = math.sqrt(math.fsum(value * value for value in vector))
    return [value / norm for value in vector] if norm else vector


def _features(word: str) -> list[str]:
    """The word itself, weighted as much as its trigrams together, and its trigrams."""
    padded = f"#{word}#"
    trigrams = [padded[i : i + 3] for i in range(len(padded) - 2)]
    return [f"w:{word}"] * len(trigrams) + [f"c:{gram}" for gram in trigrams]


@functools.lru_cache(maxsize=1 << 16)
def _bucket(feature: str, dimensions: int) -> tuple[int, float]:
    digest = int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "big")
    return digest % dimensions, 1.0 if digest >> 63 else -1.0


def embeddings_response(request: EmbeddingsRequest, fault: str | None = None) -> Response:
    """The 200 answer: one vector per input, in order, with a usage count (words + 1 per
    input); ``fault`` ``malformed`` cuts the JSON short, ``empty`` and ``blank`` send no
    vectors."""
    if fault == "malformed":
        return Response(200, _TRUNCATED)
    data: list[dict[str, Any]] = []
    if fault not in ("empty", "blank"):
        for index, text in enumerate(request.inputs):
            vector = embed_text(text, request.dimensions)
            encoded: Any = vector
            if request.base64:
                packed = struct.pack(f"<{len(vector)}f", *vector)
                encoded = base64.b64encode(packed).decode("ascii")
            data.append({"object": "embedding", "index": index, "embedding": encoded})
    tokens = sum(len(_WORD.findall(strip_markers(text))) + 1 for text in request.inputs)
    usage = {"prompt_tokens": tokens, "total_tokens": tokens}
    return json_response({"object": "list", "data": data, "model": request.model, "usage": usage})
