"""The ``multi_llm`` node: one prompt sent to several models at once, replies keyed by label.

Each label gets its own :class:`~grasp_nodes.llm.LLMNode` (same prompt, its own model,
client and backend limiter), so prompt parsing, rendering and the transcript logic are the
``llm`` node's own. The calls run concurrently in one task group.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Literal

import anyio
from pydantic import Field, ValidationInfo, field_validator, model_validator

from grasp_core.errors import ConfigError, ModelCallError, NodeError, RecordError
from grasp_core.plugin import (
    REPLY_FLAGS,
    BuildEnv,
    NodeConfig,
    NodeContext,
    UserCallable,
    YamlPath,
    load_callable,
)
from grasp_nodes._model_call import ReplyChecks, refuse_media_model
from grasp_nodes._sygra_keys import in_sygra_file, node_keys
from grasp_nodes.clients import client_for
from grasp_nodes.llm import LLMNode, LLMNodeConfig, ModelRef
from grasp_nodes.prompting.parts import MediaOptions, media_context
from grasp_nodes.structured import StructuredOutput, StructuredOutputConfig

__all__ = ["MultiLLMNode", "MultiLLMNodeConfig"]

_REPLY = "_reply"
"""The output key of each per-label llm node (internal; never reaches the record state). The
leading underscore keeps it apart from any structured-output field name."""

_NOT_FORWARDED = frozenset(
    {"node_type", "output_keys", "pre_process", "post_process", "description", "model"}
)
"""Keys of this node's config that the per-label llm nodes must not take over."""


class MultiLLMNodeConfig(ReplyChecks, NodeConfig):
    """A `multi_llm` node."""

    node_type: Literal["multi_llm"] = "multi_llm"
    prompt: list[dict[str, Any]]
    """Role messages sent to every model, as for `llm`: `- system: "..."`, `- user: "{var}"`."""
    media: MediaOptions = Field(default_factory=MediaOptions)
    """Image and audio parts in the prompt, as for `llm` (`auto` audio style per model)."""
    models: dict[str, ModelRef]
    """Label → model: `{strong: {name: big}, weak: {name: small, parameters: {...}}}`."""
    output_role: Literal["system", "user", "assistant"] = "assistant"
    """Role of the reply appended to `messages` (only with `append_to_messages`)."""
    multi_llm_post_process: str | Callable[..., Any] | None = None
    """Dotted path to `f(results, state) -> dict` (sync or async) combining the replies;
    `results` maps label → reply text (the validated dict with `structured_output`), the
    returned keys must be among `output_keys`."""
    allow_partial: bool = False
    """Keep the replies of the models that answered when others fail; failures are listed
    under `<key>_errors`. The node still fails when every model fails."""
    append_to_messages: str | None = None
    """Label whose reply is appended to the record's `messages` (by default none is)."""
    structured_output: StructuredOutputConfig | None = None
    """Every model's reply must validate against this schema (as for `llm`); each label
    then maps to the validated object (a dict) instead of the reply text."""
    structured_outputs: dict[str, StructuredOutputConfig] = Field(default_factory=dict)
    """Label → a schema for that model's reply only (over `structured_output`)."""

    @model_validator(mode="before")
    @classmethod
    def _sygra_spelling(cls, data: Any, info: ValidationInfo) -> Any:
        return node_keys(data, models_key="models", sygra=in_sygra_file(info))

    @field_validator("prompt")
    @classmethod
    def _prompt(cls, prompt: list[dict[str, Any]]) -> list[dict[str, Any]]:
        checked: list[dict[str, Any]] = LLMNodeConfig._prompt(prompt)
        return checked

    @field_validator("models")
    @classmethod
    def _models(cls, models: dict[str, ModelRef]) -> dict[str, ModelRef]:
        if not models:
            raise ValueError("`models` needs at least one `label: {name: ...}` entry")
        for label in models:
            if not label.strip():
                raise ValueError(f"model label {label!r} is empty; name each model entry")
        return models

    @model_validator(mode="after")
    def _append_label(self) -> MultiLLMNodeConfig:
        unknown = sorted(set(self.structured_outputs) - set(self.models))
        if unknown:
            raise ValueError(
                f"structured_outputs names {', '.join(map(repr, unknown))}, not a label in "
                f"`models` ({', '.join(map(repr, self.models))}); use one of them"
            )
        label = self.append_to_messages
        if label is not None and label not in self.models:
            raise ValueError(
                f"append_to_messages names {label!r}, which is not a label in `models` "
                f"({', '.join(map(repr, self.models))}); use one of them"
            )
        return self


