"""Turn the model's free-text answer into one of the dataset's labels."""

from __future__ import annotations

import re
from typing import Any

LABELS = ("tone", "chirp", "noise", "silence")


def parse_label(state: dict[str, Any]) -> dict[str, Any]:
    """The first label word in the reply (``unknown`` when there is none), and whether it
    matches the reference label."""
    words = re.findall(r"[a-z]+", str(state["reply"]).lower())
    predicted = next((word for word in words if word in LABELS), "unknown")
    return {"predicted": predicted, "correct": predicted == state["label"]}
