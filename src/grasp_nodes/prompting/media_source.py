"""The run's media source, made when a value is first looked at as media.

A prompt of text never needs one, and making it imports ``grasp_io.media`` (the
``grasp.media`` entry point: about 8 ms of a first run). The source it makes is the run's
own (its fetcher is shared through the build environment and closed when the run ends).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from grasp_core import plugin
from grasp_core.plugin import BuildEnv

if TYPE_CHECKING:
    from grasp_nodes.prompting.parts import EncodedMedia, MediaSource

__all__ = ["SourceOnFirstUse"]


class SourceOnFirstUse:
    """A :class:`~grasp_nodes.prompting.parts.MediaSource` that makes the run's source (the
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
