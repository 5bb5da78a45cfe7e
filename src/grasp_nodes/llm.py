"""The ``llm`` node: a prompt of role messages sent to one model."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal, Protocol

from pydantic import Field, field_validator

from grasp_core.plugin import BuildEnv, NodeConfig, NodeContext, StrictModel
from grasp_nodes.clients import ModelClient, client_for
from grasp_nodes.prompt_parts import (
    MediaContext,
    MediaOptions,
    PromptContent,
    history_content,
    media_context,
    without_media,
)
from grasp_nodes.structured import StructuredOutput, StructuredOutputConfig

__all__ = [
    "LLMNode",
    "LLMNodeConfig",
    "ModelCallConfig",
    "ModelRef",
    "check_prompt",
    "model_call_parts",
    "parse_prompt",
    "render_prompt",
]

Role = Literal["system", "user", "assistant"]
_ROLES = ("system", "user", "assistant")


class ModelRef(StrictModel):
    """Which model a node calls, and with which parameters."""

    name: str
    """A model name from the models file."""
    parameters: dict[str, Any] = Field(default_factory=dict)
    """Request parameters (temperature, max_tokens...) over the models file's defaults."""


class LLMNodeConfig(NodeConfig):
    """An `llm` node."""

    node_type: Literal["llm"] = "llm"
    prompt: list[dict[str, Any]]
    """Role messages: `- system: "..."`, `- user: "{var}"` (or `{role: ..., content: ...}`).
    A message may be a list of parts: `{type: text, text: ...}`, `{type: image_url,
    image_url: "{image}"}`, `{type: audio_url, audio_url: "{audio}"}` (see the multimodal
    how-to)."""
    model: ModelRef
    """The model to call."""
    media: MediaOptions = Field(default_factory=MediaOptions)
    """Image and audio parts: `audio_part` style, `max_bytes`, `fetch_timeout`."""
    output_role: Role = "assistant"
    """Role of the reply when it is appended to the record's `messages`."""
    history_role_map: dict[Role, Role] = Field(default_factory=dict)
    """In multiturn graphs, relabel history roles for this node (`{assistant: user, user:
    assistant}` lets a node play the user in a simulated dialogue)."""
    structured_output: StructuredOutputConfig | None = None
    """Make the reply JSON that validates against a schema, and store typed values: `{schema:
    <dotted path or {fields: ...}>, max_attempts: 3, mode: auto}` (see the structured-output
    how-to)."""

    @field_validator("prompt")
    @classmethod
    def _prompt(cls, prompt: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return check_prompt(prompt)


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
    for role, content in prompt:
        rendered = await content.render(state, record_id=ctx.record_id, node=node, media=media)
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
    name: str, config: ModelCallConfig, env: BuildEnv
) -> tuple[ModelClient, StructuredOutput | None, MediaContext]:
    """The client, structured-output setup and media context of a node whose config has
    ``model``, ``structured_output`` and ``media`` (llm and agent nodes)."""
    client = client_for(env, config.model.name)
    structured = StructuredOutput.build(
        config.structured_output,
        node=name,
        provider=env.models.get(config.model.name).provider,
        parameters=config.model.parameters,
        task_dir=env.task_dir,
    )
    return client, structured, media_context(env, config.media, config.model.name)


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


def _role_and_content(message: Mapping[str, Any]) -> tuple[str, Any]:
    if "role" in message:
        return str(message["role"]), message.get("content", "")
    if len(message) != 1:
        raise ValueError(f"a prompt message is one `role: text` pair, got keys {sorted(message)!r}")
    ((role, content),) = message.items()
    return str(role), content


class LLMNode:
    """Renders its prompt from the record state, calls the model, stores the reply."""

    config_model: ClassVar[type[LLMNodeConfig]] = LLMNodeConfig

    def __init__(
        self,
        name: str,
        config: LLMNodeConfig,
        client: ModelClient,
        structured: StructuredOutput | None = None,
        *,
        media: MediaContext | None = None,
    ) -> None:
        self.name = name
        self.config = config
        self.client = client
        self.media = media
        self.model_names = (config.model.name,)
        keys = config.output_key_list()
        self._key = keys[0] if keys else name
        self.structured = structured
        self._placement = structured.placement(keys, name) if structured is not None else None
        self._messages = parse_prompt(config.prompt, where=f"graph_config.nodes.{name}.prompt")

    @classmethod
    def build(cls, name: str, config: LLMNodeConfig, env: BuildEnv) -> LLMNode:
        client, structured, media = model_call_parts(name, config, env)
        return cls(name, config, client, structured, media=media)

    @property
    def output_keys(self) -> tuple[str, ...]:
        keys = self._placement.keys if self._placement is not None else (self._key,)
        return (*keys, "messages")

    async def render(self, state: Mapping[str, Any], ctx: NodeContext) -> list[dict[str, Any]]:
        """The messages sent for this record (history first in multiturn graphs)."""
        return await render_prompt(
            self._messages,
            state,
            ctx,
            node=self.name,
            role_map=self.config.history_role_map,
            media=self.media,
        )

    async def run(self, state: Mapping[str, Any], ctx: NodeContext) -> Mapping[str, Any]:
        """Call the model; the reply goes to the output key and, after the prompt's own
        non-system turns, to ``messages`` (so the record keeps a readable transcript)."""
        messages = await self.render(state, ctx)
        retry = self.config.retry
        max_retries = retry.max_retries if retry is not None else None
        if self.structured is not None and self._placement is not None:
            value, result = await self.structured.ask(
                self.client,
                messages,
                self.config.model.parameters,
                max_retries=max_retries,
                record_id=ctx.record_id,
            )
            update = self._placement.update(value)
        else:
            result = await self.client.chat(
                messages, self.config.model.parameters, max_retries=max_retries
            )
            update = {self._key: result.text}
        turns = messages[-len(self._messages) :]
        sent = without_media([m for m in turns if m["role"] != "system"])
        reply = {"role": self.config.output_role, "content": result.text}
        return {**update, "messages": [*sent, reply]}
