"""Python steps of the MBPP-style task: pull the code out of a reply and run the tests."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

_FENCE = re.compile(r"```(?:python|py)?\s*\n(.*?)```", re.DOTALL)
_TIMEOUT_SECONDS = 5


def format_tests(state: Mapping[str, Any]) -> dict[str, str]:
    """The asserts as one block for the prompt."""
    return {"tests": "\n".join(state["test_list"])}


def extract_code(state: Mapping[str, Any]) -> str:
    """The first fenced code block of the reply, or the whole reply when there is none."""
    reply = str(state["solution"])
    match = _FENCE.search(reply)
    return (match.group(1) if match else reply).strip()


def run_tests(state: Mapping[str, Any]) -> dict[str, Any]:
    """Run the code and its asserts in a separate, isolated Python process with a timeout.

    This executes model-written code: the task names this step on purpose. Run such tasks
    in a sandbox (a container, a VM) when the model is not trusted.
    """
    program = state["code"] + "\n\n" + "\n".join(state["test_list"]) + "\n"
    try:
        proc = subprocess.run(
            [sys.executable, "-I", "-c", program],
            capture_output=True,
            text=True,
            timeout=_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"tests_passed": False, "test_error": f"timed out after {_TIMEOUT_SECONDS} s"}
    error = proc.stderr.strip().splitlines()[-1] if proc.returncode else ""
    return {"tests_passed": proc.returncode == 0, "test_error": error}
