"""Our single retry policy: exponential backoff with jitter that honours ``Retry-After``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from grasp_core.errors import ModelCallError, RetryableModelError

__all__ = ["call_with_retries"]

T = TypeVar("T")

_backoff = wait_exponential_jitter(multiplier=0.25, max=30.0, jitter=0.5)


def _wait(state: RetryCallState) -> float:
    delay = _backoff(state)
    outcome = state.outcome
    error = outcome.exception() if outcome is not None else None
    if isinstance(error, RetryableModelError) and error.retry_after is not None:
        return max(error.retry_after, min(delay, error.retry_after + 1.0))
    return delay


async def call_with_retries(
    attempt: Callable[[], Awaitable[T]], *, max_retries: int
) -> tuple[T, int]:
    """Run ``attempt`` until it succeeds; return its result and how many tries it took.

    When retries run out the last error is raised with ``attempts`` set.
    """
    tries = 0
    retrying = AsyncRetrying(
        stop=stop_after_attempt(max_retries + 1),
        wait=_wait,
        retry=retry_if_exception_type(RetryableModelError),
        sleep=anyio.sleep,
        reraise=True,
    )
    try:
        async for try_state in retrying:
            with try_state:
                tries += 1
                result = await attempt()
    except ModelCallError as exc:
        exc.attempts = tries
        if tries > 1:
            exc.args = (f"{exc.args[0]} after {tries} attempts",)
        raise
    return result, tries
