"""What the nodes that call one model share (llm, multi_llm, agent): the model reference,
prompt checks and parsing, rendering a prompt after the chat history, and the client,
structured-output and media setup of a node."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, Protocol

from pydantic import Field

from grasp_core.plugin import BuildEnv, NodeContext, StrictModel
from grasp_nodes.clients import ModelClient, client_for
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
    "Role",
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
