"""The ``llm`` node: a prompt of role messages sent to one model."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from grasp_core.plugin import BuildEnv, NodeConfig, NodeContext, YamlPath
from grasp_nodes._model_call import (
    ModelRef,
    ReplyChecks,
    Role,
    check_prompt,
    model_call_parts,
    parse_prompt,
    prompt_reads,
    render_prompt,
    render_text_prompt,
    reply_flags,
)
from grasp_nodes._sygra_keys import in_sygra_file, node_keys
from grasp_nodes.agent.tool_calls import normalize_tool_call
from grasp_nodes.agent.tool_specs import expand_tool_specs
from grasp_nodes.clients import ModelClient
from grasp_nodes.prompting.parts import (
    MediaContext,
    MediaOptions,
    without_media,
)
from grasp_nodes.structured import StructuredOutput, StructuredOutputConfig
from grasp_nodes.sygra_input import appended_messages
from grasp_nodes.sygra_media import SygraMediaNode, media_kind

__all__ = ["LLMNode", "LLMNodeConfig", "ModelRef"]


class LLMNodeConfig(ReplyChecks, NodeConfig):
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
    tools: list[str | Callable[..., Any]] = Field(default_factory=list)
    """Tools described to the model (dotted paths, as for `agent`). The node does not run
    them: the tool calls the model asks for are stored under `tool_calls` and on the reply
    in `messages` (for tool-use data; an `agent` runs them)."""
    tool_choice: str | dict[str, Any] | None = None
    """With `tools`: `auto`, `required`, `none`, or `{type: function, function: {name:
    ...}}` to force one tool."""
    append_messages: str | None = None
    """A state key whose chat messages (`{role, content}`, or strings sent as user
    messages) are sent after the prompt; nothing when the key is missing or empty."""
    store_messages: Literal["turns", "reply", "none"] = "turns"
    """What the node adds to the record's `messages`: `turns` (the prompt's non-system
    turns, the messages under `append_messages`, then the reply), `reply` (only the reply)
    or `none` (nothing: the reply is only under the output key)."""
    send_history: bool = True
    """In a `chat_conversation: multiturn` graph, send the record's `messages` before the
    prompt; `false` sends no history there (`append_messages: messages` sends it after the
    prompt instead, as SyGra does)."""

    @model_validator(mode="before")
    @classmethod
    def _sygra_spelling(cls, data: Any, info: ValidationInfo) -> Any:
        return node_keys(data, sygra=in_sygra_file(info), llm=True)

    @field_validator("prompt")
    @classmethod
    def _prompt(cls, prompt: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return check_prompt(prompt)

    @model_validator(mode="after")
    def _tool_choice(self) -> LLMNodeConfig:
        if self.tool_choice is not None and not self.tools:
            raise ValueError("tool_choice needs `tools` (the tools the model may call)")
        if self.tools and self.structured_output is not None:
            raise ValueError(
                "an llm node takes `tools` or `structured_output`, not both; use an agent "
                "for tools followed by a structured answer"
            )
        return self


_TOOL_CALLS = "tool_calls"
"""Where an llm node with ``tools`` stores the tool calls of the reply."""


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
        self._parameters: Mapping[str, Any] = config.model.parameters
        self._tools: tuple[dict[str, Any], ...] = ()
        retry = config.retry
        self._max_retries = retry.max_retries if retry is not None else None

    def use_tools(self, tools: list[dict[str, Any]], choice: str | dict[str, Any] | None) -> None:
        """Describe ``tools`` (OpenAI ``tools`` entries) to the model on every call."""
        self._tools = tuple(tools)
        extra: dict[str, Any] = {"tools": list(tools)}
        if choice is not None:
            extra["tool_choice"] = choice
        self._parameters = {**self.config.model.parameters, **extra}

    @classmethod
    def build(cls, name: str, config: LLMNodeConfig, env: BuildEnv) -> LLMNode | SygraMediaNode:
        """The node; a model that makes media in SyGra's spelling (``output_type: image``...)
        gives a :class:`SygraMediaNode` instead."""
        kind = media_kind(config, env)
        if kind is not None:
            return SygraMediaNode(name, config, kind, env)
        client, structured, media = model_call_parts(name, config, env, config.reply_policy())
        node = cls(name, config, client, structured, media=media)
        if config.tools:  # the tools' module (pydantic schemas from signatures) only then
            from grasp_nodes.agent.tools import load_tools

            tools = load_tools(expand_tool_specs(config.tools, env.task_dir), env.task_dir)
            node.use_tools([tool.schema() for tool in tools], config.tool_choice)
        return node

    @property
    def fresh_updates(self) -> bool:
        """Whether the engine may store this node's updates as they are (see
        :class:`~grasp_core.plugin.Node`): each is a new dict holding the reply's text, new
        flag entries and new copies of the messages sent (``without_media``), all JSON.
        Not with structured output (typed values), ``tools`` (one list of tool calls under
        two keys) or ``append_messages`` (messages taken from the state)."""
        return self.structured is None and not self._tools and self.config.append_messages is None

    @property
    def output_keys(self) -> tuple[str, ...]:
        keys = self._placement.keys if self._placement is not None else (self._key,)
        return (*keys, *((_TOOL_CALLS,) if self._tools else ()), "messages")

    def input_keys(self) -> dict[str, YamlPath]:
        """The prompt's ``{var}`` keys, checked before the run's first call."""
        return prompt_reads(self._messages)

    async def render(
        self, state: Mapping[str, Any], ctx: NodeContext, appended: list[Any] | None = None
    ) -> list[dict[str, Any]]:
        """The messages sent for this record (history first in multiturn graphs, then the
        prompt, then the messages under ``append_messages``, unless given as ``appended``)."""
        if ctx.multiturn and not self.config.send_history:
            ctx = dataclasses.replace(ctx, multiturn=False)
        rendered = await render_prompt(
            self._messages,
            state,
            ctx,
            node=self.name,
            role_map=self.config.history_role_map,
            media=self.media,
        )
        if appended is None:
            appended = appended_messages(state, self.config.append_messages, node=self.name)
        if appended:
            rendered.extend(appended)
        return rendered

    async def run(self, state: Mapping[str, Any], ctx: NodeContext) -> Mapping[str, Any]:
        """Call the model; the reply goes to the output key and, as ``store_messages``
        says, to ``messages`` (by default after the prompt's own non-system turns, so the
        record keeps a readable transcript); a reply kept although cut off or empty is
        flagged under ``reply_flags``."""
        appended = appended_messages(state, self.config.append_messages, node=self.name)
        messages = render_text_prompt(self._messages, state, ctx, node=self.name, media=self.media)
        if messages is None:
            messages = await self.render(state, ctx, appended)
        elif appended:
            messages.extend(appended)
        max_retries = self._max_retries
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
            result = await self.client.chat(messages, self._parameters, max_retries=max_retries)
            update = {self._key: result.text}
        turns = messages[-(len(self._messages) + len(appended)) :]
        sent = without_media([m for m in turns if m["role"] != "system"])
        reply: dict[str, Any] = {"role": self.config.output_role, "content": result.text}
        if self._tools:
            used: set[str] = set()
            calls = [normalize_tool_call(c, 0, i, used) for i, c in enumerate(result.tool_calls)]
            update[_TOOL_CALLS] = calls
            if calls:
                reply["tool_calls"] = calls
        flags = reply_flags(result, node=self.name, model=self.config.model.name)
        store = self.config.store_messages
        stored = [*sent, reply] if store == "turns" else [reply] if store == "reply" else []
        return {**update, **flags, "messages": stored}
