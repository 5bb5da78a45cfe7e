"""Python steps used by the quickstart task."""

from collections.abc import Mapping
from typing import Any


def count_words(state: Mapping[str, Any]) -> int:
    """Words in the answer: a cheap pure function, so the task runs it inline."""
    return len(str(state["answer"]).split())
