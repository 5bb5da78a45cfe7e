"""Every heuristic tag of one record, its flags and the heuristic score."""

from __future__ import annotations

from typing import Any

from grasp_core.plugin import count_tokens
from grasp_nodes.quality.checks import (
    asks_for_json,
    is_blank,
    is_broken_json,
    is_refusal,
    is_truncated,
    unclosed_code_fence,
)
from grasp_nodes.quality.language import detect_language
from grasp_nodes.quality.lexical import mtld, repetition_ratio, type_token_ratio, words
from grasp_nodes.quality.text import RecordText

__all__ = ["FLAG_NAMES", "flags_of", "heuristic_score", "heuristics"]

FLAG_NAMES = (
    "empty",
    "truncated",
    "refusal",
    "unclosed_code_fence",
    "broken_json",
    "repetitive",
)
"""Checks that mark a record as suspect; each failed one is listed in `quality.flags`."""


def heuristics(
    text: RecordText,
    *,
    ngram: int = 3,
    expects_json: bool | None = None,
) -> dict[str, Any]:
    """The `quality.heuristics` block of a record (see docs/how-to/quality-tagging.md)."""
    dialogue = text.dialogue
    every = text.all_text
    response = text.response
    reply = text.last_response
    response_words = words(response)
    language, confidence = detect_language(every)
    json_requested = asks_for_json(text.prompt) if expects_json is None else expects_json
    ttr = type_token_ratio(response_words)
    diversity = mtld(response_words)
    return {
        "turns": len(dialogue),
        "user_turns": sum(t.role == "user" for t in dialogue),
        "assistant_turns": sum(t.role == "assistant" for t in dialogue),
        "chars": len(every),
        "words": len(words(every)),
        "tokens": count_tokens(every),
        "response_chars": len(response),
        "response_words": len(response_words),
        "response_tokens": count_tokens(response),
        "repetition_ratio": round(repetition_ratio(response_words, ngram), 4),
        "type_token_ratio": round(ttr, 4) if ttr is not None else None,
        "mtld": round(diversity, 2) if diversity is not None else None,
        "language": language,
        "language_confidence": confidence,
        "empty": not dialogue or is_blank(reply),
        "empty_turns": sum(is_blank(t.text) for t in dialogue),
        "truncated": is_truncated(reply),
        "refusal": is_refusal(reply),
        "unclosed_code_fence": unclosed_code_fence(response),
        "json_requested": json_requested,
        "broken_json": json_requested and is_broken_json(reply),
    }


def flags_of(tags: dict[str, Any], *, repetition_threshold: float = 0.3) -> list[str]:
    """Names of the failed checks, in `FLAG_NAMES` order."""
    failed = {name for name in FLAG_NAMES if tags.get(name) is True}
    if tags.get("repetition_ratio", 0.0) > repetition_threshold:
        failed.add("repetitive")
    return [name for name in FLAG_NAMES if name in failed]


def heuristic_score(flags: list[str]) -> int:
    """5 with no flag, one point less per flag, at least 1; `empty` alone gives 1."""
    if "empty" in flags:
        return 1
    return max(1, 5 - len(flags))
