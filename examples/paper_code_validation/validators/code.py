"""Validation steps for the code-generation example."""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from typing import Any

MAX_ATTEMPTS = 3
_FENCE = re.compile(r"```(?:python)?\n(.*?)```", re.DOTALL)


def _code_of(solution: str) -> str:
    fenced = _FENCE.search(solution)
    return fenced.group(1) if fenced else solution


def check_validity(state: Mapping[str, Any]) -> bool:
    """True when the solution (or its fenced code block) parses as Python with a function."""
    try:
        tree = ast.parse(_code_of(str(state.get("solution", ""))))
    except SyntaxError:
        return False
    return any(isinstance(node, ast.FunctionDef) for node in ast.walk(tree))


class RouteBasedOnValidity:
    """Retry generation until the code is valid, at most MAX_ATTEMPTS times."""

    def apply(self, state: Mapping[str, Any]) -> str:
        attempts = sum(1 for m in state.get("messages", []) if m.get("role") == "assistant")
        if state.get("is_valid") or attempts >= MAX_ATTEMPTS:
            return "END"
        return "generate"
