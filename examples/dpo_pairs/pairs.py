"""Python steps used by the dpo_pairs task."""

from collections.abc import Mapping
from typing import Any


def to_dpo(results: Mapping[str, str], state: Mapping[str, Any]) -> dict[str, str]:
    """Turn the replies (keyed by model label) into a DPO pair.

    The strong model's reply is preferred. For a judged preference instead, add an llm
    node after this one that compares the two and swaps them when the judge disagrees.
    """
    return {"chosen": results["strong"], "rejected": results["weak"]}
