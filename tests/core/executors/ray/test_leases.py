"""Global limits without Ray: shards leasing slots from one BackendLimits stay under it."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from grasp_core.executors.ray import BackendLimits, LeasedBackend, SlotLease


class _Method:
    """``actor.method.remote(...)`` for an object in this process: an awaitable result."""

    def __init__(self, fn: Any) -> None:
        self.fn = fn

    def remote(self, *args: Any) -> asyncio.Future[Any]:
        result = self.fn(*args)
        if inspect.isawaitable(result):
            return asyncio.ensure_future(result)
        future = asyncio.get_running_loop().create_future()
        future.set_result(result)
        return future


class InProcessActor:
    """A stand-in for a Ray actor handle around ``target``."""

    def __init__(self, target: Any) -> None:
        self.target = target

    def __getattr__(self, name: str) -> _Method:
        return _Method(getattr(self.target, name))


@pytest.mark.anyio
async def test_shards_never_hold_more_slots_than_the_global_limit() -> None:
    """Three shards with 20 calls each, one backend of 4: at most 4 calls run at once."""
    limits = BackendLimits("b", max_concurrency=4)
    actor = InProcessActor(limits)
    running = most = 0

    async def call(lease: SlotLease) -> None:
        nonlocal running, most
        async with lease.slot():
            running += 1
            most = max(most, running)
            await anyio.sleep(0.002)
            running -= 1

    leases = [SlotLease(actor, f"shard-{i}", max_concurrency=4) for i in range(3)]
    async with anyio.create_task_group() as tg:
        for lease in leases:
            for _ in range(20):
                tg.start_soon(call, lease)
    for lease in leases:
        await lease.aclose()
    await anyio.sleep(0.01)
    assert most == 4
    assert limits.most_leased <= 4
    assert limits.backend.limiter.borrowed_tokens == 0


@pytest.mark.anyio
async def test_a_busy_shard_hands_slots_back_when_its_lease_expires() -> None:
    """A shard that always has work cannot keep every slot past its lease term."""
    limits = BackendLimits("b", max_concurrency=2)
    actor = InProcessActor(limits)
    greedy = SlotLease(actor, "greedy", max_concurrency=2, lease_seconds=0.02)
    late = SlotLease(actor, "late", max_concurrency=2, lease_seconds=0.02)
    finished: list[str] = []

    async def busy(lease: SlotLease, name: str, calls: int) -> None:
        for _ in range(calls):
            async with lease.slot():
                await anyio.sleep(0.005)
        finished.append(name)

    async with anyio.create_task_group() as tg:
        for _ in range(2):
            tg.start_soon(busy, greedy, "greedy", 40)
        await anyio.sleep(0.01)
        tg.start_soon(busy, late, "late", 1)
    assert finished.index("late") < finished.index("greedy")


@pytest.mark.anyio
async def test_429s_halve_the_limit_for_every_shard() -> None:
    """A 429 reported by one shard shrinks the global limit the others lease from."""
    limits = BackendLimits("b", max_concurrency=8)
    actor = InProcessActor(limits)
    lease = SlotLease(actor, "s0", max_concurrency=8)
    backend = LeasedBackend(name="b", max_concurrency=8, lease=lease)
    async with backend.slot():
        pass
    backend.record_rate_limited()
    await anyio.lowlevel.checkpoint()
    assert limits.limit == 4
    assert limits.backend.limiter.total_tokens == 4
    assert backend.rate_limited == 1


def test_reclaim_frees_the_slots_of_a_dead_shard() -> None:
    """Slots held by a shard whose worker died return to the pool."""

    async def main() -> None:
        limits = BackendLimits("b", max_concurrency=3)
        assert await limits.acquire("dead", 3) == (3, 3)
        assert limits.reclaim("dead") == 3
        assert await limits.acquire("alive", 3) == (3, 3)

    anyio.run(main)


@pytest.mark.anyio
async def test_a_request_still_waiting_when_its_shard_closes_is_granted_nothing() -> None:
    """Closing (or reclaiming) a shard cancels its waiting request and refuses later ones,
    so no slot freed afterwards is booked to the shard that is gone."""
    limits = BackendLimits("b", max_concurrency=1)
    assert await limits.acquire("busy", 1) == (1, 1)
    waiting = asyncio.ensure_future(limits.acquire("ended", 1))
    await anyio.wait_all_tasks_blocked()
    assert limits.reclaim("ended") == 0
    limits.release("busy", 1)
    with anyio.fail_after(1):
        assert await waiting == (0, 1)
        assert await limits.acquire("ended", 1) == (0, 1)
    assert limits.backend.limiter.borrowed_tokens == 0
    assert await limits.acquire("next", 1) == (1, 1)


@pytest.mark.anyio
async def test_a_shard_ending_with_a_request_out_leaves_no_slot_booked_to_it() -> None:
    """A shard whose waiting call took a slot it freed itself ends with its request to the
    actor still queued: once every shard is done, every slot is free again."""
    limits = BackendLimits("b", max_concurrency=2)
    actor = InProcessActor(limits)
    assert await limits.acquire("other", 1) == (1, 2)
    lease = SlotLease(actor, "ending", max_concurrency=2)
    holding, let_go = anyio.Event(), anyio.Event()

    async def first_call() -> None:
        async with lease.slot():
            holding.set()
            await let_go.wait()

    async def second_call() -> None:
        async with lease.slot():
            pass

    async with anyio.create_task_group() as tg:
        tg.start_soon(first_call)
        await holding.wait()
        queued_first = asyncio.ensure_future(limits.acquire("queued", 1))
        await anyio.wait_all_tasks_blocked()
        tg.start_soon(second_call)  # asks the actor for a slot, behind "queued"
        await anyio.wait_all_tasks_blocked()
        assert limits.backend.limiter.statistics().tasks_waiting == 2
        let_go.set()  # the second call reuses the first one's slot
    await lease.aclose()
    assert limits.reclaim("ending") == 0
    with anyio.fail_after(1):
        assert await queued_first == (1, 2)
    limits.release("other", 1)
    limits.release("queued", 1)
    await anyio.wait_all_tasks_blocked()
    assert limits.backend.limiter.borrowed_tokens == 0
    assert limits.summary()["in_flight"] == 0
