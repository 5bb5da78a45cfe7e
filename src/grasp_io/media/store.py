"""Media a node made (images, speech), stored as content-addressed files beside the output.

A file is named by the SHA-256 of its bytes, under ``NAME.media/<node>/`` beside the run's
first sink, with the extension of the type sniffed from the bytes; the record holds a
:func:`stored record <MediaStore.save>`: the path relative to the sink's folder, the MIME
type, the size and, for audio, the duration. Bytes are written to a temporary file,
fsynced and renamed into place before :meth:`MediaStore.save` returns, so the node's result
(journaled after) never names a file that is not whole on disk. The same bytes are stored
once: a file already there under its digest is kept as it is, so a resumed run rewrites
nothing; a crash between the rename and the journal leaves a file the next run reuses.
Temporary files a crash left are removed the first time a run stores into their folder.

Reached by node types through the ``grasp.media`` entry point ``store``
(:func:`media_store`), so ``grasp_nodes`` does not import ``grasp_io``.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import threading
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import anyio.to_thread

from grasp_core.errors import ConfigError, RecordError
from grasp_core.plugin import BuildEnv
from grasp_io.media._sniff import sniff

__all__ = ["STORED_KEYS", "MediaStore", "is_stored", "media_store"]

STORED_KEYS: Final = frozenset({"path", "type", "size", "duration"})
"""The keys of a stored media record (``duration`` for audio only)."""
_EXTENSIONS: Final = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/webp": "webp",
    "image/gif": "gif",
    "audio/wav": "wav",
    "audio/mpeg": "mp3",
    "audio/flac": "flac",
    "audio/ogg": "ogg",
}
_UNSAFE: Final = re.compile(r"[^\w.-]")
_TEMP_SUFFIX: Final = ".tmp"


def is_stored(value: Any) -> bool:
    """Whether ``value`` is a record :meth:`MediaStore.save` returned."""
    return (
        isinstance(value, Mapping)
        and {"path", "type", "size"} <= set(value) <= STORED_KEYS
        and isinstance(value["path"], str)
    )


class MediaStore:
    """Content-addressed media files under one run's media folder."""

    def __init__(self, media_dir: Path | None) -> None:
        self.media_dir = media_dir
        self._swept: set[Path] = set()
        self._lock = threading.Lock()

    @property
    def root(self) -> Path | None:
        """The folder stored paths are relative to (the sink's folder)."""
        return self.media_dir.parent if self.media_dir is not None else None

    async def save(self, node: str, data: bytes, *, what: str) -> dict[str, Any]:
        """Store ``data`` made by ``node``; return ``{path, type, size[, duration]}``.

        Bytes that are not an image or audio Pillow/soundfile can read, and a write that
        fails (full disk, permissions), fail the record with ``RecordError``; ``what`` says
        where the bytes came from."""
        return await anyio.to_thread.run_sync(self._save, node, bytes(data), what)

    def _save(self, node: str, data: bytes, what: str) -> dict[str, Any]:
        if self.media_dir is None:
            raise RecordError(
                f"{what}: this run has no output folder to store media in; run the task "
                "with a sink (grasp run), not as a bare graph"
            )
        media = sniff(data, what=what)
        digest = hashlib.sha256(data).hexdigest()
        folder = self.media_dir / (_UNSAFE.sub("_", node) or "_")
        extension = _EXTENSIONS.get(media.mime, media.mime.split("/", 1)[1])
        target = folder / f"{digest}.{extension}"
        try:
            self._sweep(folder)
            if not _whole(target, len(data)):
                _write_atomically(target, data)
        except OSError as exc:
            raise RecordError(
                f"{what}: cannot store it as {str(target)!r} ({exc.strerror or exc}); "
                "check the output folder's free space and permissions"
            ) from None
        record: dict[str, Any] = {
            "path": target.relative_to(self.media_dir.parent).as_posix(),
            "type": media.mime,
            "size": len(data),
        }
        if media.kind == "audio":
            record["duration"] = _duration(data)
        return record

    def _sweep(self, folder: Path) -> None:
        """Remove the temporary files an interrupted run left in ``folder`` (once a run)."""
        with self._lock:  # other saves into the folder wait until it exists and is swept
            if folder in self._swept:
                return
            folder.mkdir(parents=True, exist_ok=True)
            for leftover in folder.glob(f".*{_TEMP_SUFFIX}"):
                with contextlib.suppress(FileNotFoundError):
                    leftover.unlink()
            self._swept.add(folder)


def _whole(target: Path, size: int) -> bool:
    """A file already stored under this digest (renamed into place, so complete)."""
    try:
        return target.stat().st_size == size
    except FileNotFoundError:
        return False


def _write_atomically(target: Path, data: bytes) -> None:
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}{_TEMP_SUFFIX}")
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    descriptor = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(descriptor)  # the rename itself survives a crash
    finally:
        os.close(descriptor)


def _duration(data: bytes) -> float:
    import soundfile

    info = soundfile.info(io.BytesIO(data))
    return round(float(info.frames) / info.samplerate, 3) if info.samplerate else 0.0


def media_store(env: BuildEnv) -> MediaStore:
    """The store of the run ``env`` builds nodes for (the ``grasp.media`` entry point
    ``store``); one per run, shared by its nodes."""
    shared = env.shared.get("grasp_io.media.store")
    if isinstance(shared, MediaStore):
        return shared
    if env.media_dir is not None and env.media_dir.exists() and not env.media_dir.is_dir():
        raise ConfigError(f"the media folder {str(env.media_dir)!r} is a file; move it away")
    store = env.shared["grasp_io.media.store"] = MediaStore(env.media_dir)
    return store
