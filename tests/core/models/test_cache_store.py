"""The response cache's store: segments per writer, torn and corrupt lines skipped, other
writers' entries seen at the next open, concurrent and killed writers leaving it consistent,
and the size limit enforced by compaction."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from grasp_core.models.cache import ResponseCache

KEY = "{:064x}"


def _key(i: int) -> str:
    return KEY.format(i)


def _fill(directory: Path, keys: range, *, max_bytes: int = 1 << 30) -> None:
    cache = ResponseCache(directory, max_bytes=max_bytes).open()
    for i in keys:
        cache.put(_key(i), {"text": f"reply {i}", "n": i})
    cache.close()


def test_a_reply_written_is_read_back_now_and_after_reopening(tmp_path: Path) -> None:
    """A put is readable at once, and by every later open of the folder."""
    cache = ResponseCache(tmp_path).open()
    cache.put(_key(1), {"text": "héllo\nworld"})
    assert cache.get(_key(1)) == {"text": "héllo\nworld"}
    assert cache.get(_key(2)) is None
    cache.close()
    again = ResponseCache(tmp_path).open()
    assert again.get(_key(1)) == {"text": "héllo\nworld"}
    again.close()


def test_refresh_misses_and_its_replies_win_at_the_next_open(tmp_path: Path) -> None:
    """With refresh every lookup misses; the fresh reply replaces the old one."""
    _fill(tmp_path, range(1))
    cache = ResponseCache(tmp_path, refresh=True).open()
    assert cache.get(_key(0)) is None
    cache.put(_key(0), {"text": "fresh"})
    cache.close()
    reopened = ResponseCache(tmp_path).open()
    assert reopened.get(_key(0)) == {"text": "fresh"}
    reopened.close()


def test_a_torn_or_corrupt_line_is_skipped(tmp_path: Path) -> None:
    """A line cut off mid-write, or whose checksum fails, is never read; the rest is."""
    _fill(tmp_path, range(3))
    (segment,) = tmp_path.glob("seg-*.log")
    data = segment.read_bytes()
    lines = data.splitlines(keepends=True)
    corrupt = lines[1].replace(b"reply 1", b"reply X")
    torn = f'{_key(9)} 00000000 {{"text": "cut'.encode()
    segment.write_bytes(lines[0] + corrupt + lines[2] + torn)
    cache = ResponseCache(tmp_path).open()
    assert cache.get(_key(0)) == {"text": "reply 0", "n": 0}
    assert cache.get(_key(1)) is None
    assert cache.get(_key(2)) == {"text": "reply 2", "n": 2}
    assert cache.get(_key(9)) is None
    assert len(cache) == 2
    cache.close()


def test_two_writers_at_once_lose_nothing(tmp_path: Path) -> None:
    """Two processes writing the same folder at once each keep every entry, intact."""
    script = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        from grasp_core.models.cache import ResponseCache
        start = int(sys.argv[2])
        cache = ResponseCache(Path(sys.argv[1])).open()
        for i in range(start, start + 2000):
            cache.put(f"{i:064x}", {"text": "x" * (i % 300), "n": i})
        cache.close()
        """
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(tmp_path), str(start)])
        for start in (0, 2000)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    cache = ResponseCache(tmp_path).open()
    assert len(cache) == 4000
    for i in range(4000):
        assert cache.get(_key(i)) == {"text": "x" * (i % 300), "n": i}
    cache.close()


def test_a_writer_killed_mid_run_leaves_a_readable_cache(tmp_path: Path) -> None:
    """SIGKILL while writing: every whole entry reads back, the torn tail does not, and
    only the writer's buffer (under 64 KiB, here 13 replies) is lost."""
    script = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        from grasp_core.models.cache import ResponseCache
        cache = ResponseCache(Path(sys.argv[1])).open()
        i = 0
        while True:
            cache.put(f"{i:064x}", {"text": "y" * 5000, "n": i})
            if i == 520:
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
    (segment,) = tmp_path.glob("seg-*.log")
    with segment.open("ab") as tail:  # as if killed inside a write
        tail.write(f'{_key(10**9)} 1234abcd {{"text": "yy'.encode())
    cache = ResponseCache(tmp_path).open()
    assert len(cache) > 500
    for i in range(len(cache)):
        assert cache.get(_key(i)) == {"text": "y" * 5000, "n": i}
    assert cache.get(_key(10**9)) is None
    cache.put(_key(10**9 + 1), {"text": "after"})  # a new writer, a new segment
    cache.close()
    assert len(list(tmp_path.glob("seg-*.log"))) == 2


def test_over_the_size_limit_the_oldest_entries_go(tmp_path: Path) -> None:
    """Opening a folder over its limit compacts it under the limit, newest entries kept."""
    for run in range(4):
        _fill(tmp_path, range(run * 100, run * 100 + 100))
    total = sum(p.stat().st_size for p in tmp_path.glob("seg-*.log"))
    limit = total // 2
    cache = ResponseCache(tmp_path, max_bytes=limit).open()
    assert len(list(tmp_path.glob("seg-*.log"))) == 1
    assert sum(p.stat().st_size for p in tmp_path.glob("seg-*.log")) <= limit
    assert cache.get(_key(399)) == {"text": "reply 399", "n": 399}
    assert cache.get(_key(0)) is None
    kept = [i for i in range(400) if cache.get(_key(i)) is not None]
    assert kept == list(range(400 - len(kept), 400))
    cache.close()


def test_compaction_leaves_a_live_writers_segment_alone(tmp_path: Path) -> None:
    """A segment another run is still writing is neither merged nor deleted."""
    _fill(tmp_path, range(100))
    _fill(tmp_path, range(100, 200))
    live = ResponseCache(tmp_path).open()
    live.put(_key(1000), {"text": "live"})
    other = ResponseCache(tmp_path, max_bytes=1).open()
    other.close()
    live.put(_key(1001), {"text": "still live"})
    live.close()
    reopened = ResponseCache(tmp_path).open()
    assert reopened.get(_key(1000)) == {"text": "live"}
    assert reopened.get(_key(1001)) == {"text": "still live"}
    reopened.close()


def test_a_folder_that_cannot_be_written_turns_the_cache_off(tmp_path: Path) -> None:
    """An unwritable folder warns and leaves a cache that holds nothing (the run goes on)."""
    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    cache = ResponseCache(blocker / "cache").open()
    cache.put(_key(1), {"text": "lost"})
    assert cache.get(_key(1)) is None
    cache.close()
