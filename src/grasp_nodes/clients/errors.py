"""The boundary where transport errors become GraSP errors (one function per transport).

Retryable: 408/409/425/429, 5xx, timeouts, dropped connections, unparseable responses.
Everything else (400, 401, 403, 404, 422...) fails at once. Both transports map through
:func:`error_for_status`, so retries behave the same whichever carried the call.
"""

from __future__ import annotations

from typing import Any

from grasp_core.errors import ModelCallError, RetryableModelError

__all__ = ["error_for_status", "map_litellm_error", "parse_retry_after"]

_RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
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


def error_for_status(status: int, message: str, *, model: str, headers: Any) -> ModelCallError:
    """The error for an HTTP error status."""
    text = f"model {model!r}: HTTP {status} ({message})"
    if status in _RETRYABLE_STATUS or status >= 500:
        return RetryableModelError(text, status=status, retry_after=parse_retry_after(headers))
    return ModelCallError(text + _HINTS.get(status, ""), status=status)


def map_litellm_error(exc: Exception, *, model: str) -> ModelCallError:
    """Translate a litellm (or openai/httpx) exception into our error tree."""
    from litellm import exceptions as llm_errors

    status: int | None = getattr(exc, "status_code", None)
    message = str(getattr(exc, "message", None) or exc).replace("litellm.", "", 1)
    headers = getattr(exc, "litellm_response_headers", None) or getattr(
        getattr(exc, "response", None), "headers", None
    )
    if isinstance(exc, llm_errors.Timeout):
        return RetryableModelError(f"model {model!r}: request timed out ({message})", status=408)
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
