"""The persistent response cache: model replies kept across runs, found by request key.

The store is a folder of append-only segment files, one per writer (a run, or a Ray shard):
``seg-<ns>-<pid>-<token>.log``, created exclusively, so two writers never touch the same
file and their bytes never interleave. Each entry is one line::

    <key: 64 hex> <crc32 of payload: 8 hex> <payload: JSON of the reply>\\n

Opening the cache reads every segment into an in-memory index (key → segment, offset,
length); a hit reads its payload back with one ``pread``. A line without its newline (a
writer killed mid-write, or one still writing) or whose checksum fails is skipped, so a crash
leaves the cache readable and a reader never sees a torn entry. Entries written by other
runs become visible at the next open. Payloads hold replies only (text, tool calls, token
counts), never a request's headers or API key.

Size: when the segments together exceed ``max_bytes`` (or there are too many of them), the
opening run compacts the segments no live writer holds (each writer keeps an exclusive
``flock`` on its own) into one new segment, newest entries first until three quarters of the
limit, written aside and renamed into place; then it deletes the merged ones.

Why not sqlite (``diskcache``) or lmdb: the project keeps sqlite out of its storage, lmdb
needs a fixed map size and one lock file shared by every process (fragile on the network
filesystems Ray shards share), and a lookup here is a dict access plus one ``pread``, which
is all a rerun needs (see ``benchmarks/bench_cache.py``).
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import time
import zlib
from pathlib import Path
from typing import Any

from grasp_core.logs import get_logger

__all__ = ["DEFAULT_MAX_BYTES", "ResponseCache", "default_cache_dir"]

DEFAULT_MAX_BYTES = 2 * 1024**3
"""2 GiB: a few million replies."""
_MAX_SEGMENTS = 64
"""More segments than this (many small runs) are merged at the next open."""
_KEY_CHARS = 64
_HEAD = _KEY_CHARS + 1 + 8 + 1
"""Key, space, checksum, space: where the payload starts in a line."""

_log = get_logger(__name__)


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/grasp/responses``, else ``~/.cache/grasp/responses``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "grasp" / "responses"


class ResponseCache:
    """One run's view of a cache folder: every entry written before it opened, plus its own.

    ``refresh``: lookups miss, and the replies fetched again are written (they win over
    the old ones at the next open).
    """

    def __init__(
        self, directory: Path, *, max_bytes: int = DEFAULT_MAX_BYTES, refresh: bool = False
    ) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.refresh = refresh
        self._index: dict[str, tuple[int, int, int]] = {}
        self._fds: list[int] = []
        self._own: int | None = None
        self._own_number = 0
        self._own_size = 0
        self._broken = False
        self._opened = False

    def open(self) -> ResponseCache:
        """Create the folder if needed, compact it when over its limits, load the index."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            segments = _segments(self.directory)
            total = sum(_size(p) for p in segments)
            if total > self.max_bytes or len(segments) > _MAX_SEGMENTS:
                _compact(self.directory, segments, int(self.max_bytes * 0.75))
                segments = _segments(self.directory)
            for path in segments:
                self._load(path)
        except OSError as exc:
            self._disable(exc)
        self._opened = True
        return self

    def __len__(self) -> int:
        return len(self._index)

    def get(self, key: str) -> dict[str, Any] | None:
        """The reply filed under ``key``, or None (always None with ``refresh``)."""
        if self.refresh:
            return None
        where = self._index.get(key)
        if where is None:
            return None
        fd_index, offset, length = where
        try:
            payload = os.pread(self._fds[fd_index], length, offset)
            value: dict[str, Any] = json.loads(payload)
        except (OSError, ValueError):
            return None
        return value

    def put(self, key: str, value: dict[str, Any]) -> None:
        """File ``value`` (JSON-safe) under ``key``: one append to this writer's segment.
        A write that fails (a full disk) turns writing off for the run, with one warning."""
        if self._broken:
            return
        payload = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        line = b"%s %08x %s\n" % (key.encode("ascii"), zlib.crc32(payload), payload)
        try:
            fd = self._own if self._own is not None else self._create()
            _write_all(fd, line)
        except OSError as exc:
            self._disable(exc)
            return
        self._index[key] = (self._own_number, self._own_size + _HEAD, len(payload))
        self._own_size += len(line)

    def close(self) -> None:
        """Release the files (and this writer's lock on its segment)."""
        for fd in self._fds:
            os.close(fd)
        self._fds.clear()
        self._index.clear()
        self._own = None

    async def aclose(self) -> None:
        """:meth:`close`, for the run's shared objects."""
        self.close()

    def _create(self) -> int:
        """This writer's segment, created exclusively and locked while the run lasts."""
        name = f"seg-{time.time_ns():020d}-{os.getpid()}-{secrets.token_hex(4)}.log"
        fd = os.open(self.directory / name, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_APPEND)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._fds.append(fd)
        self._own = fd
        self._own_number = len(self._fds) - 1
        return fd

    def _load(self, path: Path) -> None:
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return  # merged away by another run's compaction since the listing
        data = _read_all(fd)
        self._fds.append(fd)
        number = len(self._fds) - 1
        for key, offset, length in _entries(data):
            self._index[key] = (number, offset, length)

    def _disable(self, exc: OSError) -> None:
        if not self._broken:
            self._broken = True
            _log.warning(
                f"the response cache at {str(self.directory)!r} cannot be written "
                f"({exc.strerror or exc}); this run goes on without storing replies. Free "
                "space or pass --cache-dir DIR (or --no-cache)",
                directory=str(self.directory),
            )


