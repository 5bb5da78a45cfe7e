"""A backend's concurrency slots: a free slot is taken at once, but never ahead of a call
already waiting (first come, first served); a waiter cancelled leaves the queue, and a holder
cancelled gives its slot back."""

from __future__ import annotations

import anyio
import pytest

from grasp_core.models.backends import Backend


@pytest.mark.anyio
async def test_slots_go_first_come_first_served_and_never_to_a_newcomer() -> None:
    backend = Backend(name="b", max_concurrency=2, adaptive=False)
    order: list[str] = []
    release = anyio.Event()

    async def call(name: str) -> None:
        async with backend.slot():
            order.append(name)
            await release.wait()

    async with anyio.create_task_group() as group:
        for name in ("a", "b", "c", "d"):  # a and b hold the slots; c, then d wait
            group.start_soon(call, name)
            await anyio.wait_all_tasks_blocked()
        assert order == ["a", "b"]
        assert backend.limiter.borrowed_tokens == 2
        release.set()
    assert order == ["a", "b", "c", "d"]
    assert backend.limiter.borrowed_tokens == 0


@pytest.mark.anyio
async def test_a_released_slot_goes_to_the_waiter_not_to_a_newcomer() -> None:
    backend = Backend(name="b", max_concurrency=1, adaptive=False)
    order: list[str] = []
    holder_done, waiter_done = anyio.Event(), anyio.Event()

    async def call(name: str, done: anyio.Event) -> None:
        async with backend.slot():
            order.append(name)
            await done.wait()

    async with anyio.create_task_group() as group:
        group.start_soon(call, "holder", holder_done)
        await anyio.wait_all_tasks_blocked()
        group.start_soon(call, "waiter", waiter_done)
        await anyio.wait_all_tasks_blocked()
        holder_done.set()
        await anyio.wait_all_tasks_blocked()  # the holder left; the waiter holds the slot
        assert order == ["holder", "waiter"]
        with anyio.move_on_after(0.05) as newcomer:
            async with backend.slot():
                order.append("newcomer")
        assert newcomer.cancelled_caught
        waiter_done.set()
    assert order == ["holder", "waiter"]
    assert backend.limiter.borrowed_tokens == 0


@pytest.mark.anyio
async def test_cancelled_waiters_and_holders_give_their_places_back() -> None:
    backend = Backend(name="b", max_concurrency=1, adaptive=False)
    hold = anyio.Event()

    async def call() -> None:
        async with backend.slot():
            await hold.wait()

    async with anyio.create_task_group() as group:
        group.start_soon(call)
        await anyio.wait_all_tasks_blocked()
        with anyio.move_on_after(0.01):  # a waiter that gives up
            async with backend.slot():
                pytest.fail("the slot was held")
        group.cancel_scope.cancel()  # the holder is cancelled inside its slot
    assert backend.limiter.borrowed_tokens == 0
    async with backend.slot():
        assert backend.limiter.borrowed_tokens == 1
    assert backend.limiter.borrowed_tokens == 0
