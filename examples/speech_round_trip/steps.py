"""Helpers of the speech round-trip example."""

from __future__ import annotations

import re
from typing import Any


def same_words(state: dict[str, Any]) -> bool:
    """Whether the transcription has the line's words, ignoring case and punctuation."""

    def words(text: str) -> list[str]:
        return re.findall(r"\w+", text.casefold())

    return words(state["line"]) == words(state["heard"])
