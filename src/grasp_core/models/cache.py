"""The persistent response cache: model replies kept across runs, found by request key.

The store is a folder of append-only segment files, one per writer (a run, or a Ray shard):
``seg-<ns>-<pid>-<token>.log``, created exclusively, so two writers never touch the same
file and their bytes never interleave. Each entry is one line::

    <key: 64 hex> <crc32 of payload: 8 hex> <payload: JSON of the reply>\\n

A writer keeps its own entries in memory (key → offset, length), and its new lines in a buffer
of up to 64 KiB, written to its segment in one ``write`` when full, when its oldest line is a
second old at the next store, and at close: a reply stored costs no system call, and a lookup
in the same run finds a line still in the buffer there. When it closes its segment it writes
the segment's index file beside it (:mod:`.cache_index`): the keys' places, sorted,
read in place through a memory map. Opening the cache maps the index of every segment that
has one, so it costs the same whatever the cache holds; only a segment without a usable index
(its writer is still running, or was killed; or the index is stale or torn) is read through
and scanned into memory, and when no live writer holds it (its lock is free) the opening run
writes its index then, so the next open maps it. A lookup asks the segments newest first.
Every hit reads its whole line back and checks the key and checksum there, so an index can
only make a lookup miss, never answer with another request's reply. An indexed segment is
finished (no writer adds to it, and nothing in GraSP ever shortens one: compaction writes a
new file and deletes the old), so its lines are read from a read-only map of it; others with
one ``pread``. A hit through the map makes no system call, and so does not let the writer's
thread take the interpreter's lock in the middle of a rerun's records, which a ``pread``
does at every hit (the threads then trade the lock back and forth: a 20,000-record rerun
switched threads a third as often, and spent about 5% less CPU, once hits were mapped).

A line without its newline (a writer killed mid-write, or one still writing) or whose
checksum fails is skipped, so a crash leaves the cache readable and a reader never sees a
torn entry; a writer killed loses the replies still in its buffer (at most 64 KiB, all stored
within a second of its latest), which a later run asks for again. Entries written by other
runs become visible at the next open (and a live writer's only once written from its buffer).
Payloads hold replies only (text, tool calls, token counts), never a request's headers or API
key.

Size: when the segments together exceed ``max_bytes`` (or there are too many of them), the
opening run compacts the segments no live writer holds (each writer keeps an exclusive
``flock`` on its own) into one new segment, newest entries first until three quarters of the
limit, written aside (with its index) and renamed into place; then it deletes the merged
ones and their indexes.

Why not sqlite (``diskcache``) or lmdb: the project keeps sqlite out of its storage, lmdb
needs a fixed map size and one lock file shared by every process (fragile on the network
filesystems Ray shards share), and a lookup here is a few reads from two memory maps, which
is all a rerun needs (see ``benchmarks/bench_cache.py``).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import mmap
import os
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio.to_thread

from grasp_core._json_text import compact_encoder
from grasp_core.logs import get_logger
from grasp_core.models.cache_index import SegmentIndex, key_prefix, write_index
from grasp_core.models.cache_segments import (
    HEAD,
    KEY_CHARS,
    compact,
    file_size,
    list_segments,
    new_segment_name,
    read_all,
    scan_lines,
    try_lock,
    write_all,
)

__all__ = ["DEFAULT_MAX_BYTES", "ResponseCache", "default_cache_dir"]

DEFAULT_MAX_BYTES = 2 * 1024**3
"""2 GiB: a few million replies."""
_MAX_SEGMENTS = 64
"""More segments than this (many small runs) are merged at the next open."""

_FLUSH_BYTES = 1 << 16
"""A writer's buffer is written to its segment once it holds this much."""
_FLUSH_SECONDS = 1.0
"""... or when its oldest line has waited this long (checked at each store)."""
_clock = time.monotonic
"""The buffer's clock (a test sets its own)."""

_ENCODE = compact_encoder(ensure_ascii=False)
_DECODER = json.JSONDecoder()
"""Both built once (``json.dumps`` with options builds an encoder per call), and the decoder
given text (``json.loads`` of bytes first sniffs their encoding)."""
_SCAN: Callable[[str, int], tuple[Any, int]] = _DECODER.scan_once  # type: ignore[attr-defined]


def _decode(text: str) -> Any:
    """``json.loads(text)``: a payload this module wrote (one compact object) is read by the
    decoder's scanner directly, without ``decode``'s whitespace matching around it; anything
    else goes through ``decode``, which accepts or refuses it as ``json.loads`` does."""
    try:
        value, end = _SCAN(text, 0)
        if end == len(text):
            return value
    except StopIteration:
        pass
    return _DECODER.decode(text)


