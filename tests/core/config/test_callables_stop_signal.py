"""A stop signal that lands inside a plain function called on the event loop is told apart
from one landing anywhere else, by the stack the signal interrupted: the run's handler then
interrupts the function (it holds the loop, which cannot poll the signal until it returns).
Calls pay nothing for it."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

import pytest

from grasp_core.config.callables import UserCallable
from grasp_core.signal_exits import user_code_blocks_the_main_thread


@pytest.fixture
def seen() -> Iterator[list[bool]]:
    """What a SIGUSR1 handler said, signal by signal: whether user code held the loop."""
    answers: list[bool] = []

    def handler(_signum: int, frame: FrameType | None) -> None:
        answers.append(user_code_blocks_the_main_thread(frame))

    previous = signal.signal(signal.SIGUSR1, handler)
    try:
        yield answers
    finally:
        signal.signal(signal.SIGUSR1, previous)


def _raising(then: Callable[[], Any] | None = None) -> Callable[[Any], Any]:
    def step(state: Any) -> Any:
        if then is not None:
            return then()
        signal.raise_signal(signal.SIGUSR1)
        return state

    return step


@pytest.mark.parametrize("run_in", ["loop", "auto"])
def test_a_signal_inside_a_plain_function_on_the_loop_is_seen_as_blocking_it(
    seen: list[bool], run_in: Any
) -> None:
    """Inside the function, or anything it calls: blocking; before and after it: not."""
    UserCallable(_raising(), name="step", run_in=run_in).call_on_loop({})
    nested = _raising(lambda: signal.raise_signal(signal.SIGUSR1))
    UserCallable(nested, name="nested", run_in=run_in).call_on_loop({})
    signal.raise_signal(signal.SIGUSR1)
    assert seen == [True, True, False]


def test_a_signal_outside_any_call_is_only_noted(seen: list[bool]) -> None:
    """No frame, or a stack without a call on the loop: nothing to interrupt."""
    assert user_code_blocks_the_main_thread(None) is False
    signal.raise_signal(signal.SIGUSR1)
    assert seen == [False]
