"""What real servers do differently, copied on request so the default test suite meets it.

By default (``like="openai"``) the mock behaves as OpenAI's API does. ``like="llamacpp"``
switches on everything llama.cpp's server (llama-cpp-python 0.3's too) was seen doing;
each behaviour can also be switched on alone:

- ``reject_null_content``: HTTP 500 when an assistant turn carrying ``tool_calls`` has
  ``content: null`` or no ``content`` (its chat template adds the content to a string).
  OpenAI accepts both, so the default mock does too;
- ``reject_json_schema``: HTTP 500 to ``response_format: {type: json_schema}``; the server
  takes ``{type: json_object, schema: {...}}`` instead (which every profile answers with
  JSON valid for that schema);
- ``raw_newlines``: JSON replies and tool-call arguments carry bare newline characters
  inside their strings (grammar-constrained output), which strict JSON parsers refuse;
- ``tools_need_choice``: ``tools`` are ignored unless the request sends ``tool_choice``.

The 500 bodies have llama-cpp-python's shape: ``{"error": {"message", "type":
"internal_server_error", "param": null, "code": null}}``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Final

from grasp_core.errors import ConfigError
from grasp_core.mock_server._dialects import ChatRequest, json_response
from grasp_core.mock_server._http import Response
from grasp_core.mock_server._replies import Completion
from grasp_core.mock_server._structured import raw_newlines

__all__ = ["PROFILES", "QUIRKS", "Quirks"]

QUIRKS: Final = ("reject_null_content", "reject_json_schema", "raw_newlines", "tools_need_choice")
PROFILES: Final[dict[str, tuple[str, ...]]] = {"openai": (), "llamacpp": QUIRKS}
"""``like`` profiles: the quirks each switches on."""

_NULL_CONTENT: Final = 'can only concatenate str (not "NoneType") to str'
_NO_CONTENT: Final = "'dict object' has no attribute 'content'"
_JSON_SCHEMA: Final = (
    'response_format type must be one of "text" or "json_object", but got: json_schema'
)


@dataclass(frozen=True, slots=True)
class Quirks:
    """The real-server behaviours one mock server copies (see the module docstring)."""

    reject_null_content: bool = False
    reject_json_schema: bool = False
    raw_newlines: bool = False
    tools_need_choice: bool = False

    @classmethod
    def like(cls, profile: str, **switches: bool) -> Quirks:
        """The quirks of ``profile`` (``openai`` or ``llamacpp``), plus those ``switches``
        turn on."""
        if profile not in PROFILES:
            raise ConfigError(
                f"like must be one of {', '.join(PROFILES)} (the server to behave like), "
                f"got {profile!r}"
            )
        on = {name: True for name in PROFILES[profile]}
        on.update({name: True for name, value in switches.items() if value})
        return cls(**on)

    def refusal(self, chat: ChatRequest) -> Response | None:
        """The HTTP 500 a llama.cpp server answers to this request, or None."""
        if self.reject_json_schema and chat.json is not None and chat.json.kind == "json_schema":
            return _server_error(_JSON_SCHEMA)
        if self.reject_null_content:
            for message in chat.messages:
                if isinstance(message, dict) and message.get("tool_calls"):
                    if "content" not in message:
                        return _server_error(_NO_CONTENT)
                    if message["content"] is None:
                        return _server_error(_NULL_CONTENT)
        return None

    def heeds_tools(self, chat: ChatRequest) -> bool:
        """Whether the model may answer with tool calls: tools are offered, ``tool_choice``
        is not ``"none"``, and (with ``tools_need_choice``) it was sent at all."""
        if chat.tools is None or chat.tool_choice == "none":
            return False
        return not (self.tools_need_choice and chat.tool_choice is None)

    def dress(self, answer: Completion) -> Completion:
        """``answer`` with bare newlines in its tool-call arguments (``raw_newlines``)."""
        if not self.raw_newlines or not answer.tool_calls:
            return answer
        calls = tuple(
            dataclasses.replace(call, arguments=raw_newlines(call.arguments))
            for call in answer.tool_calls
        )
        return dataclasses.replace(answer, tool_calls=calls)


def _server_error(message: str) -> Response:
    error = {"message": message, "type": "internal_server_error", "param": None, "code": None}
    return json_response({"error": error}, 500)