def _segments(directory: Path) -> list[Path]:
    """The segment files, oldest first (their names start with their creation time)."""
    return sorted(directory.glob("seg-*.log"))


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _entries(data: bytes) -> list[tuple[str, int, int]]:
    """``(key, payload offset, payload length)`` of each whole, intact line of a segment."""
    found: list[tuple[str, int, int]] = []
    start = 0
    end = data.find(b"\n")
    while end != -1:
        if end - start > _HEAD and data[start + _KEY_CHARS] == 0x20:
            try:
                crc = int(data[start + _KEY_CHARS + 1 : start + _HEAD - 1], 16)
            except ValueError:
                crc = -1
            if zlib.crc32(data[start + _HEAD : end]) == crc:
                key = data[start : start + _KEY_CHARS].decode("ascii", "replace")
                found.append((key, start + _HEAD, end - start - _HEAD))
        start = end + 1
        end = data.find(b"\n", start)
    return found


def _compact(directory: Path, segments: list[Path], budget: int) -> None:
    """Merge the segments no writer holds into one, keeping the newest entries within
    ``budget`` bytes; skipped when another run is compacting."""
    lock_fd = os.open(directory / "compact.lock", os.O_RDWR | os.O_CREAT)
    try:
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return
        held: list[tuple[Path, int]] = []
        try:
            for path in segments:
                fd = os.open(path, os.O_RDONLY)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(fd)  # a live writer's segment: left as it is
                    continue
                held.append((path, fd))
            if len(held) < 2 and sum(_size(p) for p, _ in held) <= budget:
                return
            _merge(directory, held, budget)
        finally:
            for _, fd in held:
                os.close(fd)
    finally:
        os.close(lock_fd)


def _merge(directory: Path, held: list[tuple[Path, int]], budget: int) -> None:
    kept: dict[bytes, bytes] = {}
    for _path, fd in reversed(held):  # newest segment first
        data = _read_all(fd)
        for key, offset, length in reversed(_entries(data)):
            raw_key = key.encode("ascii")
            if raw_key not in kept:
                kept[raw_key] = data[offset - _HEAD : offset + length + 1]
    lines: list[bytes] = []
    used = 0
    for line in kept.values():
        if used + len(line) > budget:
            break
        lines.append(line)
        used += len(line)
    newest = held[-1][0].name.split("-")[1]
    name = f"seg-{newest}-{os.getpid()}-{secrets.token_hex(4)}.log"
    aside = directory / f"tmp-{name}"
    with aside.open("wb") as out:
        out.writelines(reversed(lines))  # oldest first again
        out.flush()
        os.fsync(out.fileno())
    os.replace(aside, directory / name)
    for path, _ in held:
        path.unlink(missing_ok=True)
