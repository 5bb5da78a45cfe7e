"""A writer's buffer: replies stored reach the segment when 64 KiB are waiting, when the
oldest waited a second, and at close; the run finds them in the buffer meanwhile; a write
that fails (a full disk) keeps them readable in the run, stops writing and leaves the folder
readable; a reply with a lone surrogate is kept as its JSON escape."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest

import grasp_core.models.cache as cache_module
from grasp_core.models.cache import ResponseCache

KEY = "{:064x}"


def _lines(directory: Path) -> int:
    (segment,) = directory.glob("seg-*.log")
    return segment.read_bytes().count(b"\n")


def test_replies_wait_in_the_buffer_until_64_kib_then_are_written(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path).open()
    for i in range(10):
        cache.put(KEY.format(i), {"text": "a" * 1000, "n": i})
    assert _lines(tmp_path) == 0
    assert cache.get(KEY.format(9)) == {"text": "a" * 1000, "n": 9}
    for i in range(10, 80):
        cache.put(KEY.format(i), {"text": "a" * 1000, "n": i})
    written = _lines(tmp_path)
    assert 60 <= written < 80  # a line is about 1,100 bytes: 60 fill 64 KiB
    assert [cache.get(KEY.format(i)) for i in range(80)] == [
        {"text": "a" * 1000, "n": i} for i in range(80)
    ]
    cache.close()
    assert _lines(tmp_path) == 80
    again = ResponseCache(tmp_path).open()
    assert [again.get(KEY.format(i)) for i in range(80)] == [
        {"text": "a" * 1000, "n": i} for i in range(80)
    ]
    again.close()


def test_a_reply_stored_a_second_after_the_oldest_waiting_writes_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1000.0]
    monkeypatch.setattr(cache_module, "_clock", lambda: now[0])
    cache = ResponseCache(tmp_path).open()
    cache.put(KEY.format(1), {"text": "one"})
    now[0] += 0.5
    cache.put(KEY.format(2), {"text": "two"})
    assert _lines(tmp_path) == 0
    now[0] += 0.5
    cache.put(KEY.format(3), {"text": "three"})
    assert _lines(tmp_path) == 3
    cache.put(KEY.format(4), {"text": "four"})  # a new buffer, its clock starts now
    assert _lines(tmp_path) == 3
    cache.close()
    assert _lines(tmp_path) == 4


def test_a_full_disk_keeps_the_runs_replies_and_stops_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(fd: int, data: bytes | bytearray) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    cache = ResponseCache(tmp_path).open()
    cache.put(KEY.format(1), {"text": "kept in the run"})
    monkeypatch.setattr(cache_module, "write_all", full)
    cache.close()  # the final write fails: one warning, no index
    assert not list(tmp_path.glob("seg-*.idx"))
    second = ResponseCache(tmp_path).open()
    for i in range(100):
        second.put(KEY.format(100 + i), {"text": "b" * 1000})
    assert second.get(KEY.format(100)) == {"text": "b" * 1000}  # still in its buffer
    assert second.get(KEY.format(199)) is None  # stored after writing stopped
    second.close()
    monkeypatch.undo()
    reader = ResponseCache(tmp_path).open()
    assert len(reader) == 0
    assert reader.get(KEY.format(1)) is None
    reader.close()


def test_a_lone_surrogate_is_kept_as_its_json_escape(tmp_path: Path) -> None:
    reply = {"text": "odd \ud800 text", "tool_calls": []}
    cache = ResponseCache(tmp_path).open()
    cache.put_json(KEY.format(1), json.dumps(reply, ensure_ascii=False))
    assert cache.get(KEY.format(1)) == reply
    cache.close()
    again = ResponseCache(tmp_path).open()
    assert again.get(KEY.format(1)) == reply
    again.close()
