"""Closing the cache at the end of a run (``aclose``): a run that wrote replies leaves its
segment indexed, one that only read leaves the folder as it was; either way every file it
opened is closed and the next run reads every reply."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from grasp_core.models.cache import ResponseCache

pytestmark = pytest.mark.anyio

KEY = "{:064x}"


def _open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def _names(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


async def test_a_writing_run_leaves_its_segment_indexed(tmp_path: Path) -> None:
    """The segment a run wrote gets its index, and its files are closed."""
    before = _open_fds()
    cache = ResponseCache(tmp_path).open()
    cache.put(KEY.format(1), {"text": "one"})
    await cache.aclose()
    assert _open_fds() <= before
    assert len([name for name in _names(tmp_path) if name.endswith(".idx")]) == 1
    again = ResponseCache(tmp_path).open()
    assert again.get(KEY.format(1)) == {"text": "one"}
    again.close()


async def test_a_reading_run_closes_what_it_opened_and_changes_nothing(tmp_path: Path) -> None:
    """A run whose calls were all hits closes the segments and indexes it mapped."""
    writer = ResponseCache(tmp_path).open()
    writer.put(KEY.format(1), {"text": "one"})
    writer.close()
    files = _names(tmp_path)
    before = _open_fds()
    reader = ResponseCache(tmp_path).open()
    assert reader.get(KEY.format(1)) == {"text": "one"}
    await reader.aclose()
    assert _open_fds() <= before
    assert _names(tmp_path) == files
    again = ResponseCache(tmp_path).open()
    assert again.get(KEY.format(1)) == {"text": "one"}
    again.close()
