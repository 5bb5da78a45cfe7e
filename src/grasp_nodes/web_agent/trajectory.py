"""A web agent run as data: its steps (the trajectory), how it ended (the result), and the
goal evaluations that may end it. Every text stored passes through the run's secret
masking, so a key that reaches a page or a reply never reaches the output."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar, Final

from grasp_core.plugin import redact
from grasp_nodes.web_agent.actions import Action
from grasp_nodes.web_agent.page import Observation

__all__ = ["GoalCheck", "Trajectory"]

_THOUGHT_CHARS: Final = 1000
"""Most characters of the model's words kept per step."""


def _clean(value: Any) -> Any:
    """``value`` with every string in it masked."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _clean(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_clean(item) for item in value]
    return value


class Trajectory:
    """The steps of one run, and how it ended."""

    def __init__(self, max_steps: int) -> None:
        self.max_steps = max_steps
        self.steps: list[dict[str, Any]] = []
        self.reason = "max_steps"
        self.success = False
        self.message: str | None = None
        self.final_url: str | None = None
        self.eval: GoalCheck | None = None

    def history(self) -> str:
        """Earlier steps and their outcomes, for the model."""
        if not self.steps:
            return "No earlier steps."
        lines = ["Earlier steps:"]
        for entry in self.steps:
            action = entry.get("action")
            said = (
                f"{action['name']} {json.dumps(action['arguments'])}" if action else "(no action)"
            )
            outcome = "ok" if entry["ok"] else f"failed: {entry['error']}"
            lines.append(f"{entry['step']}. {said} -> {outcome}"[:400])
        return "\n".join(lines)

    def start(self, step: int, seen: Observation, thought: str) -> dict[str, Any]:
        """A new step, on the page as observed; returned to be completed."""
        entry: dict[str, Any] = {
            "step": step,
            "url": redact(seen.url),
            "title": redact(seen.title),
            "thought": redact(thought.strip()[:_THOUGHT_CHARS]),
            "action": None,
            "ok": False,
            "error": None,
        }
        self.steps.append(entry)
        return entry

    def done(self, entry: dict[str, Any], action: Action) -> None:
        """The step's action was taken."""
        entry.update(action=_clean(action.record()), ok=True)

    def failed(self, entry: dict[str, Any], reason: str, action: Action | None = None) -> None:
        """The step failed: no valid action, or one the page did not take."""
        entry.update(action=_clean(action.record()) if action else None, error=redact(reason))

    def end(self, entry: dict[str, Any], action: Action) -> None:
        """The model ended the run with ``done(answer)`` or ``fail(reason)``."""
        self.done(entry, action)
        self.reason = action.name
        self.success = action.name == "done"
        said = action.arguments.get("answer", action.arguments.get("reason"))
        self.message = redact(str(said))

    def checked(self, entry: dict[str, Any], check: GoalCheck, min_confidence: float) -> bool:
        """Record a goal evaluation; True when it ends the run (the goal is reached)."""
        entry["goal_eval"] = check.record()
        self.eval = check
        if check.achieved and (check.confidence or 0.0) >= min_confidence:
            self.reason, self.success = "goal_eval", True
            return True
        return False

    def result(self) -> dict[str, Any]:
        """``agent_result``: how the run ended."""
        return {
            "success": self.success,
            "completion_reason": self.reason,
            "agent_message": self.message,
            "num_steps": len(self.steps),
            "failed_steps": sum(1 for entry in self.steps if not entry["ok"]),
            "truncated": self.reason == "max_steps",
            "final_url": self.final_url,
            "eval_confidence": self.eval.confidence if self.eval else None,
            "eval_reasoning": self.eval.reasoning if self.eval else None,
        }


@dataclass(frozen=True, slots=True)
class GoalCheck:
    """One answer to "is the goal reached?"."""

    achieved: bool
    confidence: float | None
    reasoning: str
    error: str | None = None

    SYSTEM: ClassVar[str] = (
        "You judge whether a web agent has reached its goal, from the page it is on now "
        "and the steps it took. Answer with the report_goal tool."
    )
    _TOOL: ClassVar[str] = "report_goal"

    @staticmethod
    def question(goal: str, history: str, page: str) -> str:
        """The evaluation request's text."""
        return f"Goal: {goal}\n{history}\nThe page now:\n{page}"

    @classmethod
    def parameters(cls) -> dict[str, Any]:
        """``tools`` and a ``tool_choice`` forcing the report."""
        schema = {
            "type": "object",
            "properties": {
                "achieved": {"type": "boolean"},
                "confidence": {"type": "number", "minimum": 0, "maximum": 1},
                "reasoning": {"type": "string"},
            },
            "required": ["achieved", "confidence", "reasoning"],
            "additionalProperties": False,
        }
        tool = {"type": "function", "function": {"name": cls._TOOL, "parameters": schema}}
        return {
            "tools": [tool],
            "tool_choice": {"type": "function", "function": {"name": cls._TOOL}},
        }

    @classmethod
    def read(cls, text: str, tool_calls: list[dict[str, Any]]) -> GoalCheck:
        """The report in a reply; one that cannot be read is a check that did not pass."""
        calls = [c for c in tool_calls if (c.get("function") or {}).get("name") == cls._TOOL]
        raw = (calls[0].get("function") or {}).get("arguments") if calls else text
        try:
            report = json.loads(raw) if isinstance(raw, str) else raw
            if not isinstance(report, dict):
                raise TypeError
            achieved, confidence = report["achieved"], report["confidence"]
            if not isinstance(achieved, bool) or not isinstance(confidence, int | float):
                raise TypeError
        except (ValueError, TypeError, KeyError):
            shown = " ".join(str(raw).split())[:200]
            return cls(False, None, "", error=redact(f"unreadable goal report: {shown!r}"))
        reasoning = redact(str(report.get("reasoning", "")))[:_THOUGHT_CHARS]
        return cls(achieved, max(0.0, min(1.0, float(confidence))), reasoning)

    def record(self) -> dict[str, Any]:
        """The check as a trajectory entry stores it."""
        fields = {"achieved": self.achieved, "confidence": self.confidence}
        if self.error is not None:
            return {**fields, "error": self.error}
        return {**fields, "reasoning": self.reasoning}
