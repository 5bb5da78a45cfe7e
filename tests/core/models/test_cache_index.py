"""The response cache's segment indexes: a closed segment gets one, an open maps it instead of
scanning and answers exactly as a scan does; a missing, stale, torn or wrong index is never
trusted; live writers' segments are not indexed; compaction indexes what it writes."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from grasp_core.models import cache as cache_module
from grasp_core.models.cache import ResponseCache
from grasp_core.models.cache_index import SegmentIndex, index_path, write_index


def _key(i: int) -> str:
    return hashlib.sha256(f"request {i}".encode()).hexdigest()


def _reply(i: int, run: int = 0, padding: int = 0) -> dict[str, Any]:
    return {"text": f"reply {i} of run {run}" + "." * padding, "n": i}


def _write(directory: Path, keys: range, run: int = 0) -> None:
    cache = ResponseCache(directory).open()
    for i in keys:
        cache.put(_key(i), _reply(i, run))
    cache.close()


def _answers(directory: Path, keys: range) -> tuple[list[dict[str, Any] | None], int]:
    cache = ResponseCache(directory).open()
    try:
        return [cache.get(_key(i)) for i in keys], len(cache)
    finally:
        cache.close()


def _no_scans(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any scan of a segment fail the test."""

    def scan(data: bytes) -> list[tuple[str, int, int]]:
        raise AssertionError("a segment was scanned")

    monkeypatch.setattr(cache_module, "scan_lines", scan)


def _segments(directory: Path) -> list[Path]:
    return sorted(directory.glob("seg-*.log"))


