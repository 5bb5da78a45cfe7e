"""SyGra's spelling of media models: an ``llm`` node whose model says ``output_type: image``
or ``audio``, or ``input_type: audio`` (on the models-file entry or the node's ``model:``).

Such a node runs as GraSP's media nodes do, reading its ``prompt`` the way SyGra does: the
text parts of its messages, joined by blank lines, are the image prompt or the text to
speak; the image parts are the images to edit (none: generate); the audio part is what to
transcribe. The model's ``parameters`` are sent as they are (``size``, ``quality``, ``n``;
``voice``, ``response_format``, ``speed``...). Media are stored as the ``image`` and
``speech`` nodes store them.

Audio out of a chat model (gpt-4o-audio: ``output_type: audio`` on a route that is not a
text-to-speech one, or ``modalities`` with ``audio`` in the model's ``parameters``) sends the
rendered messages as a chat call asking for text and audio; two output keys get the text
and the audio. One key holds the audio when the model says ``output_type: audio`` (SyGra's
meaning: the node's output is the audio file), else ``{text, audio}``.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, Protocol

from grasp_core.errors import ConfigError, RecordError
from grasp_core.plugin import BuildEnv, NodeContext, YamlPath
from grasp_nodes._model_call import (
    ModelRef,
    parse_prompt,
    prompt_reads,
    refuse_batch,
    render_prompt,
)
from grasp_nodes.prompting.parts import MediaOptions, media_context

if TYPE_CHECKING:
    from grasp_nodes.clients.media import UploadedMedia

__all__ = ["SygraMediaNode", "media_kind"]

MediaKind = Literal["image", "speech", "transcribe", "chat_audio"]
_SPEECH_ROUTES = ("tts", "speech")
"""Route words of text-to-speech models; other `output_type: audio` models are chat models
that answer with audio (gpt-4o-audio)."""


class LLMNodeConfig(Protocol):
    """What this module reads of an ``llm`` node's config (``grasp_nodes.llm`` imports this
    module, so it does not import that one)."""

    @property
    def model(self) -> ModelRef: ...

    @property
    def prompt(self) -> list[dict[str, Any]]: ...

    @property
    def media(self) -> MediaOptions: ...

    @property
    def structured_output(self) -> object | None: ...

    def output_key_list(self) -> list[str]: ...


def media_kind(config: LLMNodeConfig, env: BuildEnv) -> MediaKind | None:
    """What an llm node's model makes in SyGra's spelling (None: text, an ordinary call)."""
    spec = env.models.get(config.model.name)
    output = config.model.output_type or spec.output_type
    if (config.model.input_type or spec.input_type) == "audio" and output in (None, "text"):
        return "transcribe"
    if output == "image":
        return "image"
    if output == "audio":
        if any(word in spec.model.lower() for word in _SPEECH_ROUTES):
            return "speech"
        return "chat_audio"
    modalities = config.model.parameters.get("modalities", spec.parameters.get("modalities"))
    if isinstance(modalities, list) and "audio" in modalities:
        return "chat_audio"
    return None


class SygraMediaNode:
    """An llm node whose model makes images or speech, or transcribes (SyGra's spelling)."""

    def __init__(self, name: str, config: LLMNodeConfig, kind: MediaKind, env: BuildEnv) -> None:
        refuse_batch(name, config.model, kind)
        if config.structured_output is not None:
            raise ConfigError(f"node {name!r}: structured_output needs a text model, not {kind}")
        keys = config.output_key_list()
        if len(keys) > (2 if kind == "chat_audio" else 1):
            raise ConfigError(
                f"node {name!r} makes {kind} and writes at most "
                f"{2 if kind == 'chat_audio' else 1} output keys, got {keys!r}"
            )
        self.name = name
        self.config = config
        self.kind = kind
        self._audio_only = (
            config.model.output_type or env.models.get(config.model.name).output_type
        ) == "audio"
        """One output key holds the audio alone (SyGra's ``output_type: audio``)."""
        self.model_names = (config.model.name,)
        # imported here, at build (never mid-run): every llm task imports this module
        from grasp_nodes._media_call import MediaIO, MediaLimits

        limits = MediaLimits(
            max_bytes=config.media.max_bytes, fetch_timeout=config.media.fetch_timeout
        )
        self.io = MediaIO(name, config.model.name, limits, env)
        options = MediaOptions(
            audio_part="audio_url",  # data URLs keep the audio's own bytes
            max_bytes=config.media.max_bytes,
            fetch_timeout=config.media.fetch_timeout,
        )
        if kind == "chat_audio":  # a chat call: media parts go as the llm node sends them
            options = config.media
        self.media = media_context(env, options, config.model.name)
        self._keys = tuple(keys) if keys else (name,)
        self._key = self._keys[0]
        self._messages = parse_prompt(config.prompt, where=f"graph_config.nodes.{name}.prompt")

    @property
    def output_keys(self) -> tuple[str, ...]:
        return self._keys

    def input_keys(self) -> dict[str, YamlPath]:
        """The prompt's ``{var}`` keys."""
        return prompt_reads(self._messages)

    async def run(self, state: Mapping[str, Any], ctx: NodeContext) -> Mapping[str, Any]:
        messages = await render_prompt(
            self._messages, state, ctx, node=self.name, role_map={}, media=self.media
        )
        texts, images, audio = _split(messages)
        text = "\n\n".join(texts)
        params = dict(self.config.model.parameters)
        where = f"record {ctx.record_id!r}, node {self.name!r}"
        client = self.io.client
        if self.kind == "chat_audio":
            reply, audio_bytes = await client.speak_reply(messages, params)
            [stored_audio] = await self.io.save_all([audio_bytes], record_id=ctx.record_id)
            if len(self._keys) == 2:
                return {self._keys[0]: reply, self._keys[1]: stored_audio}
            if self._audio_only:
                return {self._key: stored_audio}
            return {self._key: {"text": reply, "audio": stored_audio}}
        if self.kind == "transcribe":
            if len(audio) != 1:
                raise RecordError(f"{where}: transcription needs one audio part, got {len(audio)}")
            return {self._key: await client.transcribe(audio[0], params)}
        if not text.strip():
            raise RecordError(f"{where}: the prompt has no text to send")
        if self.kind == "speech":
            stored = await self.io.save_all(
                [await client.speak(text, params)], record_id=ctx.record_id
            )
            return {self._key: stored[0]}
        if images:
            made = await client.edit_images(text, images, None, params)
        else:
            made = await client.generate_images(text, params)
        stored = await self.io.save_all(made, record_id=ctx.record_id)
        return {self._key: stored[0] if len(stored) == 1 else stored}


def _split(
    messages: list[dict[str, Any]],
) -> tuple[list[str], list[UploadedMedia], list[UploadedMedia]]:
    """The texts, images and audio of rendered messages, in order (system messages too)."""
    texts: list[str] = []
    images: list[UploadedMedia] = []
    audio: list[UploadedMedia] = []
    for message in messages:
        content = message.get("content")
        parts: list[dict[str, Any]] = (
            content if isinstance(content, list) else [{"type": "text", "text": content}]
        )
        for part in parts:
            kind, text = part.get("type"), part.get("text")
            if kind == "text" and isinstance(text, str) and text.strip():
                texts.append(text.strip())
            elif kind in ("image_url", "audio_url"):
                media = _from_data_url(part[kind]["url"])
                (images if kind == "image_url" else audio).append(media)
    return texts, images, audio


def _from_data_url(url: str) -> UploadedMedia:
    from grasp_nodes.clients.media import UploadedMedia  # imported at build, by MediaIO

    header, _, payload = url.partition(",")
    mime = header.removeprefix("data:").split(";", 1)[0]
    return UploadedMedia(base64.b64decode(payload), mime)
