"""How a structured-output request carries its JSON schema, and where the reply's JSON is.

Four forms, chosen per model by the models file's ``schema_mode`` (and per node by
``structured_output.mode``):

- ``json_schema``: ``response_format: {type: json_schema, json_schema: {name, schema,
  strict}}`` (OpenAI, Azure, vLLM, Mistral; litellm turns it into Ollama's ``format``);
- ``json_object``: ``response_format: {type: json_object, schema}``, the form llama.cpp's
  server enforces with a grammar (servers that ignore ``schema`` still answer JSON, and the
  prompt instruction describes the schema too);
- ``tool``: one function named after the schema, whose parameters are the schema, forced
  with ``tool_choice``; the reply is that call's arguments;
- ``prompt``: no request parameter, the schema in the prompt.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final, Literal

from grasp_core.errors import ConfigError
from grasp_nodes.clients import ChatResult

__all__ = [
    "NATIVE_PROVIDERS",
    "SchemaForm",
    "choose_form",
    "form_parameters",
    "parameters_set_by",
    "reply_text",
]

SchemaForm = Literal["json_schema", "json_object", "tool", "prompt"]

NATIVE_PROVIDERS = frozenset({"openai", "azure", "hosted_vllm", "mistral", "ollama", "ollama_chat"})
"""Routes whose ``schema_mode: auto`` is ``json_schema``. For ``ollama``/``ollama_chat``
litellm (1.106, ``llms/ollama/*/transformation.py``) turns it into Ollama's ``format``
(the schema itself; ``json`` for ``json_object``)."""

_PARAMETERS: Final[dict[str, tuple[str, ...]]] = {
    "json_schema": ("response_format",),
    "json_object": ("response_format",),
    "tool": ("tools", "tool_choice"),
    "prompt": (),
}


def choose_form(mode: str, schema_mode: str, provider: str, *, node: str, model: str) -> SchemaForm:
    """The form for node ``mode`` (``auto``/``native``/``prompt``) calling ``model``, whose
    entry has ``schema_mode`` on a ``provider/...`` route; ``native`` with no native form is
    a ``ConfigError`` naming both settings."""
    if mode == "prompt":
        return "prompt"
    form: SchemaForm
    if schema_mode == "auto":
        form = "json_schema" if provider in NATIVE_PROVIDERS else "prompt"
    else:
        form = schema_mode  # type: ignore[assignment]  # the models file's Literal
    if mode == "native" and form == "prompt":
        why = (
            f"model {model!r} has `schema_mode: prompt` in the models file"
            if schema_mode == "prompt"
            else f"{provider!r} routes do not take response_format (those that do: "
            f"{', '.join(sorted(NATIVE_PROVIDERS))})"
        )
        raise ConfigError(
            f"node {node!r}: structured_output.mode is native but {why}; use mode: prompt "
            f"or auto, or set schema_mode (json_schema, json_object or tool) on model "
            f"{model!r} in the models file"
        )
    return form


def form_parameters(
    form: SchemaForm, *, name: str, schema: dict[str, Any], strict: bool, description: str
) -> dict[str, Any]:
    """The request parameters that carry ``schema`` in ``form`` (none for ``prompt``)."""
    if form == "json_schema":
        spec = {"name": name, "schema": schema, "strict": strict}
        return {"response_format": {"type": "json_schema", "json_schema": spec}}
    if form == "json_object":
        return {"response_format": {"type": "json_object", "schema": schema}}
    if form == "tool":
        function: dict[str, Any] = {"name": name}
        if description:
            function["description"] = description
        function["parameters"] = schema
        return {
            "tools": [{"type": "function", "function": function}],
            "tool_choice": {"type": "function", "function": {"name": name}},
        }
    return {}


def parameters_set_by(form: SchemaForm) -> tuple[str, ...]:
    """The request parameters ``form`` sets, which a node's parameters may not set too."""
    return _PARAMETERS[form]


def reply_text(form: SchemaForm, name: str, result: ChatResult) -> str:
    """The JSON text to validate: in ``tool`` form the arguments of the call to ``name``
    (of the first call when none has that name), else the reply's text (also when a server
    answered the forced call with plain text)."""
    if form == "tool" and result.tool_calls:
        calls = [call.get("function") or {} for call in result.tool_calls]
        chosen = next((f for f in calls if f.get("name") == name), calls[0])
        arguments = chosen.get("arguments") if isinstance(chosen, Mapping) else None
        if isinstance(arguments, str):
            return arguments
        return json.dumps(arguments if arguments is not None else {})
    return result.text
