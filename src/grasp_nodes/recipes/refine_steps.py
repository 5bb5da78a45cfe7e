"""Python steps of the ``self_refinement`` recipe (SyGra's recipe of that name, in GraSP)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["read_verdict", "record_iteration", "refine_or_accept", "start_refinement"]


def start_refinement(settings: Mapping[str, Any], state: Mapping[str, Any]) -> dict[str, Any]:
    """The loop's counters from the node's ``params`` (``max_iterations``, default 2;
    ``score_threshold``, default 4), and an empty trajectory unless the record has one."""
    trajectory = state.get("reflection_trajectory")
    return {
        "_self_refine_iteration": 0,
        "_self_refine_max_iterations": int(settings.get("max_iterations", 2)),
        "_self_refine_score_threshold": int(settings.get("score_threshold", 4)),
        "reflection_trajectory": list(trajectory) if isinstance(trajectory, list) else [],
    }


def read_verdict(state: Mapping[str, Any]) -> dict[str, Any]:
    """The judge's reply as ``self_refine_judge`` (score, is_good, critique, and the reply
    itself as ``raw``). A candidate is good when the judge says so, else when its score
    reaches the threshold."""
    raw = state.get("self_refine_verdict")
    verdict: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    score = _as_int(verdict.get("score"))
    said = verdict.get("is_good")
    if isinstance(said, str):
        good = said.strip().lower() in {"true", "yes", "y", "pass", "good"}
    elif isinstance(said, bool):
        good = said
    else:
        good = score is not None and score >= int(state.get("_self_refine_score_threshold", 4))
    critique = verdict.get("critique")
    return {
        "self_refine_judge": {
            "score": score,
            "is_good": good,
            "critique": critique,
            "raw": dict(verdict) if verdict else raw,
        },
        "self_refine_is_good": good,
        "self_refine_critique": critique or "",
    }


def record_iteration(settings: Mapping[str, Any], state: Mapping[str, Any]) -> dict[str, Any]:
    """Append this round's candidate and verdict to ``reflection_trajectory``; the keys read
    are the node's ``candidate_key`` and ``judge_key`` params."""
    candidate_key = str(settings.get("candidate_key", "candidate"))
    judge_key = str(settings.get("judge_key", "self_refine_judge"))
    iteration = int(state.get("_self_refine_iteration", 0))
    entry = {
        "iteration": iteration,
        "candidate_key": candidate_key,
        "candidate": state.get(candidate_key),
        "judge": state.get(judge_key),
    }
    trajectory = state.get("reflection_trajectory")
    earlier = list(trajectory) if isinstance(trajectory, list) else []
    return {"reflection_trajectory": [*earlier, entry], "_self_refine_iteration": iteration + 1}


def refine_or_accept(state: Mapping[str, Any]) -> str:
    """``accept`` once the judge accepts the candidate or the rounds run out, else
    ``refine``."""
    if state.get("self_refine_is_good"):
        return "accept"
    rounds = int(state.get("_self_refine_iteration", 0))
    return "accept" if rounds >= int(state.get("_self_refine_max_iterations", 2)) else "refine"


def _as_int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None
