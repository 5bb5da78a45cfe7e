"""Python steps of the `quality_judge` recipe: the rubric router and the `judge` block.

The recipe's llm nodes answer through `structured_output`, so the values these steps read
are already validated (scores are integers 1-5, the category one of `CATEGORIES`).
"""

from __future__ import annotations

from collections.abc import Mapping
from statistics import mean
from typing import Any

__all__ = ["CATEGORIES", "CRITERIA", "combine", "route_category"]

CATEGORIES = ("math", "coding", "reasoning", "open_qa", "closed_qa", "creative")
"""Task categories; each has its own response rubric in the recipe."""
CRITERIA = (
    "instruction_following",
    "accuracy",
    "relevance",
    "clarity",
    "completeness",
    "conciseness",
)
"""Response criteria, each scored 1-5."""


def route_category(state: Mapping[str, Any]) -> str:
    """The rubric branch: the record's category."""
    return str(state["category"])


def combine(state: Mapping[str, Any]) -> dict[str, Any]:
    """The `judge` block: question quality, category, the per-criterion response scores
    and their mean (`response_quality`)."""
    rating = state["rubric_scores"]
    scores = {criterion: int(rating[criterion]) for criterion in CRITERIA}
    return {
        "question_quality": int(state["question_quality"]),
        "question_rationale": state.get("question_rationale"),
        "category": state["category"],
        "subcategory": state.get("subcategory"),
        "rubric": state["category"],
        "response_scores": scores,
        "response_quality": round(mean(scores.values()), 2),
        "response_rationale": rating.get("response_rationale"),
    }
