"""What the mock server answers: reply text, ``[[mock:...]]`` markers, faults and latency.

Everything here is deterministic given the request and the server's seed, so a test can
predict every answer. Random fault draws are a function of ``(seed, request key,
occurrence number)`` rather than of a shared stream: the same requests fail in every run
even when they arrive in a different order under concurrency.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from grasp_core.errors import ConfigError
from grasp_core.mock_server._structured import STRUCTURED_MARKERS
from grasp_core.mock_server._tool_calls import (
    ToolCall,
    calls_answer,
    strip_tool_calls,
    trailing_tool_messages,
)

__all__ = [
    "FAULT_KINDS",
    "Completion",
    "Directive",
    "FaultPlan",
    "Latency",
    "ReplyMode",
    "RequestError",
    "complete",
    "media_summary",
    "message_texts",
    "parse_markers",
    "request_key",
]

FAULT_KINDS: Final = ("429", "500", "503", "timeout", "drop", "malformed", "empty", "blank")
ReplyMode = Literal["echo", "lorem"]

_MARKER = re.compile(r"\[\[mock:([^\]]*)\]\]")
_MARKER_OPTIONS: Final = ("hang", "latency", "retry_after")
_LOREM_TEXT: Final = (
    "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "
    "incididunt ut labore et dolore magna aliqua enim ad minim veniam quis nostrud "
    "exercitation ullamco laboris nisi aliquip ex ea commodo consequat duis aute irure "
    "in reprehenderit voluptate velit esse cillum fugiat nulla pariatur excepteur sint "
    "occaecat cupidatat non proident sunt culpa qui officia deserunt mollit anim id est "
    "laborum"
)
_LOREM: Final = tuple(_LOREM_TEXT.split())


_LATENCY_FORMS: Final = "'0.2', 'fixed:0.2' or 'lognormal:MEDIAN:SIGMA' (e.g. 'lognormal:0.5:0.5')"


class RequestError(ValueError):
    """The request cannot be answered as asked; the server replies 400 with this message."""


# --- latency -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Latency:
    """How long the server waits before answering a model call.

    Build one with :meth:`fixed`, :meth:`lognormal` or :meth:`parse`. A lognormal latency
    has the given median, and ``sigma`` is the standard deviation of its logarithm: with
    ``sigma=0.5`` about 95% of waits fall within 0.37x..2.7x the median.
    """

    kind: Literal["fixed", "lognormal"]
    seconds: float
    """The fixed wait, or the median of the lognormal one, in seconds."""
    sigma: float = 0.0
    """Standard deviation of ``log(wait)``; only for ``lognormal``."""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.seconds) and self.seconds >= 0):
            raise ConfigError(f"latency seconds must be a finite number >= 0, got {self.seconds!r}")
        if not (math.isfinite(self.sigma) and self.sigma >= 0):
            raise ConfigError(f"latency sigma must be a finite number >= 0, got {self.sigma!r}")

    @classmethod
    def fixed(cls, seconds: float) -> Latency:
        """Always wait ``seconds``."""
        return cls("fixed", float(seconds))

    @classmethod
    def lognormal(cls, median: float, sigma: float) -> Latency:
        """Wait a lognormally distributed time with this median (seconds) and log-sigma."""
        return cls("lognormal", float(median), float(sigma))

    @classmethod
    def parse(cls, text: str) -> Latency:
        """Read ``"0.2"``, ``"fixed:0.2"`` or ``"lognormal:0.5:0.5"`` (median:sigma)."""
        parts = text.strip().split(":")
        try:
            if len(parts) == 1:
                return cls.fixed(float(parts[0]))
            if len(parts) == 2 and parts[0] == "fixed":
                return cls.fixed(float(parts[1]))
            if len(parts) == 3 and parts[0] == "lognormal":
                return cls.lognormal(float(parts[1]), float(parts[2]))
        except ValueError as exc:
            raise ConfigError(f"bad latency {text!r} ({exc}); use {_LATENCY_FORMS}") from None
        raise ConfigError(f"bad latency {text!r}; use {_LATENCY_FORMS}")

    def sample(self, rng: random.Random) -> float:
        """One wait in seconds, drawn from ``rng`` when the latency is random."""
        if self.kind == "fixed" or self.sigma == 0.0 or self.seconds == 0.0:
            return self.seconds
        return self.seconds * math.exp(rng.gauss(0.0, self.sigma))


# --- reading requests ---------------------------------------------------------------------


def message_texts(messages: Sequence[Any]) -> list[str]:
    """The text of each message; list contents keep their text parts joined by newlines.

    Image, audio and other non-text parts are ignored.
    """
    texts: list[str] = []
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        texts.append(_content_text(content))
    return texts


def _content_text(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            part["text"]
            for part in content
            if isinstance(part, dict)
            and part.get("type") == "text"
            and isinstance(part.get("text"), str)
        )
    return ""


_MEDIA_PARTS: Final = {"image_url": "image", "input_audio": "audio", "audio_url": "audio"}


def media_summary(message: object) -> str:
    """``"[2 images, 1 audio]"`` for a message with media parts (OpenAI content parts, or
    Ollama's ``images`` list); ``""`` without media. The echo reply appends it."""
    if not isinstance(message, dict):
        return ""
    counts = {"image": 0, "audio": 0}
    content = message.get("content")
    for part in content if isinstance(content, list) else ():
        kind = _MEDIA_PARTS.get(str(part.get("type"))) if isinstance(part, dict) else None
        if kind is not None:
            counts[kind] += 1
    images = message.get("images")
    counts["image"] += len(images) if isinstance(images, list) else 0
    described = [
        f"{count} {kind}{'s' if count > 1 and kind == 'image' else ''}"
        for kind, count in counts.items()
        if count
    ]
    return f"[{', '.join(described)}]" if described else ""


def request_key(model: str, messages: Sequence[Any]) -> str:
    """sha256 of the canonical JSON of model and messages: identifies "the same request"."""
    canonical = json.dumps(
        {"model": model, "messages": messages},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def strip_markers(text: str) -> str:
    """``text`` without any ``[[mock:...]]`` marker (tool-call markers included)."""
    return _MARKER.sub("", strip_tool_calls(text))


@dataclass(frozen=True, slots=True)
class Directive:
    """What the ``[[mock:...]]`` markers of one request ask for."""

    fault: str | None = None
    count: int | None = None
    """Fault only the first ``count`` times this exact request is seen; None = always."""
    retry_after: float | None = None
    latency: float | None = None
    hang: float | None = None


def parse_markers(texts: Sequence[str]) -> Directive:
    """Collect the markers in ``texts``: at most one fault kind, any options.

    Forms: ``[[mock:429]]``, ``[[mock:429:2]]``, ``[[mock:429:2:retry_after=1]]``,
    ``[[mock:latency=0.3]]``, ``[[mock:timeout:hang=2]]``. Raises :class:`RequestError`
    for an unknown kind or option, or two different faults in one request.
    """
    fault: str | None = None
    count: int | None = None
    options: dict[str, float] = {}
    for text in texts:
        for match in _MARKER.finditer(strip_tool_calls(text)):
            marker = match.group(0)
            kind, marker_count = _parse_marker(match.group(1), marker, options)
            if kind is None:
                continue
            if fault is not None and (kind, marker_count) != (fault, count):
                raise RequestError(
                    f"conflicting mock faults {fault!r} and {marker!r} in one request"
                )
            fault, count = kind, marker_count
    return Directive(
        fault, count, options.get("retry_after"), options.get("latency"), options.get("hang")
    )


def _parse_marker(
    body: str, marker: str, options: dict[str, float]
) -> tuple[str | None, int | None]:
    kind: str | None = None
    count: int | None = None
    for position, token in enumerate(body.split(":")):
        token = token.strip()
        name, sep, value = token.partition("=")
        if sep:
            if name not in _MARKER_OPTIONS:
                raise RequestError(
                    f"unknown option {name!r} in {marker!r}; known: {_MARKER_OPTIONS}"
                )
            try:
                seconds = float(value)
            except ValueError:
                raise RequestError(f"option {name!r} in {marker!r} needs a number") from None
            if not (math.isfinite(seconds) and seconds >= 0):
                raise RequestError(f"option {name!r} in {marker!r} must be >= 0")
            options[name] = seconds
        elif position == 0:
            if token in STRUCTURED_MARKERS:
                return None, None  # a reply marker, read by _structured
            if token not in FAULT_KINDS:
                raise RequestError(
                    f"unknown mock marker {marker!r}; kinds are {FAULT_KINDS}, "
                    "or `call:TOOL {json arguments}` for a tool call"
                )
            kind = token
        elif position == 1 and kind is not None and token.isdigit():
            count = int(token)
        else:
            raise RequestError(f"cannot read {token!r} in mock marker {marker!r}")
    return kind, count


# --- answering ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Completion:
    """The model's answer to one request, before it is dressed in a dialect's JSON."""

    content: str
    finish_reason: Literal["stop", "length", "tool_calls"]
    prompt_tokens: int
    completion_tokens: int
    tool_calls: tuple[ToolCall, ...] = ()
    """With ``finish_reason="tool_calls"``, the calls (and ``content`` is unused)."""


def complete(
    messages: Sequence[Any],
    texts: Sequence[str],
    *,
    model: str,
    key: str,
    mode: ReplyMode,
    max_tokens: int | None,
    tools: bool = False,
    json_reply: str | None = None,
    forced: ToolCall | None = None,
    blank: bool = False,
) -> Completion:
    """The deterministic reply to ``messages``.

    After trailing ``role: tool`` messages the reply is ``"tool results: "`` and their
    contents joined by ``"; "``. Otherwise, with ``tools`` offered, call markers in the
    last user message are answered as tool calls. Otherwise ``echo`` answers the text of
    the last user message (the last message when none is from the user), followed by a
    count of its media parts such as ``[1 image, 1 audio]``, and ``lorem``
    answers 20-60 pseudo-words seeded by ``key``. Tokens are whitespace-separated words,
    counted with markers removed; ``max_tokens`` truncates a text reply to that many words
    and then ``finish_reason`` is ``"length"``. A request that asks for JSON is answered
    ``json_reply`` (see ``_structured``) unless it is answered with tool calls. A ``forced``
    call (a ``tool_choice`` naming one function) is the answer whatever the messages.
    ``blank`` answers nothing at all (no text, no tool calls, ``finish_reason: "stop"``), as
    a real server now and then does.
    """
    prompt_tokens = max(1, sum(len(strip_markers(text).split()) for text in texts))
    if blank:
        return Completion("", "stop", prompt_tokens, 0)
    tool_start = trailing_tool_messages(messages)
    calls = calls_answer(messages, texts) if tools and tool_start == len(messages) else []
    if forced is not None:
        calls = [forced]
    if calls:
        spoken = sum(len(f"{call.name} {call.arguments}".split()) for call in calls)
        return Completion("", "tool_calls", prompt_tokens, spoken, tuple(calls))
    if json_reply is not None:
        content = json_reply
    elif tool_start < len(messages):
        results = (strip_markers(text).strip() for text in texts[tool_start:])
        content = "tool results: " + "; ".join(results)
    elif mode == "lorem":
        rng = random.Random(int(key[:16], 16))
        content = " ".join(rng.choice(_LOREM) for _ in range(rng.randint(20, 60)))
    else:
        index = len(texts) - 1
        for position in range(len(messages) - 1, -1, -1):
            message = messages[position]
            if isinstance(message, dict) and message.get("role") == "user":
                index = position
                break
        content = strip_markers(texts[index]).strip() if texts else ""
        if texts:
            content = " ".join(filter(None, (content, media_summary(messages[index]))))
    finish_reason: Literal["stop", "length"] = "stop"
    words = content.split()
    if max_tokens is not None and len(words) > max_tokens:
        words = words[:max_tokens]
        content = " ".join(words)
        finish_reason = "length"
    return Completion(content, finish_reason, prompt_tokens, len(words))


class FaultPlan:
    """Decides which requests fail, and counts how often each request was seen."""

    def __init__(self, *, rate: float, kinds: Sequence[str], seed: int) -> None:
        self._rate = rate
        self._kinds = tuple(kinds)
        self._seed = seed
        self._seen: dict[str, int] = {}

    def decide(self, key: str, directive: Directive) -> str | None:
        """The fault to inject for this occurrence of request ``key``, or None."""
        if directive.fault is not None:
            if directive.count is None:
                return directive.fault
            seen = self._seen[key] = self._seen.get(key, 0) + 1
            return directive.fault if seen <= directive.count else None
        if self._rate <= 0.0:
            return None
        # Only tracked when random faults are on, so a long benchmark does not grow memory.
        seen = self._seen[key] = self._seen.get(key, 0) + 1
        digest = hashlib.sha256(f"{self._seed}:{key}:{seen}".encode()).digest()
        draw = int.from_bytes(digest[:8], "big") / 2**64
        if draw >= self._rate:
            return None
        return self._kinds[int.from_bytes(digest[8:16], "big") % len(self._kinds)]

    def reset(self) -> None:
        """Forget every request seen, so count markers fault again."""
        self._seen.clear()
