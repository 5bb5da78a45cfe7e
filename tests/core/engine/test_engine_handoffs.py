"""The record workers' cheap hand-offs give what the general ones give: items taken from the
batch in memory (``take_nowait``) come in the order, numbering and skip counts of ``take``
alone, and nothing comes once the feed is closed."""

from __future__ import annotations

import pytest

from grasp_core.engine.feed import READ_BATCH, RecordFeed
from grasp_core.protocols import SourceItem

pytestmark = pytest.mark.anyio


def _feed(total: int, skipped: list[str]) -> RecordFeed:
    items = iter(SourceItem(str(i), {"n": i}) for i in range(total))
    return RecordFeed(
        items, lambda rid, _unreadable: int(rid) % 3 == 0, lambda: skipped.append("s")
    )


async def test_taking_from_the_batch_first_gives_what_take_alone_gives() -> None:
    """``take_nowait() or await take()``, as the workers take items, hands out the same
    items, positions and skips as ``take`` alone, across read batches."""
    total = READ_BATCH * 2 + 7
    runs: list[tuple[list[tuple[str, int]], int]] = []
    for nowait_first in (False, True):
        skipped: list[str] = []
        feed = _feed(total, skipped)
        taken = []
        while True:
            got = (feed.take_nowait() if nowait_first else None) or await feed.take()
            if got is None:
                break
            taken.append((got[0].record_id, got[1]))
        runs.append((taken, len(skipped)))
    assert runs[0] == runs[1]
    assert len(runs[0][0]) == total - runs[0][1]


async def test_take_nowait_hands_out_nothing_before_a_read_or_after_close() -> None:
    """With no batch read yet ``take_nowait`` gives None (``take`` reads one); once the
    feed is closed it gives None with items left in the batch."""
    skipped: list[str] = []
    feed = _feed(10, skipped)
    assert feed.take_nowait() is None
    first = await feed.take()
    assert first is not None
    assert first[0].record_id == "1"
    second = feed.take_nowait()
    assert second is not None
    assert (second[0].record_id, second[1]) == ("2", 1)
    feed.close()
    assert feed.take_nowait() is None
    assert await feed.take() is None
