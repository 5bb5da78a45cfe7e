"""The wire formats the mock server speaks: OpenAI (and Azure, same body) and Ollama.

Each dialect reads a request body into a :class:`ChatRequest` and dresses a
:class:`~grasp_core.mock_server._replies.Completion` in its JSON, streamed or not.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal

from grasp_core.mock_server._http import Response
from grasp_core.mock_server._replies import Completion, RequestError
from grasp_core.mock_server._structured import JsonRequest, SchemaRequestError, requested_json

__all__ = [
    "AZURE_PATH",
    "CHAT_PATHS",
    "DEFAULT_MODEL",
    "ChatRequest",
    "Dialect",
    "completion_response",
    "error_response",
    "json_response",
    "malformed_response",
    "read_chat_request",
]

Dialect = Literal["openai", "ollama_chat", "ollama_generate"]

DEFAULT_MODEL: Final = "mock-model"
CHAT_PATHS: Final[dict[str, Dialect]] = {
    "/v1/chat/completions": "openai",
    "/chat/completions": "openai",
    "/api/chat": "ollama_chat",
    "/api/generate": "ollama_generate",
}
AZURE_PATH: Final = re.compile(r"/openai/deployments/([^/]+)/chat/completions")
_ERROR_KINDS: Final = {
    429: ("rate_limit_error", "rate_limit_exceeded"),
    500: ("server_error", "internal_error"),
    503: ("server_error", "service_unavailable"),
}
_TRUNCATED: Final = b'{"id": "chatcmpl-mock", "object": "chat.completion", "choices": [{"mess'

Headers = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """The parts of a model call the mock server looks at."""

    dialect: Dialect
    model: str
    messages: list[Any]
    """As sent; for ``/api/generate``, built from ``system`` and ``prompt``."""
    max_tokens: int | None
    stream: bool
    tools: list[Any] | None = None
    """The offered tools (OpenAI and Ollama chat); None when the request has none."""
    json: JsonRequest | None = None
    """The JSON asked for by ``response_format`` (OpenAI) or ``format`` (Ollama)."""
    tool_choice: str | dict[str, Any] | None = None
    """OpenAI's ``tool_choice``: ``"auto"``, ``"none"``, ``"required"``, a forced function
    (``{"type": "function", "function": {"name": ...}}``), or None when not sent."""


def read_chat_request(body: bytes, dialect: Dialect, deployment: str | None) -> ChatRequest:
    """Parse and check a request body; raise :class:`RequestError` naming what is wrong."""
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise RequestError(f"the request body is not valid JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise RequestError(f"the request body must be a JSON object, got {payload!r}")
    model = deployment or payload.get("model") or DEFAULT_MODEL
    if not isinstance(model, str):
        raise RequestError(f"'model' must be a string, got {model!r}")
    if dialect == "ollama_generate":
        prompt, system = payload.get("prompt"), payload.get("system")
        if not isinstance(prompt, str):
            raise RequestError(f"/api/generate needs a string 'prompt', got {prompt!r}")
        messages: Any = [{"role": "system", "content": system}] if isinstance(system, str) else []
        messages.append({"role": "user", "content": prompt})
    else:
        messages = payload.get("messages")
        if not isinstance(messages, list) or not messages:
            raise RequestError(f"'messages' must be a non-empty list, got {messages!r}")
    if dialect == "openai":
        max_tokens = payload.get("max_completion_tokens", payload.get("max_tokens"))
    else:
        options = payload.get("options")
        max_tokens = options.get("num_predict") if isinstance(options, dict) else None
        if max_tokens == -1:  # Ollama's "no limit"
            max_tokens = None
    if max_tokens is not None and (
        isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 0
    ):
        raise RequestError(f"max_tokens must be an integer >= 0, got {max_tokens!r}")
    tools = payload.get("tools") if dialect != "ollama_generate" else None
    if tools is not None and not isinstance(tools, list):
        raise RequestError(f"'tools' must be a list, got {tools!r}")
    try:
        json_request = requested_json(payload, ollama=dialect != "openai")
    except SchemaRequestError as exc:
        raise RequestError(str(exc)) from None
    tool_choice = _tool_choice(payload.get("tool_choice")) if dialect == "openai" else None
    if isinstance(tool_choice, dict):
        forced = tool_choice["function"]["name"]
        functions = [t.get("function") for t in tools or () if isinstance(t, dict)]
        names = [f.get("name") for f in functions if isinstance(f, dict)]
        if forced not in names:
            raise RequestError(f"tool_choice forces function {forced!r}, which is not in tools")
    # Ollama streams unless told otherwise; the mock streams only when asked, everywhere.
    stream = payload.get("stream") is True
    return ChatRequest(
        dialect, model, messages, max_tokens, stream, tools or None, json_request, tool_choice
    )


def _tool_choice(value: Any) -> str | dict[str, Any] | None:
    if value is None or value in ("auto", "none", "required"):
        return value  # type: ignore[no-any-return]
    function = value.get("function") if isinstance(value, dict) else None
    if (
        isinstance(value, dict)
        and value.get("type") == "function"
        and isinstance(function, dict)
        and isinstance(function.get("name"), str)
    ):
        return value
    raise RequestError(
        "tool_choice must be 'auto', 'none', 'required' or "
        f'{{"type": "function", "function": {{"name": ...}}}}, got {value!r}'
    )


def json_response(payload: object, status: int = 200, headers: Headers = ()) -> Response:
    """``payload`` as a JSON response."""
    return Response(status, json.dumps(payload).encode(), headers=headers)


def error_response(
    dialect: Dialect, status: int, message: str, *, code: str | None = None, headers: Headers = ()
) -> Response:
    """An error in the dialect's shape: OpenAI ``{"error": {...}}``, Ollama ``{"error": str}``."""
    if dialect != "openai":
        return json_response({"error": message}, status, headers)
    kind, default_code = _ERROR_KINDS.get(status, ("invalid_request_error", None))
    error = {"message": message, "type": kind, "param": None, "code": code or default_code}
    return json_response({"error": error}, status, headers)


