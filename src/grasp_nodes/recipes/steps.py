"""Python steps the recipes use (routing conditions and parsers)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["judge_verdict", "parse_judgement", "revision_request", "route_evolution"]

_SCORE = re.compile(r"SCORE:\s*(\d+(?:\.\d+)?)", re.IGNORECASE)


def route_evolution(state: Mapping[str, Any]) -> str:
    """Evol-Instruct's router: the evolution drawn for this record."""
    return str(state["evolution"])


def revision_request(state: Mapping[str, Any]) -> str:
    """The prompt for the next generation: the task, plus the judge's feedback after round 1."""
    feedback = state.get("feedback")
    if not feedback:
        return str(state["prompt"])
    return (
        f"{state['prompt']}\n\nYour previous answer was:\n{state['response']}\n\n"
        f"Improve it using this feedback:\n{feedback}"
    )


def parse_judgement(state: Mapping[str, Any]) -> dict[str, Any]:
    """Score (0 when the judge gave none) and feedback from the judge's reply; counts rounds."""
    text = str(state.get("judgement", ""))
    match = _SCORE.search(text)
    score = float(match.group(1)) if match else 0.0
    feedback = text[match.end() :].strip() if match else text.strip()
    return {"score": score, "feedback": feedback, "judge_rounds": state.get("judge_rounds", 0) + 1}


def judge_verdict(state: Mapping[str, Any]) -> str:
    """`accept` when the score reaches the threshold or the rounds run out, else `revise`."""
    threshold = float(state.get("judge_threshold", 8))
    rounds = int(state.get("judge_max_rounds", 3))
    if state["score"] >= threshold or state["judge_rounds"] >= rounds:
        return "accept"
    return "revise"
