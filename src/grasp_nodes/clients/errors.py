"""The one boundary where transport errors become GraSP errors.

Retryable: 429, 5xx, timeouts, dropped connections, unparseable responses.
Everything else (400, 401, 403, 404, 422...) fails at once.
"""

from __future__ import annotations

from typing import Any

from grasp_core.errors import ModelCallError, RetryableModelError

__all__ = ["map_litellm_error", "parse_retry_after"]

_RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


def parse_retry_after(headers: Any) -> float | None:
    """Seconds from a ``Retry-After`` header (numeric form), if present and sane."""
    if headers is None:
        return None
    try:
        value = headers.get("retry-after") or headers.get("Retry-After")
    except AttributeError:
        return None
    if value is None:
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return seconds if 0 <= seconds <= 3600 else None


def map_litellm_error(exc: Exception, *, model: str) -> ModelCallError:
    """Translate a litellm (or openai/httpx) exception into our error tree."""
    import litellm

    status: int | None = getattr(exc, "status_code", None)
    message = str(getattr(exc, "message", None) or exc).replace("litellm.", "", 1)
    headers = getattr(exc, "litellm_response_headers", None) or getattr(
        getattr(exc, "response", None), "headers", None
    )
    if isinstance(exc, litellm.Timeout):
        return RetryableModelError(f"model {model!r}: request timed out ({message})", status=408)
    if isinstance(exc, litellm.APIConnectionError) and (status is None or status >= 500):
        return RetryableModelError(f"model {model!r}: connection failed ({message})", status=status)
    if status in _RETRYABLE_STATUS:
        return RetryableModelError(
            f"model {model!r}: HTTP {status} ({message})",
            status=status,
            retry_after=parse_retry_after(headers),
        )
    if isinstance(exc, litellm.APIError | litellm.InternalServerError) and status is None:
        return RetryableModelError(f"model {model!r}: bad response ({message})")
    hint = {
        401: "; check the API key variable named by api_key_env",
        403: "; the key lacks access to this model",
        404: "; check the model route and api_base in the models file",
    }.get(status or 0, "")
    return ModelCallError(f"model {model!r}: HTTP {status} ({message}){hint}", status=status)
