"""Our single retry policy: exponential backoff with jitter that honours ``Retry-After``.

The first attempt is made directly (most calls succeed, and tenacity's bookkeeping costs
tens of microseconds); after a retryable failure, tenacity runs the remaining attempts. It is
imported then, too: a run none of whose calls fails never imports it (about 4 ms of a run's
start-up; tenacity is a required dependency, so the import cannot fail in a sound install).
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

import anyio

from grasp_core.errors import ModelCallError, RetryableModelError

if TYPE_CHECKING:
    from tenacity import RetryCallState

__all__ = ["backoff_seconds", "call_with_retries"]

T = TypeVar("T")

_BASE, _CAP, _JITTER = 0.25, 30.0, 0.5


def backoff_seconds(error: BaseException | None, retry_number: int) -> float:
    """The wait before retry ``retry_number`` (1 = the first retry).

    Exponential (0.25 s doubling, capped at 30 s) plus up to 0.5 s of jitter; at least the
    server's ``Retry-After`` when it sent one.
    """
    delay = min(_CAP, _BASE * 2.0 ** (retry_number - 1)) + random.uniform(0, _JITTER)
    if isinstance(error, RetryableModelError) and error.retry_after is not None:
        return max(error.retry_after, min(delay, error.retry_after + 1.0))
    return delay


def _wait(state: RetryCallState) -> float:
    outcome = state.outcome
    # tenacity's attempt_number counts the retries here, since attempt 1 ran before it
    return backoff_seconds(outcome.exception() if outcome else None, state.attempt_number + 1)


async def call_with_retries(
    attempt: Callable[[], Awaitable[T]], *, max_retries: int
) -> tuple[T, int]:
    """Run ``attempt`` until it succeeds; return its result and how many tries it took.

    When retries run out the last error is raised with ``attempts`` set.
    """
    try:
        return await attempt(), 1
    except RetryableModelError as error:
        if max_retries == 0:
            error.attempts = 1
            raise
        first_error = error
    except ModelCallError as error:
        error.attempts = 1
        raise
    await anyio.sleep(backoff_seconds(first_error, 1))
    from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt

    tries = 1
    retrying = AsyncRetrying(
        stop=stop_after_attempt(max_retries),
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
        exc.args = (f"{exc.args[0]} after {tries} attempts",)
        raise
    return result, tries
