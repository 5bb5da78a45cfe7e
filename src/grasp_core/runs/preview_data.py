"""What ``grasp preview`` shows of a sampled record: each node run with its state update
and its model calls (the prompt as sent, media shown as a placeholder, the raw reply,
tokens, latency, cost). Plain dataclasses, turned into JSON by ``Preview.to_dict``."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from grasp_core.models.pricing import Price
from grasp_core.observe.calls import ModelCall

__all__ = ["CallView", "NodeRun", "RecordPreview", "media_placeholder"]


@dataclass(frozen=True, slots=True)
class CallView:
    """One model call of a node run, ready to show."""

    model: str
    messages: list[dict[str, Any]]
    """The prompt as sent; each media part is ``{"type": ..., "media": "image/png, 2,048
    bytes"}`` instead of its data."""
    response: str
    """The reply's text, unparsed (a structured reply's JSON, an agent's tool request...)."""
    tool_calls: list[dict[str, Any]]
    finish_reason: str | None
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    cost_usd: float | None
    """At the model's price (None: unpriced); a cached call cost nothing this time but is
    priced as if it had been billed."""
    cached: bool
    """Answered from the response cache, not the backend."""
    attempts: int
    parameters: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, call: ModelCall, price: Price | None) -> CallView:
        cost = price.cost(call.prompt_tokens, call.completion_tokens) if price else None
        return cls(
            model=call.model,
            messages=[_without_media(m) for m in call.messages],
            response=call.text,
            tool_calls=call.tool_calls,
            finish_reason=call.finish_reason,
            prompt_tokens=call.prompt_tokens,
            completion_tokens=call.completion_tokens,
            seconds=call.seconds,
            cost_usd=cost,
            cached=call.cached,
            attempts=call.attempts,
            parameters=call.parameters,
        )


@dataclass(slots=True)
class NodeRun:
    """One run of one node for a record (a loop's node runs once per iteration)."""

    node: str
    iteration: int
    update: dict[str, Any]
    """The state change: the keys the node (and its hooks) returned."""
    calls: list[CallView] = field(default_factory=list)

    @property
    def prompt_tokens(self) -> int:
        return sum(c.prompt_tokens for c in self.calls)

    @property
    def completion_tokens(self) -> int:
        return sum(c.completion_tokens for c in self.calls)

    @property
    def seconds(self) -> float:
        """Seconds spent in its model calls (a node without calls: 0)."""
        return sum(c.seconds for c in self.calls)

    @property
    def cost_usd(self) -> float | None:
        """The calls' cost; None when one of them is unpriced."""
        costs = [c.cost_usd for c in self.calls]
        return None if None in costs else sum(c for c in costs if c is not None)


@dataclass(slots=True)
class RecordPreview:
    """One sampled record: its input, its node runs in the order they finished, and the
    output record the run would write (or why it failed)."""

    record_id: str
    input: dict[str, Any]
    nodes: list[NodeRun] = field(default_factory=list)
    output: dict[str, Any] | None = None
    """The shaped output record (None: failed, or filtered out by the output map)."""
    failure: dict[str, Any] | None = None
    """``{"node": ..., "error": ..., "reason": ...}`` when the record failed."""

    @property
    def calls(self) -> list[CallView]:
        return [call for run in self.nodes for call in run.calls]


def _without_media(message: Mapping[str, Any]) -> dict[str, Any]:
    """``message`` with each media part's data replaced by :func:`media_placeholder`."""
    content = message.get("content")
    if not isinstance(content, list):
        return dict(message)
    parts = [
        part
        if not isinstance(part, Mapping) or part.get("type") == "text"
        else {"type": part.get("type"), "media": media_placeholder(part)}
        for part in content
    ]
    return {**message, "content": parts}


def media_placeholder(part: Mapping[str, Any]) -> str:
    """``"image/png, 2,048 bytes"`` for a content part carrying a data URL or base64 data
    (audio's ``input_audio.format`` names its type); a remote URL is shown as itself."""
    payload = next((v for v in part.values() if isinstance(v, Mapping)), part)
    data = payload.get("url") or payload.get("data") or payload.get("file_data")
    kind = str(part.get("type") or "media")
    if not isinstance(data, str):
        return kind
    mime = f"{kind.removeprefix('input_')}/{payload['format']}" if "format" in payload else kind
    if data.startswith("data:"):
        header, _, data = data.partition(",")
        mime = header.removeprefix("data:").split(";")[0] or mime
    elif data.startswith(("http://", "https://")):
        return f"{mime}, {data}"
    return f"{mime}, {_decoded_size(data):,} bytes"


def _decoded_size(data: str) -> int:
    """Bytes that base64 ``data`` decodes to (its length when it is not base64)."""
    try:
        return len(base64.b64decode(data, validate=True))
    except (binascii.Error, ValueError):
        return len(data)
