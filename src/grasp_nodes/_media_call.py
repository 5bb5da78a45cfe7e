"""What the nodes that make or read media share (image, speech, transcribe): the config
fields every one has, media inputs read from the state through the run's resolver, and
media outputs saved through the run's store before the node returns.

Both are reached through the ``grasp.media`` entry points (``default``: the resolver,
``store``: the content-addressed store), so node types do not import ``grasp_io``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Generic, Protocol, Self, TypeVar

from pydantic import Field, model_validator

from grasp_core import plugin
from grasp_core.errors import NodeError, RecordError
from grasp_core.plugin import MISSING, BuildEnv, NodeConfig, StrictModel, YamlPath, lookup
from grasp_nodes._model_call import ModelRef, refuse_batch
from grasp_nodes.clients.media import MediaClient, UploadedMedia, media_client
from grasp_nodes.prompting.parts import MediaSource

__all__ = [
    "MediaCallConfig",
    "MediaIO",
    "MediaLimits",
    "MediaNode",
    "MediaStoreLike",
    "key_reads",
    "model_parameters",
]


class MediaLimits(StrictModel):
    """Sizes and download time of the media a node reads and makes."""

    max_bytes: int = Field(default=20 * 1024 * 1024, gt=0)
    """Largest media in bytes, read or made; a bigger model response fails the record."""
    fetch_timeout: float = Field(default=30.0, gt=0)
    """Seconds an `http(s)` download may take in all."""


class MediaCallConfig(NodeConfig):
    """The fields of every node that calls a media model."""

    model: ModelRef
    """The model to call (a models-file entry) and request parameters over its own."""
    media: MediaLimits = Field(default_factory=MediaLimits)
    """Size and download-time limits of the media read and made."""

    @model_validator(mode="after")
    def _one_output_key(self) -> MediaCallConfig:
        if len(self.output_key_list()) > 1:
            raise ValueError("a media node writes one output key; give `output_keys` one name")
        return self


ConfigT = TypeVar("ConfigT", bound=MediaCallConfig)


class MediaNode(Generic[ConfigT]):
    """What every media node holds: its config, its :class:`MediaIO` (built by
    :meth:`build`) and the one output key it writes (the node's name when none is given)."""

    def __init__(self, name: str, config: ConfigT, io: MediaIO) -> None:
        self.name = name
        self.config = config
        self.io = io
        self.model_names = (config.model.name,)
        keys = config.output_key_list()
        self._key = keys[0] if keys else name

    @classmethod
    def build(cls, name: str, config: ConfigT, env: BuildEnv) -> Self:
        refuse_batch(name, config.model, "media")
        return cls(name, config, MediaIO(name, config.model.name, config.media, env))

    @property
    def output_keys(self) -> tuple[str, ...]:
        return (self._key,)


class MediaStoreLike(Protocol):
    """The run's media store (``grasp_io.media.MediaStore``)."""

    async def save(self, node: str, data: bytes, *, what: str) -> dict[str, Any]: ...


def model_parameters(ref: ModelRef, **fields: Any) -> dict[str, Any]:
    """A request's parameters: the node's ``model.parameters``, then its own fields (those
    set, so a provider default stays the provider's)."""
    return {**ref.parameters, **{k: v for k, v in fields.items() if v is not None}}


class MediaIO:
    """A node's media client, resolver and store, built once per run."""

    def __init__(self, name: str, model: str, limits: MediaLimits, env: BuildEnv) -> None:
        self.node = name
        self.limits = limits
        self.client: MediaClient = media_client(env, model)
        self.source: MediaSource = plugin.media.get("default")(env)
        self.store: MediaStoreLike = plugin.media.get("store")(env)

    async def uploads(
        self, state: Mapping[str, Any], key: str, *, record_id: str
    ) -> list[UploadedMedia]:
        """The media the state holds under ``key`` (a path, URL, bytes, dataset value or an
        earlier node's stored media; a list sends each item), as bytes to send."""
        value = lookup(state, key)
        if value is MISSING:
            raise NodeError(
                f"record {record_id!r}, node {self.node!r}: media key {key!r} is not in the "
                f"record state (keys: {', '.join(sorted(state)) or 'none'}); add it to the "
                "data or to an earlier node's output_keys",
                node=self.node,
            )
        values = value if isinstance(value, list) else [value]
        return [await self.resolve(item) for item in values]

    async def upload(self, state: Mapping[str, Any], key: str, *, record_id: str) -> UploadedMedia:
        """The one media the state holds under ``key``."""
        found = await self.uploads(state, key, record_id=record_id)
        if len(found) != 1:
            raise RecordError(
                f"record {record_id!r}, node {self.node!r}: {key!r} holds {len(found)} media "
                "values, this field takes one"
            )
        return found[0]

    async def resolve(self, value: Any) -> UploadedMedia:
        """One media value as bytes to send."""
        media = await self.source.resolve(
            value, max_bytes=self.limits.max_bytes, fetch_timeout=self.limits.fetch_timeout
        )
        return UploadedMedia(media.data, media.mime)

    async def save(self, made: bytes | str, *, what: str) -> dict[str, Any]:
        """Store ``made`` (bytes, or a URL a provider answered with, fetched now) and return
        its record; too large or unreadable media fails the record."""
        if isinstance(made, str):
            fetched = await self.source.resolve(
                made, max_bytes=self.limits.max_bytes, fetch_timeout=self.limits.fetch_timeout
            )
            made = fetched.data
        if len(made) > self.limits.max_bytes:
            raise RecordError(
                f"{what} is {len(made)} bytes, over the node's media.max_bytes of "
                f"{self.limits.max_bytes}; raise it or ask for smaller media"
            )
        return await self.store.save(self.node, made, what=what)

    async def save_all(self, made: Sequence[bytes | str], *, record_id: str) -> list[Any]:
        """Store each of ``made``, in order."""
        return [
            await self.save(item, what=f"record {record_id!r}, node {self.node!r}: media {i}")
            for i, item in enumerate(made)
        ]


def key_reads(keys: Sequence[str], field: str) -> dict[str, YamlPath]:
    """``input_keys`` entries for the state keys a node's ``field`` names."""
    return {key: (field, index) if len(keys) > 1 else (field,) for index, key in enumerate(keys)}
