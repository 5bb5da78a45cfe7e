"""What a node sees of media (:class:`MediaSource`, :class:`EncodedMedia`), and the run's
media source, made when a value is first looked at as media.

A prompt of text never needs one, and making it imports ``grasp_io.media`` (the
``grasp.media`` entry point: about 8 ms of a first run). The source it makes is the run's
own (its fetcher is shared through the build environment and closed when the run ends).
"""

from __future__ import annotations

from typing import Any, Protocol

from grasp_core import plugin
from grasp_core.plugin import BuildEnv

__all__ = ["EncodedMedia", "MediaSource", "SourceOnFirstUse"]


class EncodedMedia(Protocol):
    """One encoded media value (``grasp_io.media.Media``)."""

    @property
    def mime(self) -> str: ...

    @property
    def data(self) -> bytes: ...

    def data_url(self) -> str: ...

    def base64(self) -> str: ...

    def as_wav(self) -> EncodedMedia: ...


class MediaSource(Protocol):
    """Turns record values into media (``grasp_io.media.MediaResolver``)."""

    def is_media(self, value: Any) -> bool: ...

    async def resolve(self, value: Any, *, max_bytes: int, fetch_timeout: float) -> EncodedMedia:
        """Encode ``value``; raise ``RecordError`` when it cannot be."""
        ...


class SourceOnFirstUse:
    """A :class:`MediaSource` that makes the run's source (the
    ``default`` media plugin) at its first call, and hands every call to it."""

    __slots__ = ("_env", "_made")

    def __init__(self, env: BuildEnv) -> None:
        self._env = env
        self._made: MediaSource | None = None

    def _source(self) -> MediaSource:
        if self._made is None:
            self._made = plugin.media.get("default")(self._env)
        return self._made

    def is_media(self, value: Any) -> bool:
        return self._source().is_media(value)

    async def resolve(self, value: Any, *, max_bytes: int, fetch_timeout: float) -> EncodedMedia:
        source = self._source()
        return await source.resolve(value, max_bytes=max_bytes, fetch_timeout=fetch_timeout)
