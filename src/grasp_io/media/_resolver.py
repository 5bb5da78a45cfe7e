"""Whatever a record holds → :class:`Media`: the one entry point prompts use."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path, PurePath
from typing import Any

import anyio
import anyio.to_thread

from grasp_core.errors import RecordError
from grasp_core.plugin import BuildEnv
from grasp_io.media._fetch import (
    DEFAULT_MAX_BYTES,
    DEFAULT_TIMEOUT,
    FetchLimits,
    RemoteFetcher,
    check_scheme,
)
from grasp_io.media._local import (
    describe,
    encode_audio_array,
    encode_image,
    read_path,
    sniff_bytes,
)
from grasp_io.media._media import Media
from grasp_io.media.store import is_stored

__all__ = ["MediaResolver", "media_resolver"]

_SHARED_KEY = "grasp_io.media.fetcher"
_URL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]+://|file:|data:")


class MediaResolver:
    """Turns a record value into :class:`Media`.

    Accepted values: a Pillow image; Hugging Face ``Image``/``Audio`` values (``{"bytes",
    "path"}`` dicts, decoded ``{"array", "sampling_rate"}`` audio); raw bytes (type read
    from the bytes); a path (relative to ``base_dir``); an ``http(s)`` URL (fetched through
    the run's ``fetcher``); a ``data:`` URL; a ``{path, type, size}`` record of media an
    earlier node stored (its path relative to the run's output folder). Anything wrong
    fails the record with a ``RecordError`` saying what and why.
    """

    def __init__(
        self, base_dir: Path, fetcher: RemoteFetcher, stored_root: Path | None = None
    ) -> None:
        self.base_dir = base_dir
        self.fetcher = fetcher
        self.stored_root = stored_root
        """Where the paths of media this run stored start (the sink's folder)."""

    def is_media(self, value: Any) -> bool:
        """True for values that can only mean media (bytes, images, media dicts), so a text
        placeholder holding one becomes a media part; strings are text unless a part says."""
        if isinstance(value, bytes | bytearray | memoryview):
            return True
        if is_stored(value):
            return True
        if isinstance(value, Mapping):
            return ("array" in value and "sampling_rate" in value) or (
                "bytes" in value and set(value) <= {"bytes", "path"}
            )
        return type(value).__module__.startswith("PIL.")

    async def resolve(
        self,
        value: Any,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        fetch_timeout: float = DEFAULT_TIMEOUT,
    ) -> Media:
        """``value`` encoded (remote URLs fetched, files read, arrays encoded); no media
        may exceed ``max_bytes``, and a download may take at most ``fetch_timeout`` seconds."""
        return await self._resolve(value, FetchLimits(max_bytes, fetch_timeout))

    async def _resolve(self, value: Any, limits: FetchLimits) -> Media:
        if isinstance(value, str):
            return await self._from_text(value, limits)
        if isinstance(value, PurePath):
            return await self._in_thread(read_path, str(value), self.base_dir, limits=limits)
        if isinstance(value, bytes | bytearray | memoryview):
            data = bytes(value)
            return await self._in_thread(sniff_bytes, data, what="a bytes value", limits=limits)
        if isinstance(value, Mapping):
            return await self._from_mapping(value, limits)
        if type(value).__module__.startswith("PIL."):
            return await self._in_thread(encode_image, value, limits=limits)
        raise RecordError(
            f"cannot send a {describe(value)} as media; give a Pillow image, bytes, a path, "
            "an http(s) or data: URL, or a {bytes, path} / {array, sampling_rate} dict"
        )

    async def _from_text(self, text: str, limits: FetchLimits) -> Media:
        text = text.strip()
        if not _URL.match(text):
            if not text:
                raise RecordError("the media value is an empty string; give a path or URL")
            return await self._in_thread(read_path, text, self.base_dir, limits=limits)
        if text[:5].lower() == "data:":
            media = Media.from_data_url(text)
            if len(media.data) > limits.max_bytes:
                raise RecordError(
                    f"data URL media is {len(media.data)} bytes, over the media limit of "
                    f"{limits.max_bytes} bytes; raise the node's media.max_bytes"
                )
            return media
        check_scheme(text)
        return await self.fetcher.fetch(text, limits)

    async def _from_mapping(self, value: Mapping[str, Any], limits: FetchLimits) -> Media:
        if is_stored(value) and self.stored_root is not None:
            root = self.stored_root
            return await self._in_thread(read_path, value["path"], root, limits=limits)
        if value.get("array") is not None:
            return await self._in_thread(encode_audio_array, value, limits=limits)
        data = value.get("bytes")
        if data is not None:
            if not isinstance(data, bytes | bytearray | memoryview):
                raise RecordError(f"the `bytes` of a media dict is a {type(data).__name__}")
            return await self._resolve(bytes(data), limits)
        for key in ("path", "url"):
            if isinstance(value.get(key), str) and value[key]:
                return await self._from_text(value[key], limits)
        raise RecordError(
            f"cannot send a {describe(value)} as media: it has no `bytes`, `path`, `url` or "
            "`array`; check the dataset's media column"
        )

    async def _in_thread(self, fn: Any, *args: Any, limits: FetchLimits, **kwargs: Any) -> Media:
        def call() -> Media:
            result: Media = fn(*args, max_bytes=limits.max_bytes, **kwargs)
            return result

        return await anyio.to_thread.run_sync(call)


def media_resolver(env: BuildEnv) -> MediaResolver:
    """The resolver for nodes built in ``env``; its fetcher (cache, connections) is shared
    by the whole run and closed when the run ends."""
    fetcher = env.shared.get(_SHARED_KEY)
    if not isinstance(fetcher, RemoteFetcher):
        fetcher = env.shared[_SHARED_KEY] = RemoteFetcher()
    stored_root = env.media_dir.parent if env.media_dir is not None else None
    return MediaResolver(env.task_dir, fetcher, stored_root)
