"""A local, deterministic OpenAI-compatible model server for tests and benchmarks.

It binds loopback only and answers:

- ``POST /v1/chat/completions`` and ``POST /chat/completions`` (OpenAI),
- ``POST /openai/deployments/{deployment}/chat/completions`` (Azure; model = deployment),
- ``POST /api/chat`` and ``POST /api/generate`` (Ollama; streams NDJSON only when the
  request says ``"stream": true``),
- ``POST /v1/embeddings`` (and Azure's ``/openai/deployments/{deployment}/embeddings``):
  deterministic unit vectors in which near-duplicate texts lie close (see ``_embeddings``),
- ``POST /v1/images/generations``, ``/v1/images/edits`` (multipart), ``/v1/audio/speech`` and
  ``/v1/audio/transcriptions`` (and Azure's, under ``/openai/deployments/{deployment}/``):
  real, deterministic PNGs and WAVs derived from the request, speech that transcription reads
  back exactly (see ``_media_out``),
- ``GET /v1/models``, ``GET /health``, ``GET /_mock/stats`` and ``POST /_mock/reset``.

The reply echoes the last user message (``reply_mode="lorem"``: 20-60 pseudo-words seeded by
the request), cut to ``max_tokens`` words with ``finish_reason: "length"`` when longer, as
real servers cut theirs. Markers anywhere in any message change the answer and are removed
from it:

=================================  ========================================================
``[[mock:429]]``                   429 with ``Retry-After`` (also ``500``, ``503``)
``[[mock:timeout]]``               wait ``hang_seconds`` (or ``hang=S``), then answer 200
``[[mock:drop]]``                  close the connection without a response
``[[mock:malformed]]``             200 whose body is not valid JSON
``[[mock:empty]]``                 200 with ``choices: []``
``[[mock:blank]]``                 200 whose reply is blank: no text, no tool calls
``[[mock:429:2]]``                 fault only the first 2 times this exact request is seen
``[[mock:429:2:retry_after=1]]``   options: ``retry_after``, ``latency``, ``hang`` (seconds)
``[[mock:latency=0.3]]``           wait 0.3 s instead of the server's latency model
``[[mock:call:NAME {"x": 1}]]``    with ``tools`` in the request, in the last user message:
                                   answer a tool call ``NAME(x=1)`` (one per marker)
``[[mock:bad_json]]``              in a request for JSON: a reply that is not JSON (``:2``:
                                   the first 2 attempts only); ``schema_violation`` likewise
=================================  ========================================================

Structured replies: a request with ``response_format`` (``json_schema``, or ``json_object``
with an optional ``schema``), Ollama's ``format``, or a ``<json-schema>`` block in a message is
answered with JSON generated from the schema (see ``_structured``).

Tool calling: a request that offers ``tools``, whose last message is not a ``role: tool``
message, is answered with ``finish_reason: "tool_calls"``, ``content: null`` and one
``tool_calls`` entry per call marker in the last user message (ids ``call_<n>``, counting the
calls made earlier in the conversation; ``arguments`` is the marker's JSON text verbatim,
invalid or not; the tool need not be among ``tools``). A request whose last message is a
tool message is answered ``"tool results: "`` + the trailing tool messages' contents
joined by ``"; "``. ``tool_choice: "none"`` turns tools off; a ``tool_choice`` naming one
function is answered with a call to it, arguments generated from its ``parameters`` schema.

Real servers: ``MockServer(like="llamacpp")`` copies llama.cpp's server where it differs
from OpenAI (500 to ``content: null`` beside ``tool_calls`` and to ``json_schema``, bare
newlines inside JSON strings, tools ignored without ``tool_choice``); see ``_quirks``.

Example::

    server = MockServer(latency=Latency.lognormal(median=0.2, sigma=0.5))
    with server.running() as url:
        ...  # point a client at url + "/v1"
    assert server.stats()["by_status"] == {"200": 10}

The Files and Batch APIs (``/v1/files``, ``/v1/batches``) answer batches through the same
chat path; ``MockServer(batches=BatchPlan(delay=..., fail=..., expire=...,
failed_requests=...))`` sets how they end (see ``_batches``).

This package uses asyncio directly, a deliberate exception to "anyio everywhere": see
``_http``.
"""

from grasp_core.mock_server._batches import BatchPlan
from grasp_core.mock_server._cli import serve_cli
from grasp_core.mock_server._quirks import PROFILES, QUIRKS
from grasp_core.mock_server._replies import FAULT_KINDS, Latency
from grasp_core.mock_server.server import NO_LATENCY, MockServer

__all__ = [
    "FAULT_KINDS",
    "NO_LATENCY",
    "PROFILES",
    "QUIRKS",
    "BatchPlan",
    "Latency",
    "MockServer",
    "serve_cli",
]
