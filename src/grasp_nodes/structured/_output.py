"""Asking a model for a structured reply: request shape, validation, retries with feedback.

Each attempt is one model call (transport retries for 429s and the like happen inside it).
The node's result is journaled once, when the node finishes: a resumed run repeats the
whole structured exchange of a node that had not finished, and never one that had.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from grasp_core.errors import ConfigError, ModelCallError
from grasp_core.plugin import ModelSpec, get_logger
from grasp_nodes.clients import ChatResult, ModelClient
from grasp_nodes.structured._config import StructuredOutputConfig
from grasp_nodes.structured._forms import (
    SchemaForm,
    choose_form,
    form_parameters,
    parameters_set_by,
    reply_text,
)
from grasp_nodes.structured._reply import feedback_messages, prompt_instruction, read_reply
from grasp_nodes.structured._schema import field_names, resolve_model, schema_name, strict_schema

__all__ = ["Placement", "StructuredOutput", "StructuredOutputError"]

_log = get_logger(__name__)


class StructuredOutputError(ModelCallError):
    """Every attempt's reply failed the node's `structured_output` schema.

    A model failure like any other: ``multi_llm`` with ``allow_partial`` keeps the other
    models' replies, and the record lands in the failures file with this reason."""


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a validated object goes in the record state.

    When every output key names a field of the schema, each key gets its field's value;
    otherwise the node has one output key, which gets the whole object (a dict).
    """

    keys: tuple[str, ...]
    spread: bool

    def update(self, value: Mapping[str, Any]) -> dict[str, Any]:
        """The state update for one validated (JSON-safe) object."""
        if self.spread:
            return {key: value.get(key) for key in self.keys}
        return {self.keys[0]: dict(value)}


class StructuredOutput:
    """One node's structured-output contract with one model route."""

    def __init__(
        self,
        model: type[BaseModel],
        *,
        node: str,
        name: str,
        form: SchemaForm,
        max_attempts: int,
        strict: bool | None = None,
    ) -> None:
        self.model = model
        self.node = node
        self.name = name
        self.form: SchemaForm = form
        self.max_attempts = max_attempts
        self.fields = field_names(model)
        self.json_schema: dict[str, Any] = model.model_json_schema()
        strict_form = strict_schema(self.json_schema)
        if strict and strict_form is None:
            raise ConfigError(
                f"node {node!r}: structured_output.strict is true but the schema has optional "
                "fields or free-form dicts, which strict mode cannot express; make every "
                "field required, or set strict: false"
            )
        self.strict = strict_form is not None and strict is not False
        """OpenAI's ``strict`` flag as sent (``json_schema`` form)."""
        self.schema: dict[str, Any] = (
            strict_form if self.strict and strict_form else self.json_schema
        )
        """The JSON schema sent: the strict form when ``strict`` is on."""
        self._parameters = form_parameters(
            form,
            name=name,
            schema=self.schema,
            strict=self.strict,
            description=str(self.json_schema.get("description") or ""),
        )
        self._instruction = prompt_instruction(self.json_schema)

    @property
    def native(self) -> bool:
        """Whether the schema travels in request parameters (every form but ``prompt``)."""
        return self.form != "prompt"

    @classmethod
    def build(
        cls,
        config: StructuredOutputConfig | None,
        *,
        node: str,
        model: str,
        spec: ModelSpec,
        parameters: Mapping[str, Any],
        task_dir: Path | None,
    ) -> StructuredOutput | None:
        """The contract for ``node`` calling ``model`` (its models-file entry ``spec``: the
        route and ``schema_mode``); None when disabled."""
        if config is None or not config.enabled:
            return None
        form = choose_form(config.mode, spec.schema_mode, spec.provider, node=node, model=model)
        taken = sorted(key for key in parameters_set_by(form) if key in parameters)
        if taken:
            raise ConfigError(
                f"node {node!r}: model.parameters.{taken[0]} is set by structured_output "
                f"(model {model!r} takes the schema in the {form} form); remove it from the "
                "parameters"
            )
        try:
            resolved = resolve_model(config.schema_, name=node, task_dir=task_dir)
        except ConfigError as exc:
            raise type(exc)(f"structured_output.schema: {exc}") from None
        return cls(
            resolved,
            node=node,
            name=schema_name(config.schema_, node),
            form=form,
            max_attempts=config.max_attempts,
            strict=config.strict,
        )

    def placement(self, output_keys: Sequence[str], default: str) -> Placement:
        """Where values go (see :class:`Placement`); raise ConfigError for keys that fit
        neither rule."""
        keys = tuple(output_keys) or (default,)
        if "messages" in keys:
            raise ConfigError(
                f"node {self.node!r}: output key 'messages' holds the chat transcript; store "
                "the structured reply under another key"
            )
        if all(key in self.fields for key in keys) and output_keys:
            return Placement(keys, spread=True)
        if len(keys) == 1:
            return Placement(keys, spread=False)
        strangers = [key for key in keys if key not in self.fields]
        raise ConfigError(
            f"node {self.node!r}: output_keys {list(keys)!r} include {strangers!r}, which are "
            f"not fields of the structured_output schema (fields: {list(self.fields)!r}); name "
            "only fields to store each in its own key, or give one key for the whole object"
        )

    def parameters(self, parameters: Mapping[str, Any]) -> dict[str, Any]:
        """The request parameters, with those that carry the schema in this form."""
        return {**parameters, **self._parameters}

    def prompt(self, messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """The messages to send: in the ``prompt`` and ``json_object`` forms (servers may
        ignore the latter's ``schema``) the JSON schema instruction is appended to the last
        message (a new text part when its content is a list of parts)."""
        sent = [dict(m) for m in messages]
        if self.form not in ("prompt", "json_object") or not sent:
            return sent
        last = sent[-1]
        content = last.get("content")
        if isinstance(content, list):
            last["content"] = [*content, {"type": "text", "text": self._instruction}]
        else:
            text = str(content or "")
            last["content"] = f"{text}\n\n{self._instruction}" if text else self._instruction
        return sent

    def reply(self, result: ChatResult) -> str:
        """The JSON text of a reply: the forced call's arguments in ``tool`` form."""
        return reply_text(self.form, self.name, result)

    def check(self, text: str) -> tuple[dict[str, Any] | None, str | None]:
        """``(value, None)`` for a valid reply, else ``(None, the validation error)``."""
        return read_reply(self.model, text)

    def feedback(self, reply: str, error: str) -> list[dict[str, Any]]:
        """Messages that show the model its invalid reply and the error."""
        return feedback_messages(reply, error)

    def rejected(self, error: str, attempt: int, record_id: str) -> StructuredOutputError | None:
        """Log an invalid reply; the error to raise when it was the last attempt, else None."""
        _log.info(
            "structured reply invalid",
            record_id=record_id,
            node=self.node,
            attempt=attempt,
            error=error,
        )
        if attempt < self.max_attempts:
            return None
        return StructuredOutputError(
            f"record {record_id!r}, node {self.node!r}: no reply matched the structured_output "
            f"schema in {self.max_attempts} attempt(s); last error: {error}. Make the prompt "
            "describe the fields, raise max_attempts, or loosen the schema",
            node=self.node,
            attempts=self.max_attempts,
        )

    async def ask(
        self,
        client: ModelClient,
        messages: Sequence[Mapping[str, Any]],
        parameters: Mapping[str, Any],
        *,
        max_retries: int | None,
        record_id: str,
    ) -> tuple[dict[str, Any], ChatResult]:
        """Call until a reply validates: ``(value, that reply)`` (its ``text`` the JSON, also
        in ``tool`` form); raise
        :class:`StructuredOutputError` with the last error after ``max_attempts`` calls."""
        conversation = self.prompt(messages)
        params = self.parameters(parameters)
        for attempt in range(1, self.max_attempts + 1):
            result = await client.chat(conversation, params, max_retries=max_retries)
            text = self.reply(result)
            value, error = self.check(text)
            if value is not None:
                return value, replace(result, text=text, tool_calls=[])
            assert error is not None
            failure = self.rejected(error, attempt, record_id)
            if failure is not None:
                raise failure
            conversation.extend(self.feedback(text, error))
        raise AssertionError("unreachable: the last attempt raises")
