"""Yes/no checks on a reply: empty, truncated, refusal, code fences, JSON."""

from __future__ import annotations

import json
import re

__all__ = [
    "asks_for_json",
    "is_blank",
    "is_broken_json",
    "is_refusal",
    "is_truncated",
    "unclosed_code_fence",
]

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_FIRST_FENCED_BLOCK = re.compile(r"^ {0,3}(`{3,}|~{3,})[^\n]*\n(.*?)^ {0,3}\1[ \t]*$", re.M | re.S)
_REFUSAL = re.compile(
    r"\b(?:"
    r"i(?:'m| am)? (?:sorry|afraid),? but (?:i|as an ai)"
    r"|i(?: can(?:no|')t| cannot| won't| will not|(?:'m| am) unable to|(?:'m| am) not able to)"
    r" (?:help|assist|provide|comply|fulfil|fulfill|do that|create|write|"
    r"generate|answer|support|engage|share|give)"
    r"|as an ai(?: language model)?,? i (?:can(?:no|')t|cannot|don't|do not|am unable)"
    r"|i must (?:decline|refuse)"
    r"|(?:this|that|your) request (?:violates|goes against)"
    r")",
    re.IGNORECASE,
)
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})
"""Typographic apostrophes (I’m, can’t), as most models write them, read as `'`."""
_REFUSAL_WINDOW = 300
"""Refusals open a reply; later apologies inside a long answer are not refusals."""
_MENTIONS_JSON = re.compile(r"\bjson\b", re.IGNORECASE)
_ENDINGS = frozenset(".!?。！？…\"'”’»)]}>|`*_~")
_CONTINUATIONS = frozenset(",;:-–—([{/\\&+=")
_LONG_REPLY_WORDS = 20


def is_blank(text: str) -> bool:
    """No visible characters."""
    return not text.strip()


def unclosed_code_fence(text: str) -> bool:
    """A Markdown code fence (``` or ~~~) is opened and never closed (CommonMark rules: the
    closing fence uses the same character, at least as many, and nothing after it)."""
    opened: str | None = None
    for line in text.splitlines():
        match = _FENCE.match(line)
        if match is None:
            continue
        fence, rest = match.group(1), match.group(2)
        if opened is None:
            if fence[0] == "`" and "`" in rest:
                continue
            opened = fence
        elif fence[0] == opened[0] and len(fence) >= len(opened) and not rest.strip():
            opened = None
    return opened is not None


def is_truncated(text: str) -> bool:
    """The reply looks cut off: an unclosed code fence, a last character that calls for more
    (`,` `:` `(` `-`...), or a reply of 20+ words that stops mid-sentence (no closing
    punctuation, bracket, quote or fence)."""
    stripped = text.rstrip()
    if not stripped:
        return False
    if unclosed_code_fence(stripped):
        return True
    last = stripped[-1]
    if last in _CONTINUATIONS:
        return True
    if last in _ENDINGS:
        return False
    return len(stripped.split()) >= _LONG_REPLY_WORDS and last.isalnum()


def is_refusal(text: str) -> bool:
    """The reply opens by declining the request ("I'm sorry, but I can't...", "As an AI
    language model, I cannot..."). English phrasings only."""
    return _REFUSAL.search(text[:_REFUSAL_WINDOW].translate(_APOSTROPHES)) is not None


def asks_for_json(prompt: str) -> bool:
    """The prompt mentions JSON."""
    return _MENTIONS_JSON.search(prompt) is not None


def is_broken_json(text: str) -> bool:
    """Neither the reply nor its first fenced code block parses as JSON."""
    candidates = [text.strip()]
    block = _FIRST_FENCED_BLOCK.search(text)
    if block is not None:
        candidates.append(block.group(2).strip())
    for candidate in candidates:
        if not candidate:
            continue
        try:
            json.loads(candidate)
        except ValueError:
            continue
        return False
    return True
