"""The ``speech`` node: text from the state spoken by a text-to-speech model.

The audio is stored as a content-addressed file beside the output before the node returns
(see ``grasp_io.media.store``); the output key holds its ``{path, type, size, duration}``
record, never the audio bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal, Self

from pydantic import Field

from grasp_core.errors import ConfigError
from grasp_core.plugin import BuildEnv, NodeContext, YamlPath
from grasp_nodes._media_call import MediaCallConfig, MediaIO, MediaNode, model_parameters
from grasp_nodes.prompting.templates import Template

__all__ = ["SpeechNode", "SpeechNodeConfig"]


class SpeechNodeConfig(MediaCallConfig):
    """A `speech` node."""

    node_type: Literal["speech"] = "speech"
    text: str
    """What to say, a `{var}` template over the record state."""
    voice: str = "alloy"
    """The provider's voice name (`alloy`, `nova`, `verse`...)."""
    format: Literal["wav", "mp3", "flac", "opus", "aac", "pcm"] = "wav"
    """The audio format asked for (sent as `response_format`). The stored file's
    extension comes from the bytes themselves; `pcm` is raw samples, which cannot be
    stored as a file, so it is refused."""
    speed: float | None = Field(default=None, ge=0.25, le=4.0)
    """Speaking speed, 0.25 to 4; unset: the provider's default (1)."""
    instructions: str | None = None
    """How to speak (tone, accent), for models that take it (`gpt-4o-mini-tts`)."""


class SpeechNode(MediaNode[SpeechNodeConfig]):
    """Renders the text, asks the model to speak it, stores the audio, returns its record."""

    config_model: ClassVar[type[SpeechNodeConfig]] = SpeechNodeConfig

    def __init__(self, name: str, config: SpeechNodeConfig, io: MediaIO) -> None:
        super().__init__(name, config, io)
        self._text = Template(config.text, where=f"graph_config.nodes.{name}.text")

    @classmethod
    def build(cls, name: str, config: SpeechNodeConfig, env: BuildEnv) -> Self:
        if config.format == "pcm":
            raise ConfigError(
                f"node {name!r}: format 'pcm' is raw samples with no header, which cannot be "
                "stored as an audio file; use wav"
            )
        return super().build(name, config, env)

    def input_keys(self) -> dict[str, YamlPath]:
        """The text's ``{var}`` keys."""
        return {field: ("text",) for field in self._text.variables}

    async def run(self, state: Mapping[str, Any], ctx: NodeContext) -> Mapping[str, Any]:
        config = self.config
        text = self._text.render(state, record_id=ctx.record_id, node=self.name)
        params = model_parameters(
            config.model,
            voice=config.voice,
            response_format=config.format,
            speed=config.speed,
            instructions=config.instructions,
        )
        audio = await self.io.client.speak(text, params)
        stored = await self.io.save_all([audio], record_id=ctx.record_id)
        return {self._key: stored[0]}
