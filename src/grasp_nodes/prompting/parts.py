"""Prompt message contents: one text template, or a list of text, image and audio parts.

A message is ``- user: "text {var}"`` or ``- user: [parts]`` where a part is
``{type: text, text: "..."}``, ``{type: image_url, image_url: "{image}"}``,
``{type: audio_url, audio_url: "{audio}"}`` or ``{type: input_audio, input_audio: "{audio}"}``.
A media part's placeholder naming a state key sends the key's value as media (a list value
sends one part per item); a text placeholder whose value can only be media (bytes, a Pillow
image, a ``{bytes, path}`` dict) sends it as media too.

Media are encoded by the ``grasp.media`` entry point (``grasp_io.media``), reached through
the small :class:`MediaSource` interface so that node types do not import ``grasp_io``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field

from grasp_core.errors import ConfigError, NodeError, RecordError
from grasp_core.plugin import MISSING, BuildEnv, StrictModel, lookup
from grasp_nodes.prompting.media_source import EncodedMedia, MediaSource, SourceOnFirstUse
from grasp_nodes.prompting.templates import NO_FIELD, TEXT_TYPES, Template

__all__ = [
    "EncodedMedia",
    "MediaContext",
    "MediaOptions",
    "MediaSource",
    "PromptContent",
    "history_content",
    "media_context",
    "without_media",
]

AudioPart = Literal["input_audio", "audio_url"]
_PART_TYPES = ("text", "image_url", "audio_url", "input_audio")
_INPUT_AUDIO_PROVIDERS = frozenset({"openai", "azure"})
_INPUT_AUDIO_FORMATS = {"audio/wav": "wav", "audio/mpeg": "mp3"}


class MediaOptions(StrictModel):
    """How an llm or agent node sends image and audio parts."""

    audio_part: Literal["auto", "input_audio", "audio_url"] = "auto"
    """Audio as OpenAI's `input_audio` part (WAV or MP3; other audio is converted to WAV)
    or as an `audio_url` data URL (vLLM). `auto`: `input_audio` for `openai/` and `azure/`
    models, `audio_url` otherwise."""
    max_bytes: int = Field(default=20 * 1024 * 1024, gt=0)
    """Largest media value in bytes, after encoding; downloads stop reading past it."""
    fetch_timeout: float = Field(default=30.0, gt=0)
    """Seconds an `http(s)` download may take in all (connect, headers and body)."""


@dataclass(frozen=True, slots=True)
class MediaContext:
    """What a node needs to send media: the run's encoder and the node's options."""

    source: MediaSource
    options: MediaOptions
    audio_part: AudioPart


def media_context(env: BuildEnv, options: MediaOptions, model_name: str) -> MediaContext:
    """The media context for a node calling ``model_name`` (audio style chosen by route);
    its source is made at its first use."""
    source: MediaSource = SourceOnFirstUse(env)
    audio: AudioPart
    if options.audio_part != "auto":
        audio = options.audio_part
    elif env.models.get(model_name).provider in _INPUT_AUDIO_PROVIDERS:
        audio = "input_audio"
    else:
        audio = "audio_url"
    return MediaContext(source, options, audio)


@dataclass(frozen=True, slots=True)
class _MediaPart:
    kind: Literal["image", "audio"] | None
    """The kind the part declares; None for media found in a text placeholder."""
    template: Template
    extra: Mapping[str, Any]
    """Other keys of the part's URL object (such as `detail: low` for images)."""
    where: str