def completion_response(
    request: ChatRequest, answer: Completion, *, id_: str, empty: bool = False
) -> Response:
    """The 200 answer; ``empty`` leaves out the choices (OpenAI) or the message (Ollama)."""
    if request.dialect == "openai":
        return _openai(request, answer, id_, empty)
    return _ollama(request, answer, empty)


def malformed_response(request: ChatRequest) -> Response:
    """A 200 whose body a client cannot parse: the JSON stops half way."""
    if request.stream and request.dialect == "openai":
        chunks = (b"data: " + _TRUNCATED + b"\n\n", b"data: [DONE]\n\n")
        return Response(200, content_type="text/event-stream", chunks=chunks)
    return Response(200, _TRUNCATED)


def _deltas(content: str) -> list[str]:
    """``content`` cut into word-sized pieces whose concatenation is ``content`` again."""
    return re.findall(r"\s*\S+", content)


def _usage(answer: Completion) -> dict[str, int]:
    return {
        "prompt_tokens": answer.prompt_tokens,
        "completion_tokens": answer.completion_tokens,
        "total_tokens": answer.prompt_tokens + answer.completion_tokens,
    }


def _openai(request: ChatRequest, answer: Completion, id_: str, empty: bool) -> Response:
    base = {"id": id_, "created": int(time.time()), "model": request.model}
    finish = answer.finish_reason
    calls = [call.openai() for call in answer.tool_calls]
    if not request.stream:
        message: dict[str, Any] = {"role": "assistant", "content": answer.content}
        if calls:
            message = {"role": "assistant", "content": None, "tool_calls": calls}
        choices = [] if empty else [{"index": 0, "message": message, "finish_reason": finish}]
        body = {**base, "object": "chat.completion", "choices": choices, "usage": _usage(answer)}
        return json_response(body)
    base["object"] = "chat.completion.chunk"
    deltas: list[dict[str, Any]] = []
    if not empty and calls:
        deltas.append({"role": "assistant", "content": None})
        deltas.extend({"tool_calls": [{"index": i, **call}]} for i, call in enumerate(calls))
    elif not empty:
        deltas.append({"role": "assistant", "content": ""})
        deltas.extend({"content": piece} for piece in _deltas(answer.content))
    events = [
        {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
        for delta in deltas
    ]
    last_choices = [] if empty else [{"index": 0, "delta": {}, "finish_reason": finish}]
    events.append({**base, "choices": last_choices, "usage": _usage(answer)})
    chunks = [f"data: {json.dumps(event)}\n\n".encode() for event in events]
    chunks.append(b"data: [DONE]\n\n")
    headers = (("Cache-Control", "no-cache"),)
    return Response(200, content_type="text/event-stream", chunks=tuple(chunks), headers=headers)


def _ollama(request: ChatRequest, answer: Completion, empty: bool) -> Response:
    created_at = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    generate = request.dialect == "ollama_generate"
    calls = [call.ollama() for call in answer.tool_calls]

    def part(text: str, with_calls: bool = False) -> dict[str, Any]:
        if empty:
            return {}
        if generate:
            return {"response": text}
        message: dict[str, Any] = {"role": "assistant", "content": text}
        if with_calls and calls:
            message["tool_calls"] = calls
        return {"message": message}

    final = {
        "model": request.model,
        "created_at": created_at,
        **part("" if request.stream else answer.content, with_calls=not request.stream),
        "done": True,
        # Ollama ends tool-call answers with "stop" too.
        "done_reason": "stop" if calls else answer.finish_reason,
        "total_duration": 0,
        "load_duration": 0,
        "prompt_eval_count": answer.prompt_tokens,
        "prompt_eval_duration": 0,
        "eval_count": answer.completion_tokens,
        "eval_duration": 0,
    }
    if not request.stream:
        return json_response(final)
    pieces = [] if empty else _deltas(answer.content)
    lines = [
        {"model": request.model, "created_at": created_at, **part(piece), "done": False}
        for piece in pieces
    ]
    if calls and not empty:
        line = {"model": request.model, "created_at": created_at, **part("", with_calls=True)}
        lines.append({**line, "done": False})
    chunks = tuple((json.dumps(line) + "\n").encode() for line in [*lines, final])
    return Response(200, content_type="application/x-ndjson", chunks=chunks)
