"""The hand-off from record workers to the writer behaves as an anyio memory object stream
(bounded, a waiting sender's result moves in as the writer takes one), without the stream's
checkpoint on a send that finds room, and with one waiting sender let in per batch the
writer takes (the refiller), not one per result."""

from __future__ import annotations

import random

import anyio
import anyio.lowlevel
import pytest
from anyio.abc import TaskGroup

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


async def test_a_taken_result_lets_the_oldest_waiting_sender_in() -> None:
    """A full hand-off makes senders wait; a result taken from it lets the oldest waiting
    one in at once, and the buffer is full again, so a ``send_nowait`` finds no room."""
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


async def _full_with_waiting(group: TaskGroup) -> ResultHandoff:
    """A hand-off of 4 holding results 0 to 3, and senders of "a", "b", "c" waiting on it, in
    that order."""
    handoff = ResultHandoff(4)
    for i in range(4):
        handoff.send_nowait(result(i))
    for name in ("a", "b", "c"):
        group.start_soon(handoff.send, RecordResult(name))
        await anyio.wait_all_tasks_blocked()
    return handoff


async def test_the_room_a_batch_frees_is_left_to_one_refiller() -> None:
    """Of the results the writer takes in one go from a full buffer, the first lets one
    waiting sender in; the room the others free is left to that sender (a send with room
    goes in although others wait), until the buffer is down to half."""
    async with anyio.create_task_group() as group:
        handoff = await _full_with_waiting(group)
        taken = [handoff.receive_nowait().record_id for _ in range(2)]
        assert taken == ["0", "1"]  # "a" went in after the first take, no one after the second
        handoff.send_nowait(result(4))  # the refiller's next result: room, although "b" waits
        assert handoff.receive_nowait().record_id == "2"  # the refiller sent: "b" goes in
        with pytest.raises(anyio.WouldBlock):
            handoff.send_nowait(result(9))
        rest = [handoff.receive_nowait().record_id for _ in range(4)]
        assert rest == ["3", "a", "4", "b"]  # down to half: "c" went in as well
        assert handoff.receive_nowait().record_id == "c"
    with pytest.raises(anyio.WouldBlock):
        handoff.receive_nowait()


async def test_waiting_senders_get_in_while_the_refiller_sends_nothing() -> None:
    """A refiller that sends nothing (its record is in a slow model call) holds no one up
    for long: once the buffer is down to half, each take lets a waiting sender in."""
    async with anyio.create_task_group() as group:
        handoff = await _full_with_waiting(group)
        got = [handoff.receive_nowait().record_id for _ in range(7)]
    assert got == ["0", "1", "2", "3", "a", "b", "c"]


async def test_many_senders_deliver_every_result_once() -> None:
    """Workers sending at random moments into a small hand-off, and a writer taking batches
    with pauses between them: every result arrives exactly once, and nothing is stuck."""

    rng = random.Random(7)
    handoff = ResultHandoff(3)
    got: list[str] = []

    async def worker(number: int) -> None:
        for i in range(25):
            for _ in range(rng.randrange(3)):
                await anyio.lowlevel.checkpoint()
            await handoff.send(RecordResult(f"{number}-{i}"))

    async def writer() -> None:
        while True:
            try:
                batch = [await handoff.receive()]
            except anyio.EndOfStream:
                return
            while len(batch) < 2:
                try:
                    batch.append(handoff.receive_nowait())
                except (anyio.WouldBlock, anyio.EndOfStream):
                    break
            got.extend(r.record_id for r in batch)
            for _ in range(rng.randrange(4)):
                await anyio.lowlevel.checkpoint()

    async with anyio.create_task_group() as outer:
        outer.start_soon(writer)
        async with anyio.create_task_group() as workers:
            for number in range(8):
                workers.start_soon(worker, number)
        handoff.close()
    assert sorted(got) == sorted(f"{n}-{i}" for n in range(8) for i in range(25))
    for number in range(8):  # each worker's own results stay in its order
        mine = [r for r in got if r.startswith(f"{number}-")]
        assert mine == [f"{number}-{i}" for i in range(25)]


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
