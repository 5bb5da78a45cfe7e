"""The ``agent`` node: a ReAct loop in which a model calls Python tools until it answers."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Literal

import anyio
from pydantic import Field, ValidationInfo, field_validator, model_validator

from grasp_core.errors import ConfigError, NodeError
from grasp_core.plugin import BuildEnv, NodeConfig, NodeContext, YamlPath, get_logger
from grasp_nodes._model_call import (
    ModelRef,
    ReplyChecks,
    Role,
    check_prompt,
    model_call_parts,
    parse_prompt,
    prompt_reads,
    render_prompt,
    reply_flags,
)
from grasp_nodes._sygra_keys import in_sygra_file, node_keys
from grasp_nodes.agent.tool_calls import normalize_tool_call
from grasp_nodes.agent.tool_specs import expand_tool_specs
from grasp_nodes.agent.tools import Tool, load_tools, run_tool
from grasp_nodes.clients import ModelClient
from grasp_nodes.prompting.parts import (
    MediaContext,
    MediaOptions,
    without_media,
)
from grasp_nodes.prompting.templates import Template
from grasp_nodes.structured import StructuredOutput, StructuredOutputConfig

__all__ = ["AgentNode", "AgentNodeConfig"]

_log = get_logger(__name__)


class AgentNodeConfig(ReplyChecks, NodeConfig):
    """An `agent` node."""

    node_type: Literal["agent"] = "agent"
    prompt: list[dict[str, Any]]
    """Role messages, as for `llm`: `- system: "..."`, `- user: "{var}"`, or lists of parts."""
    model: ModelRef
    """The model to call; it must support tool calling."""
    media: MediaOptions = Field(default_factory=MediaOptions)
    """Image and audio parts in the prompt, as for `llm`."""
    tools: list[str | Callable[..., Any]] = Field(default_factory=list)
    """Dotted paths to Python functions (sync or async) the model may call; in Python,
    callables. Each tool's JSON schema comes from its signature and docstring. Without
    tools, the agent answers in one call."""
    max_steps: int = Field(default=8, ge=1)
    """Most model calls in one run; a run that has not answered by then fails the record."""
    inject_system_messages: dict[int, str] = Field(default_factory=dict)
    """Turn → a system message (a `{var}` template) added before that model call; turn 0 is
    the first call."""
    inject_by_iteration: dict[int, str] = Field(default_factory=dict)
    """Iteration → text added to the system prompt of the node's run of that number for the
    record (0: its first run): SyGra's conversation-turn messages, which a
    `graph_config.yaml`'s `inject_system_messages` means."""
    transcript_key: str | None = None
    """State key for the run's full message list (default: `<output key>_transcript`)."""
    history_role_map: dict[Role, Role] = Field(default_factory=dict)
    """In multiturn graphs, relabel history roles for this node (as for `llm`)."""
    structured_output: StructuredOutputConfig | None = None
    """The final answer (after the tool calls) must validate against this schema, as for
    `llm`; an invalid answer is sent back with the error, up to `max_attempts` times
    (these retries do not count toward `max_steps`)."""

    @field_validator("prompt")
    @classmethod
    def _prompt(cls, prompt: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return check_prompt(prompt)

    @model_validator(mode="before")
    @classmethod
    def _sygra_spelling(cls, data: Any, info: ValidationInfo) -> Any:
        return node_keys(data, sygra=in_sygra_file(info))

    @model_validator(mode="after")
    def _check(self) -> AgentNodeConfig:
        unreachable = sorted(t for t in self.inject_system_messages if not 0 <= t < self.max_steps)
        if unreachable:
            raise ValueError(
                f"inject_system_messages turn(s) {unreachable!r} never happen: turns run from "
                f"0 to max_steps - 1 = {self.max_steps - 1}; lower the turn or raise max_steps"
            )
        if "tools" in self.model.parameters:
            raise ValueError(
                "model.parameters.tools is set by the agent from its `tools` list; "
                "remove it from the parameters"
            )
        return self


class AgentNode:
    """Calls the model with tools, runs the tools it asks for, and repeats until it answers.

    Writes the answer to its output key, the run's messages (prompt, assistant turns with
    ``tool_calls``, ``role: tool`` results, the answer) to the transcript key, and the
    prompt's non-system turns and the answer to ``messages``.
    """

    config_model: ClassVar[type[AgentNodeConfig]] = AgentNodeConfig

    def __init__(
        self,
        name: str,
        config: AgentNodeConfig,
        client: ModelClient,
        tools: Sequence[Tool],
        structured: StructuredOutput | None = None,
        *,
        media: MediaContext | None = None,
    ) -> None:
        self.name = name
        self.config = config
        self.client = client
        self.media = media
        self.model_names = (config.model.name,)
        self.tools = {tool.name: tool for tool in tools}
        keys = config.output_key_list()
        self._key = keys[0] if keys else name
        self.structured = structured
        self._placement = structured.placement(keys, name) if structured is not None else None
        if self._placement is not None and self._placement.spread:
            self._key = name  # fields spread over keys: the transcript is `<node>_transcript`
        self._transcript_key = config.transcript_key or f"{self._key}_transcript"
        answer_keys = self._placement.keys if self._placement is not None else (self._key,)
        if self._transcript_key in (*answer_keys, "messages"):
            raise ConfigError(
                f"agent node {name!r}: transcript_key {self._transcript_key!r} collides with "
                f"the answer's key(s) {list(answer_keys)!r} or `messages`; choose another key"
            )
        where = f"graph_config.nodes.{name}"
        self._prompt = parse_prompt(config.prompt, where=f"{where}.prompt")
        self._injected = {
            turn: Template(text, where=f"{where}.inject_system_messages.{turn}")
            for turn, text in config.inject_system_messages.items()
        }
        self._parameters = dict(config.model.parameters)
        if tools:  # an empty `tools` list is refused by some servers: send none
            self._parameters["tools"] = [tool.schema() for tool in tools]
        if structured is not None:
            if structured.form == "tool":
                raise ConfigError(
                    f"agent node {name!r}: model {config.model.name!r} takes schemas as "
                    "`schema_mode: tool`, but an agent's tool calls are its own tools; set "
                    "`structured_output.mode: prompt` on the node, or another schema_mode "
                    "(json_schema, json_object) on the model"
                )
            self._parameters = structured.parameters(self._parameters)

    @classmethod
    def build(cls, name: str, config: AgentNodeConfig, env: BuildEnv) -> AgentNode:
        tools = load_tools(expand_tool_specs(config.tools, env.task_dir), env.task_dir)
        client, structured, media = model_call_parts(name, config, env, config.reply_policy())
        return cls(name, config, client, tools, structured, media=media)

    @property
    def output_keys(self) -> tuple[str, ...]:
        keys = self._placement.keys if self._placement is not None else (self._key,)
        return (*keys, self._transcript_key, "messages")

    def input_keys(self) -> dict[str, YamlPath]:
        """The ``{var}`` keys of the prompt and of the injected system messages."""
        reads = prompt_reads(self._prompt)
        for turn, template in self._injected.items():
            for field in template.variables:
                reads.setdefault(field, ("inject_system_messages", turn))
        return reads

    async def render(self, state: Mapping[str, Any], ctx: NodeContext) -> list[dict[str, Any]]:
        """The first request's messages (history first in multiturn graphs)."""
        return await render_prompt(
            self._prompt,
            state,
            ctx,
            node=self.name,
            role_map=self.config.history_role_map,
            media=self.media,
        )

    async def run(self, state: Mapping[str, Any], ctx: NodeContext) -> Mapping[str, Any]:
        """Loop model call → tool calls until the model answers without calling a tool."""
        rendered = await self.render(state, ctx)
        own = len(rendered) - len(self._prompt)
        structured = self.structured
        conversation = structured.prompt(rendered) if structured is not None else rendered
        injected = {
            turn: template.render(state, record_id=ctx.record_id, node=self.name)
            for turn, template in self._injected.items()
        }
        extra = self.config.inject_by_iteration.get(ctx.iteration)
        if extra is not None:
            conversation = _with_system_text(conversation, extra)
        retries = self.config.retry.max_retries if self.config.retry is not None else None
        used_ids: set[str] = set()
        rejected = 0
        turn = 0
        while turn < self.config.max_steps:
            if turn in injected:
                conversation.append({"role": "system", "content": injected.pop(turn)})
            result = await self.client.chat(conversation, self._parameters, max_retries=retries)
            if not result.tool_calls:
                update: dict[str, Any] = {self._key: result.text}
                if structured is not None and self._placement is not None:
                    value, error = structured.check(result.text)
                    if value is None:
                        rejected += 1
                        failure = structured.rejected(str(error), rejected, ctx.record_id)
                        if failure is not None:
                            raise failure
                        conversation.extend(structured.feedback(result.text, str(error)))
                        continue
                    update = self._placement.update(value)
                reply = {"role": "assistant", "content": result.text}
                conversation.append(reply)
                prompt = rendered[own : own + len(self._prompt)]
                sent = without_media([m for m in prompt if m["role"] != "system"])
                return {
                    **update,
                    **reply_flags(result, node=self.name, model=self.config.model.name),
                    self._transcript_key: without_media(conversation[own:]),
                    "messages": [*sent, reply],
                }
            calls = [
                normalize_tool_call(call, turn, i, used_ids)
                for i, call in enumerate(result.tool_calls)
            ]
            # `content: ""`, never null: some servers answer HTTP 500 to a null content
            conversation.append({"role": "assistant", "content": result.text, "tool_calls": calls})
            conversation.extend(await self._run_tools(calls, ctx))
            turn += 1
        raise NodeError(
            f"record {ctx.record_id!r}, node {self.name!r}: no final answer after "
            f"max_steps={self.config.max_steps} model calls (the model kept calling tools); "
            "raise max_steps or tell the model in the prompt when to answer",
            node=self.name,
        )

    async def _run_tools(
        self, calls: list[dict[str, Any]], ctx: NodeContext
    ) -> list[dict[str, Any]]:
        """One ``role: tool`` message per call, in call order; several calls run concurrently."""
        contents = [""] * len(calls)

        async def one(index: int, call: dict[str, Any]) -> None:
            function = call["function"]
            outcome = await run_tool(self.tools, function["name"], function["arguments"])
            if outcome.error:
                _log.info(
                    "tool call failed",
                    record_id=ctx.record_id,
                    node=self.name,
                    tool=function["name"],
                    error=outcome.content,
                )
            contents[index] = outcome.content

        if len(calls) == 1:
            await one(0, calls[0])
        else:
            async with anyio.create_task_group() as group:
                for index, call in enumerate(calls):
                    group.start_soon(one, index, call)
        return [
            {"role": "tool", "tool_call_id": call["id"], "content": content}
            for call, content in zip(calls, contents, strict=True)
        ]


def _with_system_text(conversation: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    """``conversation`` with ``text`` on a line of its own after the first system message's
    text, or as a new first system message when it has none (or one made of parts)."""
    first = conversation[0] if conversation else None
    if first is not None and first.get("role") == "system" and isinstance(first["content"], str):
        return [{**first, "content": f"{first['content']}\n{text}"}, *conversation[1:]]
    return [{"role": "system", "content": text}, *conversation]
