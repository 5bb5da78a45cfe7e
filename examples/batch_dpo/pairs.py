"""Python steps used by the dpo_pairs task."""

from collections.abc import Mapping
from typing import Any


def name_answers(results: Mapping[str, str], state: Mapping[str, Any]) -> dict[str, str]:
    """The replies, keyed by model label, as the state keys the judge's prompt reads."""
    return {"answer_strong": results["strong"], "answer_weak": results["weak"]}


def to_conversation(state: Mapping[str, Any]) -> dict[str, Any]:
    """A DPO conversation: the judge's preferred answer is `chosen` (ties: the strong one)."""
    strong_wins = state["score_strong"] >= state["score_weak"]
    chosen, rejected = (
        (state["answer_strong"], state["answer_weak"])
        if strong_wins
        else (state["answer_weak"], state["answer_strong"])
    )
    turns = [
        {"role": "user", "content": state["question"]},
        {"role": "assistant", "chosen": chosen, "rejected": rejected},
    ]
    return {"conversation": turns, "margin": abs(state["score_strong"] - state["score_weak"])}
