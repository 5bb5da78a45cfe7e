"""The record feed: source items, in source order, for the engine's record workers.

Items are read in batches of :data:`READ_BATCH` in a worker thread (a source is blocking
code); items an earlier run finished are counted as skipped as they come up, and never handed
out. Workers take items one at a time with :meth:`RecordFeed.take_nowait` while a batch lasts
(no thread, task, lock or event-loop step), then with :meth:`RecordFeed.take`: one worker
refills the batch while the others wait for it.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Iterator

import anyio
import anyio.to_thread

from grasp_core.protocols import SourceItem

__all__ = ["READ_BATCH", "RecordFeed"]

READ_BATCH = 256


class RecordFeed:
    """Hands out the items left to process, each with its position (from 0, in source order,
    counting only items handed out)."""

    def __init__(
        self,
        items: Iterator[SourceItem],
        finished: Callable[[str, bool], bool],
        on_skipped: Callable[[], None],
    ) -> None:
        self._items = items
        self._finished = finished
        self._on_skipped = on_skipped
        self._batch: deque[SourceItem] = deque()
        self._exhausted = False
        self._closed = False
        self._refill = anyio.Lock()
        self.position = 0
        """How many items were handed out."""

    def close(self) -> None:
        """Hand out nothing more (the run stops): :meth:`take` returns None from now on."""
        self._closed = True

    def take_nowait(self) -> tuple[SourceItem, int] | None:
        """:meth:`take` from the batch read so far, without awaiting: None when the batch
        is used up or the feed closed (then :meth:`take` says which, and reads more)."""
        batch = self._batch
        while batch and not self._closed:
            item = batch.popleft()
            if self._finished(item.record_id, item.error is not None):
                self._on_skipped()
                continue
            position = self.position
            self.position += 1
            return item, position
        return None

    async def take(self) -> tuple[SourceItem, int] | None:
        """The next unfinished item and its position; None once the source is done."""
        batch = self._batch
        while not self._closed:
            taken = self.take_nowait()
            if taken is not None:
                return taken
            if self._exhausted:
                return None
            async with self._refill:
                if not batch and not self._exhausted and not self._closed:
                    await self._read()
        return None

    async def _read(self) -> None:
        items = self._items
        read = await anyio.to_thread.run_sync(lambda: list(itertools.islice(items, READ_BATCH)))
        self._batch.extend(read)
        self._exhausted = not read
