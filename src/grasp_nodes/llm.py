"""The ``llm`` node: a prompt of role messages sent to one model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from grasp_core.config import NodeConfig, StrictModel
from grasp_core.protocols import BuildEnv, NodeContext
from grasp_nodes.clients import ModelClient, client_for
from grasp_nodes.templates import Template

__all__ = ["LLMNode", "LLMNodeConfig", "ModelRef", "render_prompt"]

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
    """Role messages: `- system: "..."`, `- user: "{var}"` (or `{role: ..., content: ...}`)."""
    model: ModelRef
    """The model to call."""
    output_role: Role = "assistant"
    """Role of the reply when it is appended to the record's `messages`."""
    history_role_map: dict[Role, Role] = Field(default_factory=dict)
    """In multiturn graphs, relabel history roles for this node (`{assistant: user, user:
    assistant}` lets a node play the user in a simulated dialogue)."""

    @field_validator("prompt")
    @classmethod
    def _prompt(cls, prompt: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not prompt:
            raise ValueError("a prompt needs at least one message")
        for message in prompt:
            role, _ = _role_and_content(message)
            if role not in _ROLES:
                raise ValueError(f"unknown prompt role {role!r}; use one of {', '.join(_ROLES)}")
        return prompt


def render_prompt(
    prompt: list[tuple[str, Template]],
    state: Mapping[str, Any],
    ctx: NodeContext,
    *,
    node: str,
    role_map: Mapping[Role, Role],
) -> list[dict[str, Any]]:
    """A prompt's role messages for one record, after the chat history in multiturn graphs
    (the last ``chat_history_window`` messages, roles relabelled by ``role_map``)."""
    messages: list[dict[str, Any]] = []
    if ctx.multiturn:
        history = list(state.get("messages") or [])
        if ctx.chat_history_window is not None:
            history = history[-ctx.chat_history_window :]
        messages.extend(
            {**m, "role": role_map.get(m.get("role"), m.get("role"))} if role_map else m
            for m in history
        )
    for role, template in prompt:
        text = template.render(state, record_id=ctx.record_id, node=node)
        messages.append({"role": role, "content": text})
    return messages


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

    def __init__(self, name: str, config: LLMNodeConfig, client: ModelClient) -> None:
        self.name = name
        self.config = config
        self.client = client
        self.model_names = (config.model.name,)
        keys = config.output_key_list()
        self._key = keys[0] if keys else name
        self._messages: list[tuple[str, Template]] = []
        for index, message in enumerate(config.prompt):
            role, content = _role_and_content(message)
            where = f"graph_config.nodes.{name}.prompt[{index}]"
            self._messages.append((role, Template(str(content), where=where)))

    @classmethod
    def build(cls, name: str, config: LLMNodeConfig, env: BuildEnv) -> LLMNode:
        return cls(name, config, client_for(env, config.model.name))

    @property
    def output_keys(self) -> tuple[str, ...]:
        return (self._key, "messages")

    def render(self, state: Mapping[str, Any], ctx: NodeContext) -> list[dict[str, Any]]:
        """The messages sent for this record (history first in multiturn graphs)."""
        return render_prompt(
            self._messages, state, ctx, node=self.name, role_map=self.config.history_role_map
        )

    async def run(self, state: Mapping[str, Any], ctx: NodeContext) -> Mapping[str, Any]:
        """Call the model; the reply goes to the output key and, after the prompt's own
        non-system turns, to ``messages`` (so the record keeps a readable transcript)."""
        messages = self.render(state, ctx)
        retry = self.config.retry
        result = await self.client.chat(
            messages,
            self.config.model.parameters,
            max_retries=retry.max_retries if retry is not None else None,
        )
        turns = messages[-len(self._messages) :]
        sent = [m for m in turns if m["role"] != "system"]
        reply = {"role": self.config.output_role, "content": result.text}
        return {self._key: result.text, "messages": [*sent, reply]}
