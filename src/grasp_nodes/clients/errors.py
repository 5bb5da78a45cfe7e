"""The boundary where transport errors become GraSP errors (one function per transport).

Retryable: 408/409/425/429, 5xx, timeouts, dropped connections, unparseable responses.
Everything else (400, 401, 403, 404, 422...) fails at once. A server that refuses the request
itself (400, 422 and the like, or a 500 whose message calls the request invalid, as
llama.cpp's server does for a ``response_format`` it does not take) raises
:class:`RejectedRequestError`: never retried, never counted by the circuit breaker. Both
transports map through :func:`error_for_status`, so retries behave the same whichever
carried the call.
"""

from __future__ import annotations

from typing import Any, Final

from grasp_core.errors import ModelCallError, RejectedRequestError, RetryableModelError
from grasp_core.plugin import redact

__all__ = ["error_for_status", "map_litellm_error", "parse_retry_after", "rejects_request"]

_RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
_NOT_A_REJECTION = frozenset({401, 403, 404})
"""4xx statuses about the key, access or route, not the request's content (they keep their
own hints)."""
_REJECTION_WORDS: Final = (
    "invalid request",
    "invalid_request",
    "not supported",
    "unsupported",
    "schema",
    "response_format",
    "tool_choice",
    "bad request",
)
"""Words by which a 500's message calls the request itself wrong (llama.cpp's server
answers 500 for request forms it does not take); any other 500 is taken as transient.
Not a bare "invalid": OpenAI's retryable "The model produced invalid content" and a
garbled reply's decoder error ("Invalid \\escape", which litellm reports as a 500) say it."""
_HINTS = {
    401: "; check the API key variable named by api_key_env",
    403: "; the key lacks access to this model",
    404: "; check the model route and api_base in the models file",
}


def parse_retry_after(headers: Any) -> float | None:
    """Seconds from a ``Retry-After`` header (numeric form), if present and sane."""
    if headers is None:
        return None
    try:
        value = headers.get("retry-after") or headers.get("Retry-After")
    except AttributeError:
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return seconds if 0 <= seconds <= 3600 else None


def rejects_request(status: int, message: str) -> bool:
    """Whether an error status says the request itself is wrong, so that sending it again
    cannot help: a 4xx other than 401/403/404 (key, access, route) and 408/409/425/429
    (transient), or a 500 whose message names the request as invalid."""
    if 400 <= status < 500:
        return status not in _RETRYABLE_STATUS and status not in _NOT_A_REJECTION
    if status == 500:
        lowered = message.lower()
        return any(word in lowered for word in _REJECTION_WORDS)
    return False


def error_for_status(status: int, message: str, *, model: str, headers: Any) -> ModelCallError:
    """The error for an HTTP error status; the server's ``message`` is redacted (a server
    may echo the request's key in it)."""
    message = redact(message)
    if rejects_request(status, message):
        return RejectedRequestError(f"model {model!r}: HTTP {status}: {message}", status=status)
    text = f"model {model!r}: HTTP {status} ({message})"
    if status in _RETRYABLE_STATUS or status >= 500:
        return RetryableModelError(text, status=status, retry_after=parse_retry_after(headers))
    return ModelCallError(text + _HINTS.get(status, ""), status=status)


def map_litellm_error(exc: Exception, *, model: str) -> ModelCallError:
    """Translate a litellm (or openai/httpx) exception into our error tree."""
    from litellm import exceptions as llm_errors

    status: int | None = getattr(exc, "status_code", None)
    message = redact(str(getattr(exc, "message", None) or exc).replace("litellm.", "", 1))
    headers = getattr(exc, "litellm_response_headers", None) or getattr(
        getattr(exc, "response", None), "headers", None
    )
    if isinstance(exc, llm_errors.Timeout):
        return RetryableModelError(f"model {model!r}: request timed out ({message})", status=408)
    if status is not None and rejects_request(status, message):
        return error_for_status(status, message, model=model, headers=headers)
    if isinstance(exc, llm_errors.APIConnectionError) and (status is None or status >= 500):
        return RetryableModelError(
            f"model {model!r}: connection failed ({message})",
            status=status,
            kind="connection" if status is None else None,
        )
    if status is not None and status >= 400:
        return error_for_status(status, message, model=model, headers=headers)
    if isinstance(exc, llm_errors.APIError | llm_errors.InternalServerError):
        return RetryableModelError(f"model {model!r}: bad response ({message})")
    return ModelCallError(f"model {model!r}: {type(exc).__name__}: {message}", status=status)
