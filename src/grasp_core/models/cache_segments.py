"""The response cache's segment files: their names, the line format, scanning a segment's
lines, the writers' locks, and compaction (see :mod:`.cache` for how they fit together).

Each entry is one line: ``<key: 64 hex> <crc32 of payload: 8 hex> <payload: JSON>\\n``. A
line without its newline or whose checksum fails is not an entry. Each writer holds an
exclusive ``flock`` on its own segment while it runs, so a lock that can be taken means no
one will write to that segment again.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import zlib
from pathlib import Path

from grasp_core.models.cache_index import index_path, write_index

__all__ = [
    "HEAD",
    "KEY_CHARS",
    "compact",
    "file_size",
    "list_segments",
    "new_segment_name",
    "read_all",
    "scan_lines",
    "try_lock",
    "write_all",
]

KEY_CHARS = 64
HEAD = KEY_CHARS + 1 + 8 + 1
"""Key, space, checksum, space: where the payload starts in a line."""


def list_segments(directory: Path) -> list[Path]:
    """The segment files, oldest first (their names start with their creation time)."""
    return sorted(directory.glob("seg-*.log"))


def new_segment_name(stamp: int) -> str:
    """A segment's file name: ``stamp`` (nanoseconds, so names sort by age), then this
    process and a random token, so no two writers ever pick the same."""
    return f"seg-{stamp:020d}-{os.getpid()}-{secrets.token_hex(4)}.log"


def file_size(path: Path) -> int:
    """``path``'s size, 0 once it is gone."""
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def try_lock(fd: int) -> bool:
    """Take ``fd``'s segment's lock if no writer (nor compaction) holds it."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def read_all(fd: int) -> bytes:
    """The rest of ``fd``'s file, from its position."""
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def write_all(fd: int, data: bytes | bytearray) -> None:
    """Write all of ``data`` (``os.write`` may write less than it is given)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def scan_lines(data: bytes) -> list[tuple[str, int, int]]:
    """``(key, payload offset, payload length)`` of each whole, intact line of a segment.

    Opening a cache scans every line of it, so this loop is kept lean: checksums over a
    memoryview (no copy of each payload), the methods looked up once."""
    found: list[tuple[str, int, int]] = []
    append, find, crc32 = found.append, data.find, zlib.crc32
    view = memoryview(data)
    start = 0
    end = find(b"\n")
    while end != -1:
        if end - start > HEAD and data[start + KEY_CHARS] == 0x20:
            try:
                crc = int(data[start + KEY_CHARS + 1 : start + HEAD - 1], 16)
            except ValueError:
                crc = -1
            if crc32(view[start + HEAD : end]) == crc:
                key = data[start : start + KEY_CHARS].decode("ascii", "replace")
                append((key, start + HEAD, end - start - HEAD))
        start = end + 1
        end = find(b"\n", start)
    return found


def compact(directory: Path, segments: list[Path], budget: int) -> None:
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
                if not try_lock(fd):
                    os.close(fd)  # a live writer's segment: left as it is
                    continue
                held.append((path, fd))
            if len(held) < 2 and sum(file_size(p) for p, _ in held) <= budget:
                return
            _merge(directory, held, budget)
            _sweep(directory)
        finally:
            for _, fd in held:
                os.close(fd)
    finally:
        os.close(lock_fd)


def _merge(directory: Path, held: list[tuple[Path, int]], budget: int) -> None:
    kept: dict[bytes, bytes] = {}
    for _path, fd in reversed(held):  # newest segment first
        data = read_all(fd)
        for key, offset, length in reversed(scan_lines(data)):
            raw_key = key.encode("ascii")
            if raw_key not in kept:
                kept[raw_key] = data[offset - HEAD : offset + length + 1]
    lines: list[bytes] = []
    used = 0
    for line in kept.values():
        if used + len(line) > budget:
            break
        lines.append(line)
        used += len(line)
    name = new_segment_name(int(held[-1][0].name.split("-")[1]))
    aside = directory / f"tmp-{name}"
    lines.reverse()  # oldest first again
    with aside.open("wb") as out:
        out.writelines(lines)
        out.flush()
        os.fsync(out.fileno())
    write_index(directory / name, _line_places(lines), used)
    os.replace(aside, directory / name)
    for path, _ in held:
        path.unlink(missing_ok=True)
        index_path(path).unlink(missing_ok=True)


def _sweep(directory: Path) -> None:
    """Delete what crashes left, under the compaction lock: a compaction's unfinished
    segment (only a compaction writes ``tmp-seg-*.log``), and indexes, whole or being
    written, whose segment is gone (a writer still writing one holds its segment, which
    therefore still exists)."""
    for path in directory.glob("tmp-seg-*"):
        segment = directory / (path.name.removeprefix("tmp-").split(".", 1)[0] + ".log")
        if path.suffix == ".log" or not segment.exists():
            path.unlink(missing_ok=True)
    for index in directory.glob("seg-*.idx"):
        if not index.with_suffix(".log").exists():
            index.unlink(missing_ok=True)


def _line_places(lines: list[bytes]) -> list[tuple[str, int, int]]:
    """``(key, payload offset, payload length)`` of whole lines written one after another."""
    places = []
    at = 0
    for line in lines:
        places.append((line[:KEY_CHARS].decode("ascii"), at + HEAD, len(line) - HEAD - 1))
        at += len(line)
    return places