class MultiLLMNode:
    """Sends the rendered prompt to every model concurrently and stores the replies by label.

    Without ``multi_llm_post_process`` the node writes one key: ``{label: text, ...}``.
    With it, the callable's returned dict is the update (keys among ``output_keys``).
    """

    config_model: ClassVar[type[MultiLLMNodeConfig]] = MultiLLMNodeConfig

    def __init__(
        self,
        name: str,
        config: MultiLLMNodeConfig,
        nodes: Mapping[str, LLMNode],
        combine: UserCallable | None = None,
    ) -> None:
        self.name = name
        self.config = config
        self.nodes = dict(nodes)
        self.combine = combine
        self.model_names = tuple(dict.fromkeys(ref.name for ref in config.models.values()))
        keys = config.output_key_list() or [name]
        if combine is None and len(keys) > 1:
            raise ConfigError(
                f"multi_llm node {name!r} writes one key (a dict of replies by label) but "
                f"output_keys is {keys!r}; give one key, or add multi_llm_post_process to "
                "split the replies over several keys"
            )
        self._keys = tuple(keys)
        self.errors_key = f"{keys[0] if len(keys) == 1 else name}_errors"
        """Where ``allow_partial`` lists the models that failed (label → reason)."""

    @classmethod
    def build(cls, name: str, config: MultiLLMNodeConfig, env: BuildEnv) -> MultiLLMNode:
        shared = set(LLMNodeConfig.model_fields) & set(type(config).model_fields)
        common = {key: getattr(config, key) for key in shared - _NOT_FORWARDED}
        nodes: dict[str, LLMNode] = {}
        for label, ref in config.models.items():
            llm_config = LLMNodeConfig.model_validate(
                {**common, "model": ref, "output_keys": _REPLY}
            )
            structured = StructuredOutput.build(
                config.structured_outputs.get(label, config.structured_output),
                node=name,
                model=ref.name,
                spec=env.models.get(ref.name),
                parameters=ref.parameters,
                task_dir=env.task_dir,
            )
            media = media_context(env, config.media, ref.name)
            refuse_media_model(name, ref, env)
            client = client_for(env, ref.name, config.reply_policy(), ref.cache, batch=ref.batch)
            nodes[label] = LLMNode(name, llm_config, client, structured, media=media)
        combine = None
        if config.multi_llm_post_process is not None:
            combine = load_callable(
                config.multi_llm_post_process, env.task_dir, what="multi_llm_post_process"
            )
        return cls(name, config, nodes, combine)

    @property
    def output_keys(self) -> tuple[str, ...]:
        extra = (self.errors_key,) if self.config.allow_partial else ()
        messages = ("messages",) if self.config.append_to_messages is not None else ()
        return (*self._keys, *extra, *messages)

    def input_keys(self) -> dict[str, YamlPath]:
        """The prompt's ``{var}`` keys (every model gets the same prompt)."""
        return next(iter(self.nodes.values())).input_keys()

    async def run(self, state: Mapping[str, Any], ctx: NodeContext) -> Mapping[str, Any]:
        replies, errors = await self._call_all(state, ctx)
        if errors and not self.config.allow_partial:
            label = next(label for label in self.nodes if label in errors)
            raise self._failed(label, errors[label], ctx)
        if not replies:
            raise self._all_failed(errors, ctx)
        results = {label: replies[label][_REPLY] for label in self.nodes if label in replies}
        update: dict[str, Any] = {}
        if self.combine is None:
            update[self._keys[0]] = results
        else:
            update.update(await self._combined(results, state, ctx))
        if self.config.allow_partial:
            update[self.errors_key] = {
                label: str(errors[label]) for label in self.nodes if label in errors
            }
        appended = self.config.append_to_messages
        if appended is not None and appended in replies:
            update["messages"] = replies[appended]["messages"]
        flags = [f for label in self.nodes for f in replies.get(label, {}).get(REPLY_FLAGS, ())]
        if flags:
            update[REPLY_FLAGS] = flags
        return update

    async def _call_all(
        self, state: Mapping[str, Any], ctx: NodeContext
    ) -> tuple[dict[str, Mapping[str, Any]], dict[str, ModelCallError]]:
        """Run every model's call concurrently; without ``allow_partial`` the first model
        failure cancels the others. A prompt error (the same for every model) is raised."""
        replies: dict[str, Mapping[str, Any]] = {}
        errors: dict[str, ModelCallError] = {}
        fatal: list[RecordError] = []

        async with anyio.create_task_group() as tg:

            async def call(label: str, node: LLMNode) -> None:
                try:
                    replies[label] = await node.run(state, ctx)
                except ModelCallError as exc:
                    errors[label] = exc
                    if not self.config.allow_partial:
                        tg.cancel_scope.cancel()
                except RecordError as exc:
                    fatal.append(exc)
                    tg.cancel_scope.cancel()

            for label, node in self.nodes.items():
                tg.start_soon(call, label, node)
        if fatal:
            raise fatal[0]
        return replies, errors

    async def _combined(
        self, results: dict[str, Any], state: Mapping[str, Any], ctx: NodeContext
    ) -> dict[str, Any]:
        assert self.combine is not None
        value = await self.combine(results, state)
        where = (
            f"record {ctx.record_id!r}, node {self.name!r}: "
            f"multi_llm_post_process {self.combine.name!r}"
        )
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise NodeError(
                f"{where} returned a {type(value).__name__}; return a dict of state updates "
                f"with keys among output_keys {list(self._keys)!r}",
                node=self.name,
            )
        extra = set(value) - set(self._keys)
        if extra:
            raise NodeError(
                f"{where} returned key(s) {', '.join(sorted(map(repr, extra)))} outside "
                f"output_keys {list(self._keys)!r}; add them to output_keys or stop "
                "returning them",
                node=self.name,
            )
        return dict(value)

    def _failed(self, label: str, exc: ModelCallError, ctx: NodeContext) -> ModelCallError:
        model = self.config.models[label].name
        return ModelCallError(
            f"record {ctx.record_id!r}, node {self.name!r}: model label {label!r} "
            f"(model {model!r}) failed: {exc}; fix that model entry or its backend, or set "
            "allow_partial: true to keep the other models' replies",
            node=self.name,
            status=exc.status,
            attempts=exc.attempts,
            kind=exc.kind,
        )

    def _all_failed(self, errors: Mapping[str, ModelCallError], ctx: NodeContext) -> ModelCallError:
        reasons = "; ".join(
            f"{label!r} (model {self.config.models[label].name!r}): {errors[label]}"
            for label in self.nodes
            if label in errors
        )
        first = next(iter(errors.values()))
        return ModelCallError(
            f"record {ctx.record_id!r}, node {self.name!r}: every model failed, so "
            f"allow_partial has nothing to keep: {reasons}; check the models' entries and "
            "backends",
            node=self.name,
            status=first.status,
            attempts=max(exc.attempts for exc in errors.values()),
            kind=first.kind,
        )
