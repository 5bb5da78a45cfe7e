"""What the nodes that call one model share (llm, multi_llm, agent): the model reference,
prompt checks and parsing, rendering a prompt after the chat history, the client,
structured-output and media setup of a node, and its choices for replies cut off or empty
(with the record flag for those it keeps)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, Protocol

from pydantic import Field, field_validator

from grasp_core.errors import ConfigError
from grasp_core.plugin import (
    REPLY_FLAGS,
    BatchOptions,
    BuildEnv,
    CacheMode,
    ModelParameters,
    NodeContext,
    ReplyAction,
    StrictModel,
    YamlPath,
)
from grasp_nodes.clients import ChatResult, ModelClient, ReplyPolicy, client_for
from grasp_nodes.prompting.parts import (
    MediaContext,
    MediaOptions,
    PromptContent,
    history_content,
    media_context,
)
from grasp_nodes.structured import StructuredOutput, StructuredOutputConfig

__all__ = [
    "ModelCallConfig",
    "ModelRef",
    "ReplyChecks",
    "Role",
    "check_prompt",
    "model_call_parts",
    "parse_prompt",
    "prompt_reads",
    "refuse_batch",
    "refuse_media_model",
    "render_prompt",
    "render_text_prompt",
    "reply_flags",
]

Role = Literal["system", "user", "assistant"]
_ROLES = ("system", "user", "assistant")


class ModelRef(StrictModel):
    """Which model a node calls, and with which parameters."""

    name: str
    """A model name from the models file."""
    parameters: ModelParameters = Field(default_factory=dict)
    """Request parameters (temperature, max_tokens...) over the models file's defaults.
    Known OpenAI parameters are checked by type and range; others are sent as they are."""
    cache: CacheMode | None = None
    """How the response cache files this node's calls: `record` (the request and the
    call's place in its record), `content` (the request alone, shared by every record: for
    deterministic calls), `off`. Unset: the model entry's `cache` (`record`)."""
    output_type: Literal["text", "image", "audio"] | None = None
    """SyGra's spelling, over the model entry's: an `llm` node makes an `image` or `audio`
    (see the media-output how-to); other node types that chat refuse it."""
    input_type: Literal["text", "audio"] | None = None
    """SyGra's spelling, over the model entry's: `audio` makes an `llm` node transcribe."""
    batch: BatchOptions | None = None
    """Send this node's calls through the provider's batch API even if the model entry has
    no `batch:`: `true` (the entry's options when it has some, else the defaults), or the
    options of an entry's `batch:`. Unset: as the entry says. Chat calls only (llm,
    multi_llm and agent nodes)."""

    @field_validator("batch", mode="before")
    @classmethod
    def _batch_flag(cls, value: object) -> object:
        if value is True:
            return {}
        if value is None or isinstance(value, dict | BatchOptions):
            return value
        raise ValueError(
            "give `true` or a mapping of batch options (a node cannot unbatch its model: "
            "give it an entry without `batch:`)"
        )


class ReplyChecks(StrictModel):
    """A node's own choices for replies cut off or empty, over its model entry's (the
    configs of node types that call models take these fields)."""

    on_truncated: ReplyAction | None = None
    """A reply cut off by `max_tokens`: `fail` the record, `retry` (within the retries, then
    fail), or `keep` it, flagged under the record's `reply_flags`. Unset: the model entry's
    `on_truncated` (`fail` by default)."""
    on_empty: ReplyAction | None = None
    """A reply with no text and no tool calls: `retry` (then fail), `fail`, or `keep` it,
    flagged under `reply_flags`. Unset: the model entry's `on_empty` (`retry` by default)."""

    def reply_policy(self) -> ReplyPolicy:
        return ReplyPolicy(self.on_truncated, self.on_empty)


def reply_flags(result: ChatResult, *, node: str, model: str) -> dict[str, Any]:
    """The state update that flags a kept reply cut off or empty (``{}`` for a sound one):
    ``reply_flags`` entries reach the output record, so a kept defect stays visible."""
    defect = result.defect
    if defect is None:
        return {}
    return {REPLY_FLAGS: [{"node": node, "model": model, "flag": defect}]}


async def render_prompt(
    prompt: list[tuple[str, PromptContent]],
    state: Mapping[str, Any],
    ctx: NodeContext,
    *,
    node: str,
    role_map: Mapping[Role, Role],
    media: MediaContext | None = None,
) -> list[dict[str, Any]]:
    """A prompt's role messages for one record, after the chat history in multiturn graphs
    (the last ``chat_history_window`` messages, roles relabelled by ``role_map``). Media
    parts are encoded through ``media``; stored history sends ``[image]`` in their place."""
    messages: list[dict[str, Any]] = []
    if ctx.multiturn:
        history = list(state.get("messages") or [])
        if ctx.chat_history_window is not None:
            history = history[-ctx.chat_history_window :]
        messages.extend(
            {**m, "role": role_map.get(m.get("role"), m.get("role"))} if role_map else m
            for m in history
        )
        messages = [
            {**m, "content": history_content(m["content"])}
            if isinstance(m.get("content"), list)
            else m
            for m in messages
        ]
    record_id = ctx.record_id
    for role, content in prompt:
        rendered: str | list[dict[str, Any]] | None
        rendered = content.render_text(state, record_id=record_id, node=node, media=media)
        if rendered is None:  # media to encode
            rendered = await content.render(state, record_id=record_id, node=node, media=media)
        messages.append({"role": role, "content": rendered})
    return messages


