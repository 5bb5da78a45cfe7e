"""Word-level measures: words, repetition, type-token ratio and MTLD."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import regex

__all__ = ["MTLD_THRESHOLD", "mtld", "repetition_ratio", "type_token_ratio", "words"]

MTLD_THRESHOLD = 0.72
"""McCarthy & Jarvis's factor size: a factor ends when the running TTR falls to it."""

_WORD = regex.compile(r"[\p{L}\p{N}\p{M}]+(?:['’\-][\p{L}\p{N}\p{M}]+)*")


def words(text: str) -> list[str]:
    """Lowercased words: runs of letters, digits and marks, with inner `'` or `-` kept."""
    return [w.lower() for w in _WORD.findall(text)]


def type_token_ratio(tokens: Sequence[str]) -> float | None:
    """Distinct tokens over tokens; None for no tokens."""
    if not tokens:
        return None
    return len(set(tokens)) / len(tokens)


def repetition_ratio(tokens: Sequence[str], n: int = 3) -> float:
    """Fraction of word n-grams that repeat an earlier one (0 with fewer than ``n`` words)."""
    grams = [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
    if not grams:
        return 0.0
    return (len(grams) - len(set(grams))) / len(grams)


def mtld(tokens: Sequence[str], threshold: float = MTLD_THRESHOLD) -> float | None:
    """Measure of Textual Lexical Diversity (McCarthy & Jarvis 2010), bidirectional.

    A pass walks the tokens keeping the running type-token ratio; each time it falls to
    ``threshold`` a factor is counted and the count restarts. The leftover segment adds a
    partial factor ``(1 - ttr) / (1 - threshold)``. A pass scores ``tokens / factors``; MTLD
    is the mean of the forward and the backward pass. None when it is undefined: no tokens,
    or a text so varied that neither pass completes any part of a factor.
    """
    forward = _mtld_pass(tokens, threshold)
    backward = _mtld_pass(list(reversed(tokens)), threshold)
    if forward is None or backward is None:
        return None
    return (forward + backward) / 2


def _mtld_pass(tokens: Iterable[str], threshold: float) -> float | None:
    factors = 0.0
    total = 0
    types: set[str] = set()
    count = 0
    ttr = 1.0
    for token in tokens:
        total += 1
        count += 1
        types.add(token)
        ttr = len(types) / count
        if ttr <= threshold:
            factors += 1
            types.clear()
            count = 0
            ttr = 1.0
    factors += (1.0 - ttr) / (1.0 - threshold)
    if factors == 0:
        return None
    return total / factors
