"""The hand-off from record workers to the writer behaves as an anyio memory object stream
(FIFO, bounded, a waiting sender's result moves in as the writer takes one), without the
stream's checkpoint on a send that finds room."""

from __future__ import annotations

import anyio
import pytest

from grasp_core.engine.writer import RecordResult, ResultHandoff

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def result(i: int) -> RecordResult:
    return RecordResult(str(i), output={"id": i})


async def test_a_send_with_room_takes_no_event_loop_step() -> None:
    """A send that finds room returns without a checkpoint: even inside a cancelled scope it
    delivers (anyio's stream would raise the cancellation first)."""
    handoff = ResultHandoff(2)
    with anyio.CancelScope() as scope:
        scope.cancel()
        await handoff.send(result(0))
    handoff.close()
    assert handoff.receive_nowait().record_id == "0"
    with pytest.raises(anyio.EndOfStream):
        handoff.receive_nowait()


async def test_waiting_senders_keep_their_turn() -> None:
    """A full hand-off makes senders wait; each result the receiver takes lets the oldest
    waiting one in at once, so a later ``send_nowait`` cannot cut in line."""
    handoff = ResultHandoff(1)
    handoff.send_nowait(result(0))
    with pytest.raises(anyio.WouldBlock):
        handoff.send_nowait(result(9))
    async with anyio.create_task_group() as group:
        for i in (1, 2):
            group.start_soon(handoff.send, result(i))
            await anyio.wait_all_tasks_blocked()
        assert handoff.receive_nowait().record_id == "0"
        with pytest.raises(anyio.WouldBlock):
            handoff.send_nowait(result(9))  # 1 moved in; 2 still waits
        assert [handoff.receive_nowait().record_id for _ in range(2)] == ["1", "2"]
    with pytest.raises(anyio.WouldBlock):
        handoff.receive_nowait()


async def test_a_cancelled_waiting_send_delivers_nothing() -> None:
    """A sender cancelled while it waits leaves the queue: its result never arrives."""
    handoff = ResultHandoff(1)
    handoff.send_nowait(result(0))
    async with anyio.create_task_group() as group:
        group.start_soon(handoff.send, result(1))
        await anyio.wait_all_tasks_blocked()
        group.cancel_scope.cancel()
    handoff.close()
    assert handoff.receive_nowait().record_id == "0"
    with pytest.raises(anyio.EndOfStream):
        handoff.receive_nowait()


async def test_the_receiver_waits_for_results_then_for_the_end() -> None:
    """``receive`` waits until a result is sent, and ends with ``EndOfStream`` once the
    sending side is closed and everything was taken; every result arrives once, in order."""
    handoff = ResultHandoff(3)
    got: list[str] = []

    async def receive_all() -> None:
        while True:
            try:
                got.append((await handoff.receive()).record_id)
            except anyio.EndOfStream:
                return

    async with anyio.create_task_group() as group:
        group.start_soon(receive_all)
        await anyio.wait_all_tasks_blocked()
        for i in range(10):
            await handoff.send(result(i))
        handoff.close()
    assert got == [str(i) for i in range(10)]
