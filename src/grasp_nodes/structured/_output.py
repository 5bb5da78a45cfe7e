"""Asking a model for a structured reply: request shape, validation, retries with feedback.

Each attempt is one model call (transport retries for 429s and the like happen inside it).
The node's result is journaled once, when the node finishes: a resumed run repeats the
whole structured exchange of a node that had not finished, and never one that had.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from grasp_core.errors import ConfigError, ModelCallError
from grasp_core.plugin import get_logger
from grasp_nodes.clients import ChatResult, ModelClient
from grasp_nodes.structured._config import StructuredOutputConfig
from grasp_nodes.structured._reply import feedback_messages, prompt_instruction, read_reply
from grasp_nodes.structured._schema import field_names, resolve_model, schema_name, strict_schema

__all__ = ["NATIVE_PROVIDERS", "Placement", "StructuredOutput", "StructuredOutputError"]

NATIVE_PROVIDERS = frozenset({"openai", "azure", "hosted_vllm", "mistral", "ollama", "ollama_chat"})
"""Routes that take ``response_format: {type: json_schema}``. For ``ollama``/``ollama_chat``
litellm (1.106, ``llms/ollama/*/transformation.py``) turns it into Ollama's ``format``
(the schema itself; ``json`` for ``json_object``)."""

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
        native: bool,
        max_attempts: int,
        strict: bool | None = None,
    ) -> None:
        self.model = model
        self.node = node
        self.native = native
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
        use_strict = strict_form is not None and strict is not False
        self.response_format: dict[str, Any] = {
            "type": "json_schema",
            "json_schema": {
                "name": name,
                "schema": strict_form if use_strict and strict_form else self.json_schema,
                "strict": use_strict,
            },
        }
        self._instruction = prompt_instruction(self.json_schema)

    @classmethod
    def build(
        cls,
        config: StructuredOutputConfig | None,
        *,
        node: str,
        provider: str,
        parameters: Mapping[str, Any],
        task_dir: Path | None,
    ) -> StructuredOutput | None:
        """The contract for ``node`` calling a ``provider/...`` route; None when disabled."""
        if config is None or not config.enabled:
            return None
        if "response_format" in parameters:
            raise ConfigError(
                f"node {node!r}: model.parameters.response_format is set by structured_output; "
                "remove it from the parameters"
            )
        native = config.mode == "native" or (config.mode == "auto" and provider in NATIVE_PROVIDERS)
        if config.mode == "native" and provider not in NATIVE_PROVIDERS:
            raise ConfigError(
                f"node {node!r}: structured_output.mode is native but {provider!r} routes do "
                f"not take response_format (those that do: {', '.join(sorted(NATIVE_PROVIDERS))}"
                "); use mode: prompt or auto"
            )
        try:
            model = resolve_model(config.schema_, name=node, task_dir=task_dir)
        except ConfigError as exc:
            raise type(exc)(f"structured_output.schema: {exc}") from None
        return cls(
            model,
            node=node,
            name=schema_name(config.schema_, node),
            native=native,
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
        """The request parameters, with ``response_format`` on the native path."""
        if not self.native:
            return dict(parameters)
        return {**parameters, "response_format": self.response_format}

    def prompt(self, messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """The messages to send: on the prompt path the JSON schema instruction is appended
        to the last message (a new text part when its content is a list of parts)."""
        sent = [dict(m) for m in messages]
        if self.native or not sent:
            return sent
        last = sent[-1]
        content = last.get("content")
        if isinstance(content, list):
            last["content"] = [*content, {"type": "text", "text": self._instruction}]
        else:
            text = str(content or "")
            last["content"] = f"{text}\n\n{self._instruction}" if text else self._instruction
        return sent

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
        """Call until a reply validates: ``(value, that reply)``; raise
        :class:`StructuredOutputError` with the last error after ``max_attempts`` calls."""
        conversation = self.prompt(messages)
        params = self.parameters(parameters)
        for attempt in range(1, self.max_attempts + 1):
            result = await client.chat(conversation, params, max_retries=max_retries)
            value, error = self.check(result.text)
            if value is not None:
                return value, result
            assert error is not None
            failure = self.rejected(error, attempt, record_id)
            if failure is not None:
                raise failure
            conversation.extend(self.feedback(result.text, error))
        raise AssertionError("unreachable: the last attempt raises")