def _payload(line: bytes, key: str) -> dict[str, Any] | None:
    """The reply a whole line holds, when the line is ``key``'s and its checksum holds."""
    payload = line[HEAD:]
    try:
        if line[:KEY_CHARS] != key.encode() or zlib.crc32(payload) != int(
            line[KEY_CHARS + 1 : HEAD - 1], 16
        ):
            return None
        value: dict[str, Any] = _decode(str(payload, "utf-8"))
    except ValueError:
        return None
    return value


_log = get_logger(__name__)


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/grasp/responses``, else ``~/.cache/grasp/responses``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "grasp" / "responses"


_Place = tuple[int, int, int]
"""Where a reply sits: the segment's number in ``_fds``, the payload's offset and length."""
_Layer = dict[str, _Place] | tuple[int, SegmentIndex]
"""The entries of scanned segments (in memory), or one segment's index file."""


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
        self._layers: list[_Layer] = []
        """Newest first; runs of scanned segments share one dict (later lines win)."""
        self._own_entries: dict[str, int] = {}
        """This writer's entries: key → payload offset << 32 | payload length (plain ints,
        which the garbage collector never tracks, where a tuple per reply would be)."""
        self._pending = bytearray()
        """Lines stored but not yet written: the segment's bytes from ``_written`` on."""
        self._pending_since = 0.0
        self._written = 0
        self._fds: list[int] = []
        self._mapped: dict[int, mmap.mmap] = {}
        """Indexed segments (finished: no writer adds to them) mapped read-only, by number."""
        self._own: int | None = None
        self._own_path: Path | None = None
        self._own_number = 0
        self._own_size = 0
        self._broken = False
        self._opened = False

    def open(self) -> ResponseCache:
        """Create the folder if needed, compact it when over its limits, map or scan each
        segment."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            segments = list_segments(self.directory)
            total = sum(file_size(p) for p in segments)
            if total > self.max_bytes or len(segments) > _MAX_SEGMENTS:
                compact(self.directory, segments, int(self.max_bytes * 0.75))
                segments = list_segments(self.directory)
            layers: list[_Layer] = []
            for path in segments:
                layer = self._load(path)
                if isinstance(layer, dict) and layers and isinstance(layers[-1], dict):
                    layers[-1].update(layer)
                elif layer is not None:
                    layers.append(layer)
            self._layers = layers[::-1]
        except OSError as exc:
            self._disable(exc)
        self._opened = True
        return self

    def __len__(self) -> int:
        """How many different keys the cache holds (by their last 64 bits; reads every
        index, so for tests and tools, not for a run)."""
        seen = {key_prefix(key) for key in self._own_entries}
        for layer in self._layers:
            if isinstance(layer, dict):
                seen.update(key_prefix(key) for key in layer)
            else:
                seen.update(layer[1].prefixes)
        return len(seen)

    def get(self, key: str) -> dict[str, Any] | None:
        """The reply filed under ``key``, or None (always None with ``refresh``)."""
        if self.refresh:
            return None
        own = self._own_entries.get(key)
        if own is not None:
            return self._read_own(own, key)
        prefix = -1
        for layer in self._layers:
            if isinstance(layer, dict):
                where = layer.get(key)
                if where is not None and (value := self._read(where, key)) is not None:
                    return value
                continue
            if prefix < 0:
                prefix = key_prefix(key)
            number, index = layer
            for offset, length in index.find(prefix):
                if (value := self._read((number, offset, length), key)) is not None:
                    return value
        return None

    def put(self, key: str, value: dict[str, Any]) -> None:
        """File ``value`` (JSON-safe) under ``key``: one line appended to this writer's
        segment (through its buffer). A write that fails (a full disk) turns writing off for
        the run, with one warning."""
        self.put_json(key, _ENCODE(value))

    def put_json(self, key: str, text: str) -> None:
        """:meth:`put` of a value already encoded: ``text`` is its compact JSON."""
        if self._broken:
            return
        if self._own is None:
            try:
                self._create()
            except OSError as exc:
                self._disable(exc)
                return
        try:
            payload = text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate (from a "\\ud800" escape) in a string:
            payload = text.encode("utf-8", "backslashreplace")  # the same JSON escape again
        line = b"%s %08x %s\n" % (key.encode("ascii"), zlib.crc32(payload), payload)
        self._own_entries[key] = (self._own_size + HEAD) << 32 | len(payload)
        self._own_size += len(line)
        pending = self._pending
        now = _clock()
        if not pending:
            self._pending_since = now
        pending += line
        if len(pending) >= _FLUSH_BYTES or now - self._pending_since >= _FLUSH_SECONDS:
            self._flush()

    def _flush(self) -> None:
        """Write the buffer to this writer's segment. When that fails, writing stops for the
        run; the buffer stays, so this run still finds the replies in it."""
        if not self._pending or self._broken or self._own is None:
            return
        try:
            write_all(self._own, self._pending)
        except OSError as exc:
            self._disable(exc)
            return
        self._written += len(self._pending)
        self._pending.clear()

    def close(self) -> None:
        """Write what is buffered, then this writer's segment index, then release the files
        (and the lock on the segment, held until its index is in place)."""
        self._flush()
        own, path = self._own, self._own_path
        # after a failed write (a torn line, perhaps) the next open scans the segment instead
        if own is not None and path is not None and self._own_entries and not self._broken:
            rows = (
                (key, packed >> 32, packed & 0xFFFFFFFF)
                for key, packed in self._own_entries.items()
            )
            try:
                write_index(path, rows, os.fstat(own).st_size)
            except OSError as exc:  # the next open scans the segment instead
                _log.debug("a cache segment's index was not written", error=str(exc))
        for layer in self._layers:
            if not isinstance(layer, dict):
                layer[1].close()
        self._layers.clear()
        for mapped in self._mapped.values():
            mapped.close()
        self._mapped.clear()
        for fd in self._fds:
            os.close(fd)
        self._fds.clear()
        self._own_entries.clear()
        self._pending.clear()
        self._own = None

    async def aclose(self) -> None:
        """:meth:`close`, for the run's shared objects: in a worker thread when this run
        wrote a segment (its index is written, its file flushed); a run that only read
        (every call a hit) unmaps and closes read-only files, which does not block."""
        if self._own is not None:
            await anyio.to_thread.run_sync(self.close)
        else:
            self.close()

    def _read(self, where: _Place, key: str) -> dict[str, Any] | None:
        """The payload at ``where`` when the line there is ``key``'s and intact."""
        number, offset, length = where
        mapped = self._mapped.get(number)
        if mapped is not None:
            return _payload(mapped[offset - HEAD : offset + length], key)
        try:
            line = os.pread(self._fds[number], HEAD + length, offset - HEAD)
        except OSError:
            return None
        return _payload(line, key)

    def _read_own(self, packed: int, key: str) -> dict[str, Any] | None:
        """The payload of one of this writer's lines: from the buffer while it is there."""
        offset, length = packed >> 32, packed & 0xFFFFFFFF
        start = offset - HEAD - self._written
        if start < 0:
            return self._read((self._own_number, offset, length), key)
        return _payload(bytes(self._pending[start : start + HEAD + length]), key)

    def _create(self) -> int:
        """This writer's segment, created exclusively and locked while the run lasts."""
        path = self.directory / new_segment_name(time.time_ns())
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_APPEND)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._fds.append(fd)
        self._own = fd
        self._own_path = path
        self._own_number = len(self._fds) - 1
        return fd

    def _load(self, path: Path) -> _Layer | None:
        """``path``'s index when it has a usable one; else its entries, scanned (and its
        index written when no writer holds the segment)."""
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return None  # merged away by another run's compaction since the listing
        self._fds.append(fd)
        number = len(self._fds) - 1
        size = os.fstat(fd).st_size
        index = SegmentIndex.load(path, size)
        if index is not None:
            with contextlib.suppress(OSError, ValueError):  # if not mapped: read with pread
                self._mapped[number] = mmap.mmap(fd, size, access=mmap.ACCESS_READ)
            return number, index
        if size == 0 or not try_lock(fd):  # empty (being created) or a live writer's
            return {key: (number, at, length) for key, at, length in scan_lines(read_all(fd))}
        try:  # no writer will add to it: scan it once more, never again
            entries = scan_lines(read_all(fd))
            try:
                write_index(path, entries, os.fstat(fd).st_size)
            except OSError as exc:
                _log.debug("a cache segment's index was not written", error=str(exc))
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
        return {key: (number, at, length) for key, at, length in entries}

    def _disable(self, exc: OSError) -> None:
        if not self._broken:
            self._broken = True
            _log.warning(
                f"the response cache at {str(self.directory)!r} cannot be written "
                f"({exc.strerror or exc}); this run goes on without storing replies. Free "
                "space or pass --cache-dir DIR (or --no-cache)",
                directory=str(self.directory),
            )