class PromptContent:
    """A message's content, parsed once per node and rendered per record."""

    def __init__(self, raw: Any, *, where: str) -> None:
        self.where = where
        self._text: Template | None = None
        self._parts: list[Template | _MediaPart] = []
        if isinstance(raw, list):
            if not raw:
                raise ConfigError(f"{where}: a message's part list is empty; add a text part")
            self._parts = [_compile_part(part, f"{where}[{i}]") for i, part in enumerate(raw)]
        elif isinstance(raw, Mapping):
            raise ConfigError(
                f"{where}: a message's content is a mapping; write text, or a list of parts "
                "such as [{type: text, text: ...}, {type: image_url, image_url: '{image}'}]"
            )
        else:
            self._text = Template(str(raw), where=where)

    @property
    def variables(self) -> tuple[str, ...]:
        """Every ``{field}`` of the content, text and media parts alike, in order."""
        if self._text is not None:
            return self._text.variables
        return tuple(
            field
            for part in self._parts
            for field in (part if isinstance(part, Template) else part.template).variables
        )

    @property
    def has_media_parts(self) -> bool:
        """True when the content declares image or audio parts."""
        return any(isinstance(part, _MediaPart) for part in self._parts)

    def render_text(
        self,
        state: Mapping[str, Any],
        *,
        record_id: str,
        node: str,
        media: MediaContext | None,
    ) -> str | None:
        """:meth:`render`'s text for a text message whose fields hold no media, without
        awaiting anything (most messages); None when :meth:`render` must be awaited."""
        text = self._text
        if text is None:
            return None
        plain = text.render_plain(state)
        if plain is not None:
            return plain
        if media is None or not text.variables:
            return text.render(state, record_id=record_id, node=node)
        pieces = text.lookups(state, record_id=record_id, node=node)
        for _, value in pieces:
            if type(value) not in TEXT_TYPES and _maybe_media(value, media):
                return None
        return text.join(pieces)

    async def render(
        self,
        state: Mapping[str, Any],
        *,
        record_id: str,
        node: str,
        media: MediaContext | None,
    ) -> str | list[dict[str, Any]]:
        """Text for a text-only message; a list of content parts once media is involved."""
        if self._text is not None:
            text = self._text
            if media is None or not text.variables:
                return text.render(state, record_id=record_id, node=node)
            pieces = text.lookups(state, record_id=record_id, node=node)
            if not any(_maybe_media(value, media) for _, value in pieces):
                return text.join(pieces)
            return await _pieces_to_parts(pieces, media, record_id, node, self.where)
        parts: list[dict[str, Any]] = []
        for part in self._parts:
            if isinstance(part, Template):
                if media is None:
                    rendered = part.render(state, record_id=record_id, node=node)
                    parts.append({"type": "text", "text": rendered})
                    continue
                pieces = part.lookups(state, record_id=record_id, node=node)
                parts.extend(await _pieces_to_parts(pieces, media, record_id, node, self.where))
            else:
                if media is None:
                    raise NodeError(
                        f"{part.where}: this node was built without media support; build it "
                        "with its type's build() so it gets the run's media encoder",
                        node=node,
                    )
                parts.extend(await _media_parts(part, state, media, record_id, node))
        return _merge_text(parts)


def _maybe_media(value: Any, media: MediaContext) -> bool:
    """``media.source.is_media(value)``, skipping text and numbers (never media in a text
    placeholder) and the text after the last field without the call."""
    return type(value) not in TEXT_TYPES and value is not NO_FIELD and media.source.is_media(value)


def _compile_part(raw: Any, where: str) -> Template | _MediaPart:
    if isinstance(raw, str):
        return Template(raw, where=where)
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: a content part is a mapping with a `type`, got {raw!r}")
    part_type = raw.get("type")
    if part_type not in _PART_TYPES:
        known = ", ".join(_PART_TYPES)
        raise ConfigError(f"{where}: unknown content part type {part_type!r}; use one of {known}")
    extra_keys = set(raw) - {"type", part_type}
    if extra_keys:
        raise ConfigError(
            f"{where}: unexpected key(s) {', '.join(sorted(map(repr, extra_keys)))} in a "
            f"{part_type} part; write {{type: {part_type}, {part_type}: ...}}"
        )
    value = raw.get(part_type)
    extra: dict[str, Any] = {}
    if isinstance(value, Mapping) and part_type != "text":
        extra = {k: v for k, v in value.items() if k not in ("url", "data")}
        value = value.get("url", value.get("data"))
    if not isinstance(value, str):
        raise ConfigError(
            f"{where}: a {part_type} part needs a string `{part_type}` (such as "
            f"'{{field}}'), got {value!r}"
        )
    template = Template(value, where=f"{where}.{part_type}")
    if part_type == "text":
        return template
    kind: Literal["image", "audio"] = "image" if part_type == "image_url" else "audio"
    return _MediaPart(kind, template, extra, where)


