"""Source order (``ordered``): results wait for the records admitted before them, within
the admission window, and a failed record passes in its place."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from grasp_core.errors import NodeError
from tests.core.engine.test_scheduler import Changes, items, rig

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def held_first_record(window: int, *, fail_first: bool = False) -> Any:
    """A step where record 0 finishes last of the first window: it waits until records
    1..window-1 have finished, then a few turns more (so a record admitted beyond the window
    would have started). Returns the step, what entered, and the finish order."""
    entered: list[int] = []
    finished: list[int] = []
    seen_while_held: list[list[int]] = []
    changes = Changes()

    async def step(state: Mapping[str, Any]) -> int:
        n = int(state["n"])
        entered.append(n)
        if n == 0:
            await changes.wait_until(lambda: set(range(1, window)) <= set(finished))
            for _ in range(10):
                await anyio.lowlevel.checkpoint()
            seen_while_held.append(sorted(entered))
            if fail_first:
                finished.append(n)
                raise NodeError("record 0 fails on purpose", node="step")
        finished.append(n)
        changes.notify()
        return n

    return step, finished, seen_while_held


async def test_ordered_writes_in_source_order_whatever_finishes_first(tmp_path: Path) -> None:
    """Record 0 finishes after 1..3, yet the sink and the journal get 0, 1, 2... in order."""
    window, total = 4, 11
    step, finished, _ = held_first_record(window)
    r = rig(tmp_path, step, window=window, batch_size=3, ordered=True)
    counts = await r.run(items(total))
    assert finished.index(0) > finished.index(window - 1)
    assert r.committed() == [str(i) for i in range(total)]
    assert (counts.done, counts.interrupted) == (total, False)


async def test_completion_order_is_the_default(tmp_path: Path) -> None:
    """Without ``ordered`` the record that finished last is written last."""
    window = 4
    step, _, _ = held_first_record(window)
    r = rig(tmp_path, step, window=window, batch_size=1)
    await r.run(items(window))
    assert r.committed()[-1] == "0"


async def test_the_window_bounds_what_the_reorder_buffer_holds(tmp_path: Path) -> None:
    """While record 0 is unfinished, the records held behind it keep their admission slots:
    nothing past the first window is admitted."""
    window = 4
    step, _, seen_while_held = held_first_record(window)
    r = rig(tmp_path, step, window=window, ordered=True)
    await r.run(items(3 * window))
    assert seen_while_held == [list(range(window))]
    assert r.committed() == [str(i) for i in range(3 * window)]


async def test_a_failed_record_releases_its_place_in_line(tmp_path: Path) -> None:
    """Record 0 fails after the others finished: it goes to the failures file in its place and
    every record after it is written, in order (the buffer never waits for it)."""
    window, total = 4, 9
    step, _, _ = held_first_record(window, fail_first=True)
    r = rig(tmp_path, step, window=window, batch_size=2, ordered=True)
    counts = await r.run(items(total))
    assert r.committed() == [str(i) for i in range(1, total)]
    assert r.failures.ids() == ["0"]
    assert (counts.done, counts.failed, counts.interrupted) == (total - 1, 1, False)
