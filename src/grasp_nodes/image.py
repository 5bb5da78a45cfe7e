"""The ``image`` node: images generated from a prompt, or edited from images in the state.

Without ``images`` the node generates (``/images/generations``); with them it edits
(``/images/edits``) exactly the state keys it names, with an optional ``mask`` key. The
images are stored as content-addressed files beside the output before the node returns
(see ``grasp_io.media.store``): the output key holds one ``{path, type, size}`` record, or a
list of them when ``n`` is above 1, never the image bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from grasp_core.plugin import NodeContext, YamlPath
from grasp_nodes._media_call import (
    MediaCallConfig,
    MediaIO,
    MediaNode,
    key_reads,
    model_parameters,
)
from grasp_nodes.prompting.templates import Template

__all__ = ["ImageNode", "ImageNodeConfig"]


class ImageNodeConfig(MediaCallConfig):
    """An `image` node."""

    node_type: Literal["image"] = "image"
    prompt: str
    """What to draw, a `{var}` template over the record state."""
    images: list[str] = Field(default_factory=list)
    """State keys of the images to edit (each a path, URL, data URL, dataset Image value or
    an earlier node's image; a key holding a list sends each item). Empty: generate."""
    mask: str | None = None
    """State key of the edit's mask (transparent where the image may change)."""
    n: int = Field(default=1, ge=1, le=10)
    """Images per record; above 1 the output key holds a list."""
    size: str | None = None
    """`1024x1024`, `1536x1024`, `auto`...; unset: the provider's default."""
    quality: str | None = None
    """`low`, `medium`, `high`, `hd`, `standard`...; unset: the provider's default."""
    style: str | None = None
    """`vivid` or `natural` (dall-e-3); unset: the provider's default."""

    @model_validator(mode="after")
    def _mask_needs_images(self) -> ImageNodeConfig:
        if self.mask is not None and not self.images:
            raise ValueError("a `mask` edits `images`: name the state keys of the images too")
        return self


class ImageNode(MediaNode[ImageNodeConfig]):
    """Renders the prompt, asks the model for images, stores them, returns their records."""

    config_model: ClassVar[type[ImageNodeConfig]] = ImageNodeConfig

    def __init__(self, name: str, config: ImageNodeConfig, io: MediaIO) -> None:
        super().__init__(name, config, io)
        self._prompt = Template(config.prompt, where=f"graph_config.nodes.{name}.prompt")

    def input_keys(self) -> dict[str, YamlPath]:
        """The prompt's ``{var}`` keys and the image and mask keys."""
        reads: dict[str, YamlPath] = {field: ("prompt",) for field in self._prompt.variables}
        reads.update(key_reads(self.config.images, "images"))
        if self.config.mask is not None:
            reads[self.config.mask] = ("mask",)
        return reads

    async def run(self, state: Mapping[str, Any], ctx: NodeContext) -> Mapping[str, Any]:
        config = self.config
        prompt = self._prompt.render(state, record_id=ctx.record_id, node=self.name)
        params = model_parameters(
            config.model, n=config.n, size=config.size, quality=config.quality, style=config.style
        )
        client = self.io.client
        if config.images:
            images = []
            for key in config.images:
                images += await self.io.uploads(state, key, record_id=ctx.record_id)
            mask = None
            if config.mask is not None:
                mask = await self.io.upload(state, config.mask, record_id=ctx.record_id)
            made = await client.edit_images(prompt, images, mask, params)
        else:
            made = await client.generate_images(prompt, params)
        stored = await self.io.save_all(made[: config.n], record_id=ctx.record_id)
        return {self._key: stored[0] if config.n == 1 else stored}