def test_an_indexed_cache_answers_exactly_as_a_scanned_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Newer segments win, a key put twice keeps its last reply, and opening reads no
    segment when each has its index; with the indexes deleted, the scan gives the same."""
    _write(tmp_path, range(0, 300), run=1)
    _write(tmp_path, range(200, 500), run=2)  # 200..299 answered again, newer
    twice = ResponseCache(tmp_path).open()
    twice.put(_key(7), {"text": "first"})
    twice.put(_key(7), {"text": "second"})  # --refresh-cache within one run
    twice.close()
    assert len(list(tmp_path.glob("seg-*.idx"))) == 3
    keys = range(600)
    with monkeypatch.context() as patch:
        _no_scans(patch)
        indexed, indexed_len = _answers(tmp_path, keys)
    assert indexed[7] == {"text": "second"}
    assert indexed[250] == _reply(250, run=2)
    assert indexed[100] == _reply(100, run=1)
    assert indexed[550] is None
    assert indexed_len == 500
    for index in tmp_path.glob("seg-*.idx"):
        index.unlink()
    assert _answers(tmp_path, keys) == (indexed, indexed_len)


def test_a_killed_writers_segment_is_scanned_once_then_indexed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer killed mid-run leaves no index: the next open scans its segment and, the
    writer's lock being gone, indexes it; the open after that maps the index."""
    script = textwrap.dedent(
        """
        import hashlib, sys
        from pathlib import Path
        from grasp_core.models.cache import ResponseCache
        cache = ResponseCache(Path(sys.argv[1])).open()
        i = 0
        while True:
            key = hashlib.sha256(f"request {i}".encode()).hexdigest()
            cache.put(key, {"text": "y" * 2000, "n": i})
            if i == 340:  # past 300 written: a writer buffers up to 64 KiB (32 replies)
                print("ready", flush=True)
            i += 1
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    (segment,) = _segments(tmp_path)
    assert not index_path(segment).exists()
    first = ResponseCache(tmp_path).open()
    stored = len(first)
    first.close()
    assert stored > 300
    assert index_path(segment).exists()
    with monkeypatch.context() as patch:
        _no_scans(patch)
        again = ResponseCache(tmp_path).open()
        assert len(again) == stored
        for i in range(stored):
            assert again.get(_key(i)) == {"text": "y" * 2000, "n": i}
        assert again.get(_key(stored)) is None
        again.close()


def test_a_live_writers_segment_is_read_but_not_indexed(tmp_path: Path) -> None:
    """An open while another run writes sees its entries written so far (not those still
    in the writer's 64 KiB buffer) and leaves its segment unindexed; the writer indexes it,
    whole, when it closes."""
    live = ResponseCache(tmp_path).open()
    for i in range(50):
        live.put(_key(i), _reply(i, padding=2000))
    (segment,) = _segments(tmp_path)
    written = segment.read_bytes().count(b"\n")
    assert 0 < written < 50
    reader = ResponseCache(tmp_path).open()
    assert [reader.get(_key(i)) for i in range(written)] == [
        _reply(i, padding=2000) for i in range(written)
    ]
    assert reader.get(_key(written)) is None
    assert live.get(_key(49)) == _reply(49, padding=2000)  # from the buffer
    reader.close()
    assert not index_path(segment).exists()
    live.put(_key(50), _reply(50))
    live.close()
    index = SegmentIndex.load(segment, segment.stat().st_size)
    assert index is not None
    assert len(index.prefixes) == 51
    index.close()
    expected = [_reply(i, padding=2000) for i in range(50)] + [_reply(50)]
    assert _answers(tmp_path, range(51))[0] == expected


def test_a_stale_index_is_ignored_and_replaced(tmp_path: Path) -> None:
    """An index covering fewer bytes than its segment holds is not used: the segment is
    scanned (the lines after the index are found too) and indexed again."""
    _write(tmp_path, range(20))
    (segment,) = _segments(tmp_path)
    stale = index_path(segment).read_bytes()
    _write(tmp_path, range(20, 21))
    newer = _segments(tmp_path)[1]
    with segment.open("ab") as out:  # the other segment's line, as if appended later
        out.write(newer.read_bytes())
    newer.unlink()
    index_path(newer).unlink()
    assert index_path(segment).read_bytes() == stale
    assert _answers(tmp_path, range(22)) == ([_reply(i) for i in range(21)] + [None], 21)
    assert index_path(segment).read_bytes() != stale
    assert SegmentIndex.load(segment, segment.stat().st_size) is not None


@pytest.mark.parametrize("cut", [0, 7, 31, -1])
def test_a_torn_index_is_ignored(tmp_path: Path, cut: int) -> None:
    """An index file cut short anywhere (or empty) is not used: every reply is still
    answered, from a scan."""
    _write(tmp_path, range(40))
    (segment,) = _segments(tmp_path)
    whole = index_path(segment).read_bytes()
    index_path(segment).write_bytes(whole[:cut])
    assert SegmentIndex.load(segment, segment.stat().st_size) is None
    assert _answers(tmp_path, range(40)) == ([_reply(i) for i in range(40)], 40)


def test_an_index_pointing_at_other_lines_never_answers_with_them(tmp_path: Path) -> None:
    """An index whose places are wrong (here: two keys' swapped) makes those lookups
    miss; a lookup never returns another request's reply."""
    _write(tmp_path, range(3))
    (segment,) = _segments(tmp_path)
    data = segment.read_bytes()
    lines = data.splitlines(keepends=True)
    head = 64 + 1 + 8 + 1
    starts = [sum(map(len, lines[:i])) for i in range(3)]
    place = [(starts[i] + head, len(lines[i]) - head - 1) for i in range(3)]
    wrong = [(_key(0), *place[1]), (_key(1), *place[0]), (_key(2), *place[2])]
    write_index(segment, wrong, len(data))
    assert _answers(tmp_path, range(3)) == ([None, None, _reply(2)], 3)


def test_concurrent_writers_and_openers_lose_nothing(tmp_path: Path) -> None:
    """Two writers and a process opening the folder over and over meanwhile: every entry
    reads back intact from the indexes the writers leave, and the same after a rescan."""
    writer = textwrap.dedent(
        """
        import hashlib, sys
        from pathlib import Path
        from grasp_core.models.cache import ResponseCache
        start = int(sys.argv[2])
        cache = ResponseCache(Path(sys.argv[1])).open()
        for i in range(start, start + 2000):
            key = hashlib.sha256(f"request {i}".encode()).hexdigest()
            cache.put(key, {"text": "x" * (i % 300), "n": i})
        cache.close()
        """
    )
    opener = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        from grasp_core.models.cache import ResponseCache
        for _ in range(30):
            ResponseCache(Path(sys.argv[1])).open().close()
        """
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", writer, str(tmp_path), str(start)])
        for start in (0, 2000)
    ]
    procs.append(subprocess.Popen([sys.executable, "-c", opener, str(tmp_path)]))
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    segments = _segments(tmp_path)
    assert len(segments) == 2
    assert all(SegmentIndex.load(s, s.stat().st_size) is not None for s in segments)
    expected = [{"text": "x" * (i % 300), "n": i} for i in range(4000)]
    assert _answers(tmp_path, range(4000)) == (expected, 4000)
    for segment in segments:
        index_path(segment).unlink()
    assert _answers(tmp_path, range(4000)) == (expected, 4000)


def test_compaction_indexes_the_merged_segment_and_sweeps_what_crashes_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The segment compaction writes has its index; the merged segments' indexes go, and
    so do an index whose segment is gone, a half-written index of a gone segment and an
    unfinished compaction's segment; a live writer's segment and files stay."""
    for run in range(4):
        _write(tmp_path, range(run * 100, run * 100 + 100))
    live = ResponseCache(tmp_path).open()
    live.put(_key(1000), _reply(1000))
    (live_segment,) = set(_segments(tmp_path)) - set(_segments(tmp_path)[:4])
    live_tmp = tmp_path / f"tmp-{index_path(live_segment).name}-1-00000000"
    gone = "seg-00000000000000000001-1-deadbeef"
    left = [tmp_path / f"{gone}.idx", tmp_path / f"tmp-{gone}.idx-1-00000000"]
    left.append(tmp_path / f"tmp-{gone}.log")
    for path in [*left, live_tmp]:
        path.write_bytes(b"left behind")
    total = sum(p.stat().st_size for p in _segments(tmp_path))
    ResponseCache(tmp_path, max_bytes=total // 2).open().close()
    merged, still = _segments(tmp_path)
    assert still == live_segment
    assert not any(path.exists() for path in left)
    assert live_tmp.exists()
    assert sorted(p.name for p in tmp_path.glob("seg-*.idx")) == [index_path(merged).name]
    live.close()
    with monkeypatch.context() as patch:
        _no_scans(patch)
        answers, stored = _answers(tmp_path, range(1001))
    assert answers[1000] == _reply(1000)
    kept = stored - 1
    assert 0 < kept < 400
    assert answers[:400] == [None] * (400 - kept) + [_reply(i) for i in range(400 - kept, 400)]


def test_an_indexed_segment_is_read_through_its_map(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hit in a finished (indexed) segment makes no system call: its line is read from
    the segment's read-only map (a ``pread`` would let the writer's thread take the
    interpreter's lock at every hit). The key and checksum are still checked there."""
    _write(tmp_path, range(50))

    def no_pread(fd: int, size: int, offset: int) -> bytes:
        raise AssertionError("a hit in an indexed segment used pread")

    monkeypatch.setattr(cache_module.os, "pread", no_pread)
    assert _answers(tmp_path, range(50)) == ([_reply(i) for i in range(50)], 50)


def test_a_mapped_segment_changed_or_cut_short_under_a_reader_makes_lookups_miss(
    tmp_path: Path,
) -> None:
    """Bytes of a mapped segment changed after the cache opened fail their checksum, and an
    index place past the end of the segment reads a short line: both lookups miss, neither
    answers wrongly."""
    _write(tmp_path, range(3))
    (segment,) = _segments(tmp_path)
    data = segment.read_bytes()
    lines = data.splitlines(keepends=True)
    head = 64 + 1 + 8 + 1
    beyond = [
        (_key(0), len(data) - 2, 40),
        (_key(1), len(lines[0]) + head, len(lines[1]) - head - 1),
    ]
    write_index(
        segment,
        [*beyond, (_key(2), len(data) - len(lines[2]) + head, len(lines[2]) - head - 1)],
        len(data),
    )
    cache = ResponseCache(tmp_path).open()
    try:
        second = len(lines[0]) + head + 5
        with segment.open("r+b") as changed:  # one byte of the second reply, in place
            changed.seek(second)
            changed.write(b"X" if data[second : second + 1] != b"X" else b"Y")
        assert [cache.get(_key(i)) for i in range(3)] == [None, None, _reply(2)]
    finally:
        cache.close()
