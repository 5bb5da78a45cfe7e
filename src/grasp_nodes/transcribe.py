"""The ``transcribe`` node: audio from the state turned into text by a speech-to-text model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from grasp_core.plugin import NodeContext, YamlPath
from grasp_nodes._media_call import MediaCallConfig, MediaIO, MediaNode, model_parameters
from grasp_nodes.prompting.templates import Template

__all__ = ["TranscribeNode", "TranscribeNodeConfig"]


class TranscribeNodeConfig(MediaCallConfig):
    """A `transcribe` node."""

    node_type: Literal["transcribe"] = "transcribe"
    audio: str
    """State key of the audio (a path, URL, data URL, dataset Audio value or an earlier
    node's speech)."""
    language: str | None = None
    """The audio's language as ISO-639-1 (`en`); unset: detected."""
    prompt: str | None = None
    """Text that guides the model (spellings, the previous segment), a `{var}` template."""


class TranscribeNode(MediaNode[TranscribeNodeConfig]):
    """Reads the audio, asks the model for its text, returns the text."""

    config_model: ClassVar[type[TranscribeNodeConfig]] = TranscribeNodeConfig

    def __init__(self, name: str, config: TranscribeNodeConfig, io: MediaIO) -> None:
        super().__init__(name, config, io)
        where = f"graph_config.nodes.{name}.prompt"
        self._prompt = Template(config.prompt, where=where) if config.prompt else None

    def input_keys(self) -> dict[str, YamlPath]:
        """The audio key and the prompt's ``{var}`` keys."""
        reads: dict[str, YamlPath] = {self.config.audio: ("audio",)}
        if self._prompt is not None:
            reads.update({field: ("prompt",) for field in self._prompt.variables})
        return reads

    async def run(self, state: Mapping[str, Any], ctx: NodeContext) -> Mapping[str, Any]:
        audio = await self.io.upload(state, self.config.audio, record_id=ctx.record_id)
        prompt = None
        if self._prompt is not None:
            prompt = self._prompt.render(state, record_id=ctx.record_id, node=self.name)
        params = model_parameters(self.config.model, language=self.config.language, prompt=prompt)
        return {self._key: await self.io.client.transcribe(audio, params)}
