"""Saying what to change when a server refuses a request: the form its JSON schema took.

Servers disagree on how a schema may be sent (llama.cpp's server takes ``response_format:
{type: json_object, schema}`` and answers 500 to ``json_schema``), so a refused structured
request names the models file's ``schema_mode`` to set instead. The explanation is logged
once per model and run (by the client, see :meth:`RetryingClient.chat`); every record that
meets the refusal still fails with it as its reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

__all__ = ["explain_rejection", "schema_form"]

_ALTERNATIVES: Final = ("json_object", "tool", "prompt", "json_schema")
"""The ``schema_mode`` values to suggest, most likely to work first."""


def schema_form(params: Mapping[str, Any]) -> str | None:
    """How a request carries a JSON schema: ``json_schema``, ``json_object`` (the
    ``response_format`` type), ``tool`` (a forced function call), or None."""
    response_format = params.get("response_format")
    if isinstance(response_format, Mapping):
        kind = response_format.get("type")
        if kind in ("json_schema", "json_object"):
            return str(kind)
    choice = params.get("tool_choice")
    if isinstance(choice, Mapping) and choice.get("type") == "function":
        return "tool"
    return None


def explain_rejection(
    error: str, params: Mapping[str, Any], *, model: str, api_base: str | None
) -> str:
    """The message for a refused request: what was sent, the server's answer (``error``,
    such as ``"model 'm': HTTP 500: ..."``), and what to set."""
    answer = error.removeprefix(f"model {model!r}: ")
    server = f"the server at {api_base}" if api_base else "the server"
    where = f"model {model!r}: {server}"
    form = schema_form(params)
    if form is None:
        return (
            f"{where} rejected the request ({answer}); it is not retried: check the "
            f"request parameters of model {model!r} (models file and node)"
        )
    sent = "a forced tool call (tool_choice)" if form == "tool" else f"response_format {form}"
    first, *others = (mode for mode in _ALTERNATIVES if mode != form)
    return (
        f"{where} rejected {sent} ({answer}); set `schema_mode: {first}` (or "
        f"{', '.join(others)}) on model {model!r} in the models file"
    )