async def _media_parts(
    part: _MediaPart,
    state: Mapping[str, Any],
    media: MediaContext,
    record_id: str,
    node: str,
) -> list[dict[str, Any]]:
    field = part.template.single_field
    if field is not None:
        value = lookup(state, field)
        if value is MISSING:
            part.template.render(state, record_id=record_id, node=node)  # raises, names keys
    else:
        value = part.template.render(state, record_id=record_id, node=node)
    values = value if isinstance(value, list | tuple) else [value]
    out: list[dict[str, Any]] = []
    for index, item in enumerate(values):
        label = f"{{{field}}}" if field is not None else repr(part.template.text)
        if isinstance(value, list | tuple):
            label += f" item {index}"
        out.append(await _encode(item, part, media, record_id, node, label))
    return out


async def _pieces_to_parts(
    pieces: Sequence[tuple[str, Any]],
    media: MediaContext,
    record_id: str,
    node: str,
    where: str,
) -> list[dict[str, Any]]:
    """Text pieces with media values in them → text parts around media parts."""
    auto = _MediaPart(None, Template("", where=where), {}, where)
    parts: list[dict[str, Any]] = []
    for literal, value in pieces:
        if literal:
            parts.append({"type": "text", "text": literal})
        if value is NO_FIELD:
            continue
        if media.source.is_media(value):
            parts.append(await _encode(value, auto, media, record_id, node, "a text placeholder"))
        else:
            parts.append({"type": "text", "text": value if isinstance(value, str) else str(value)})
    return _merge_text(parts)


async def _encode(
    value: Any,
    part: _MediaPart,
    media: MediaContext,
    record_id: str,
    node: str,
    label: str,
) -> dict[str, Any]:
    options = media.options
    context = f"record {record_id!r}, node {node!r}: media in {part.where} ({label})"
    try:
        encoded = await media.source.resolve(
            value, max_bytes=options.max_bytes, fetch_timeout=options.fetch_timeout
        )
        kind = encoded.mime.split("/", 1)[0]
        if part.kind is not None and kind != part.kind:
            raise RecordError(
                f"the value is {encoded.mime}, but the part expects {part.kind}; use an "
                f"{'image_url' if kind == 'image' else 'audio_url'} part for it"
            )
        if kind == "image":
            return {"type": "image_url", "image_url": {"url": encoded.data_url(), **part.extra}}
        if kind != "audio":
            raise RecordError(f"the value is {encoded.mime}, which is neither image nor audio")
        if media.audio_part == "audio_url":
            return {"type": "audio_url", "audio_url": {"url": encoded.data_url(), **part.extra}}
        if encoded.mime not in _INPUT_AUDIO_FORMATS:
            encoded = encoded.as_wav()
        audio = {"data": encoded.base64(), "format": _INPUT_AUDIO_FORMATS[encoded.mime]}
        return {"type": "input_audio", "input_audio": audio}
    except NodeError:
        raise
    except RecordError as exc:
        raise NodeError(f"{context}: {exc}", node=node) from None


def _merge_text(parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Adjacent text parts joined into one (a template renders to one text part)."""
    merged: list[dict[str, Any]] = []
    for part in parts:
        if part.get("type") == "text" and merged and merged[-1].get("type") == "text":
            merged[-1] = {"type": "text", "text": merged[-1]["text"] + part["text"]}
        else:
            merged.append(part)
    return merged


_PLACEHOLDER_TYPES = {"image_url": "image", "audio_url": "audio", "input_audio": "audio"}


def without_media(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """``messages`` for the record's state and journal: each media part becomes a
    ``{"type": "image"}`` or ``{"type": "audio"}`` placeholder (the Hugging Face chat
    convention), so encoded media is never stored. The messages, their part lists and their
    parts are copies (the request keeps its own)."""
    out: list[dict[str, Any]] = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):
            message = {
                **message,
                "content": [
                    (
                        {"type": _PLACEHOLDER_TYPES[part["type"]]}
                        if part.get("type") in _PLACEHOLDER_TYPES
                        else dict(part)
                    )
                    if isinstance(part, Mapping)
                    else part
                    for part in content
                ],
            }
        out.append(dict(message))
    return out


def history_content(content: Any) -> Any:
    """A stored message's content as it is sent again in a later turn: media placeholders
    (whose data is not stored) become ``[image]`` / ``[audio]`` text."""
    if not isinstance(content, list):
        return content
    return [
        {"type": "text", "text": f"[{part['type']}]"}
        if isinstance(part, Mapping) and part.get("type") in ("image", "audio")
        else part
        for part in content
    ]
