"""`run_in: auto` judges a plain function by its calls' wall times: a busy machine may pause
the process during one cheap call, so one slow call is not enough; two are, and so is one
call long enough that no pause explains it."""

from __future__ import annotations

from structlog.testing import capture_logs

from grasp_core.config.run_in import BLOCKING_CALL_SECONDS, SLOW_CALL_SECONDS, Placement


def test_one_slow_call_is_not_enough_and_a_second_moves_the_function() -> None:
    placement = Placement("auto", name="steps.cheap", where="node 'step'")
    with capture_logs() as logs:
        placement.held(0.0001)
        placement.held(SLOW_CALL_SECONDS * 2.5)  # one pause of the process
        placement.held(0.0001)
        assert placement.on_loop is True
        assert logs == []
        placement.held(SLOW_CALL_SECONDS * 1.4)
    assert placement.on_loop is False
    (warning,) = [entry["event"] for entry in logs]
    assert warning == (
        "node 'step': steps.cheap: two calls held the event loop 125 ms and 70 ms; it runs "
        "in worker threads for the rest of the run (set run_in: thread to skip the measuring, "
        "or make it async)"
    )


def test_one_call_that_blocks_long_moves_the_function_at_once() -> None:
    placement = Placement("auto", name="steps.fetch")
    with capture_logs() as logs:
        placement.held(BLOCKING_CALL_SECONDS + 0.1)
    assert placement.on_loop is False
    assert [entry["event"] for entry in logs] == [
        "steps.fetch: one call held the event loop 600 ms; it runs in worker threads for the "
        "rest of the run (set run_in: thread to skip the measuring, or make it async)"
    ]


def test_run_in_loop_never_moves_a_function() -> None:
    placement = Placement("loop", name="steps.cheap")
    with capture_logs():
        for _ in range(3):
            placement.held(BLOCKING_CALL_SECONDS * 2)
    assert placement.on_loop is True
