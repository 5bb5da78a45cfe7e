"""The admission slots of a source-order run: never more than ``size`` held, a freed slot kept
for a worker that runs on, waiting workers woken when a slot would otherwise sit idle, and no
slot lost to a cancelled wait."""

from __future__ import annotations

import random

import anyio
import anyio.lowlevel
import pytest

from grasp_core.engine.slots import AdmissionSlots

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def take(slots: AdmissionSlots, got: list[object], name: object) -> None:
    """A worker that waits for a slot, then notes it has one."""
    await slots.acquire()
    got.append(name)


async def test_a_worker_that_runs_on_reuses_the_slot_it_freed() -> None:
    """With another worker waiting, a slot released and asked for again before the releaser
    yields goes back to the releaser (anyio's semaphore would hand it to the waiter, and the
    releaser would wait); the waiter, woken once, finds none and waits on."""
    slots = AdmissionSlots(1)
    slots.acquire_nowait()
    got: list[object] = []

    async with anyio.create_task_group() as group:
        group.start_soon(take, slots, got, "waiter")
        await anyio.wait_all_tasks_blocked()
        for _ in range(5):  # five records, back to back
            slots.release()
            slots.acquire_nowait()
        await anyio.wait_all_tasks_blocked()
        assert got == []
        assert slots.free == 0
        slots.release()  # now the runner waits on a model: the slot is the waiter's
        await anyio.wait_all_tasks_blocked()
        assert got == ["waiter"]
        assert slots.free == 0
        slots.release()
    assert slots.free == 1


async def test_slots_freed_while_their_worker_waits_go_to_waiting_workers() -> None:
    """Several slots freed in one go (a reorder buffer sending a run of results) while the
    worker that freed them then waits: each goes to a waiting worker, none stays idle."""
    slots = AdmissionSlots(3)
    for _ in range(3):
        slots.acquire_nowait()
    got: list[object] = []

    async with anyio.create_task_group() as group:
        for number in range(4):
            group.start_soon(take, slots, got, number)
            await anyio.wait_all_tasks_blocked()
        for _ in range(3):
            slots.release()
        await anyio.wait_all_tasks_blocked()
        assert got == [0, 1, 2]
        assert slots.free == 0
        group.cancel_scope.cancel()
    assert slots.free == 0


async def test_a_cancelled_wait_loses_no_slot() -> None:
    """A worker cancelled after a release woke it, but before it ran, leaves the slot to
    the next waiting worker (unless the wake reached it first: trio may deliver it before
    the cancellation, and then it holds the slot); one cancelled while it waits leaves the
    line. Either way exactly one worker holds the one slot."""
    slots = AdmissionSlots(1)
    slots.acquire_nowait()
    got: list[object] = []

    async with anyio.create_task_group() as group:
        async with anyio.create_task_group() as doomed:
            doomed.start_soon(take, slots, got, "cancelled")
            await anyio.wait_all_tasks_blocked()
            group.start_soon(take, slots, got, "next")
            await anyio.wait_all_tasks_blocked()
            slots.release()  # wakes the oldest waiter...
            doomed.cancel_scope.cancel()  # ...which is cancelled before it runs
        await anyio.wait_all_tasks_blocked()
        assert slots.free == 0
        assert got in (["next"], ["cancelled"])
        if got == ["cancelled"]:
            slots.release()  # its record is done: the next waiter gets the slot
            await anyio.wait_all_tasks_blocked()
            assert got == ["cancelled", "next"]
            assert slots.free == 0
        async with anyio.create_task_group() as waiting:
            waiting.start_soon(take, slots, got, "gone")
            await anyio.wait_all_tasks_blocked()
            waiting.cancel_scope.cancel()  # cancelled while it waits: leaves the line
        slots.release()
        assert slots.free == 1
        assert "gone" not in got


async def test_many_workers_never_hold_more_than_the_window() -> None:
    """Workers taking slots with and without waiting, holding them across random event-loop
    steps, releasing them in bursts: never more than ``size`` held, every worker finishes,
    and every slot is free at the end."""
    rng = random.Random(3)
    slots = AdmissionSlots(4)
    held = 0
    most = 0
    done = 0

    async def worker() -> None:
        nonlocal held, most, done
        for _ in range(30):
            try:
                slots.acquire_nowait()
            except anyio.WouldBlock:
                await slots.acquire()
            held += 1
            most = max(most, held)
            for _ in range(rng.randrange(3)):
                await anyio.lowlevel.checkpoint()
            held -= 1
            slots.release()
        done += 1

    async with anyio.create_task_group() as group:
        for _ in range(10):
            group.start_soon(worker)
    assert (most, done, slots.free) == (4, 10, 4)