def render_text_prompt(
    prompt: list[tuple[str, PromptContent]],
    state: Mapping[str, Any],
    ctx: NodeContext,
    *,
    node: str,
    media: MediaContext | None,
) -> list[dict[str, Any]] | None:
    """:func:`render_prompt`'s messages without awaiting, when no history is sent and no
    field or part holds media (most prompts); None when :func:`render_prompt` must be
    awaited."""
    if ctx.multiturn:
        return None
    record_id = ctx.record_id
    messages: list[dict[str, Any]] = []
    for role, content in prompt:
        rendered = content.render_text(state, record_id=record_id, node=node, media=media)
        if rendered is None:
            return None
        messages.append({"role": role, "content": rendered})
    return messages


class ModelCallConfig(Protocol):
    """What a node config that calls one model holds (llm and agent nodes)."""

    @property
    def model(self) -> ModelRef: ...
    @property
    def structured_output(self) -> StructuredOutputConfig | None: ...
    @property
    def media(self) -> MediaOptions: ...


def model_call_parts(
    name: str, config: ModelCallConfig, env: BuildEnv, replies: ReplyPolicy | None = None
) -> tuple[ModelClient, StructuredOutput | None, MediaContext]:
    """The client, structured-output setup and media context of a node whose config has
    ``model``, ``structured_output`` and ``media`` (llm and agent nodes); the client follows
    the node's ``replies`` choices when it has any."""
    refuse_media_model(name, config.model, env)
    ref = config.model
    client = client_for(env, ref.name, replies, ref.cache, batch=ref.batch)
    structured = StructuredOutput.build(
        config.structured_output,
        node=name,
        model=config.model.name,
        spec=env.models.get(config.model.name),
        parameters=config.model.parameters,
        task_dir=env.task_dir,
    )
    return client, structured, media_context(env, config.media, config.model.name)


def refuse_media_model(node: str, ref: ModelRef, env: BuildEnv) -> None:
    """Refuse a chat call to a model whose SyGra ``output_type``/``input_type`` (on the
    node's ``model:`` or the entry) says it makes media: only ``llm`` nodes read those."""
    spec = env.models.get(ref.name)
    output = ref.output_type or spec.output_type
    if output not in (None, "text") or (ref.input_type or spec.input_type) == "audio":
        raise ConfigError(
            f"node {node!r}: model {ref.name!r} is a media model (output_type "
            f"{output or 'text'!r}, input_type {ref.input_type or spec.input_type!r}); only "
            "`llm` nodes read that spelling: use an llm node, or the image, speech or "
            "transcribe node types"
        )


def refuse_batch(node: str, ref: ModelRef, kind: str) -> None:
    """Refuse ``model.batch`` on a node whose ``kind`` of call (image, speech...) has no
    batch API: only chat calls are batched."""
    if ref.batch is not None:
        raise ConfigError(
            f"node {node!r}: model.batch: only chat calls go through batch APIs, and this "
            f"node makes {kind} calls; remove `batch:` from its `model:`"
        )


def check_prompt(prompt: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A prompt's messages: at least one, each a known role (the config validators' rule)."""
    if not prompt:
        raise ValueError("a prompt needs at least one message")
    for message in prompt:
        role, _ = _role_and_content(message)
        if role not in _ROLES:
            raise ValueError(f"unknown prompt role {role!r}; use one of {', '.join(_ROLES)}")
    return prompt


def parse_prompt(
    prompt: Sequence[Mapping[str, Any]], *, where: str
) -> list[tuple[str, PromptContent]]:
    """A node's ``prompt`` list as (role, content) pairs; errors name ``where[index]``."""
    parsed: list[tuple[str, PromptContent]] = []
    for index, message in enumerate(prompt):
        role, content = _role_and_content(message)
        parsed.append((role, PromptContent(content, where=f"{where}[{index}]")))
    return parsed


def prompt_reads(prompt: Sequence[tuple[str, PromptContent]]) -> dict[str, YamlPath]:
    """The state keys a parsed prompt reads, each at its first message (``("prompt", i)``):
    what a node's ``input_keys`` reports for it."""
    reads: dict[str, YamlPath] = {}
    for index, (_role, content) in enumerate(prompt):
        for field in content.variables:
            reads.setdefault(field, ("prompt", index))
    return reads


def _role_and_content(message: Mapping[str, Any]) -> tuple[str, Any]:
    if "role" in message:
        return str(message["role"]), message.get("content", "")
    if len(message) != 1:
        raise ValueError(f"a prompt message is one `role: text` pair, got keys {sorted(message)!r}")
    ((role, content),) = message.items()
    return str(role), content
