"""A run from Python prints warnings, not info lines, unless the application set up logging."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import structlog

from grasp_core import RunOptions, run_task
from grasp_core.logs import configure_logging, get_logger, redact, register_secret
from tests.conftest import copy_task_yaml, write_task

STEPS = """
def copy(state):
    if state["text"] == "bad":
        raise ValueError("bad record")
    return state["text"]
"""


def run_one_failing(tmp_path: Path) -> None:
    data = "".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in enumerate(["ok", "bad"]))
    task = write_task(tmp_path, copy_task_yaml(), {"data.jsonl": data, "steps.py": STEPS})
    result = run_task(task, RunOptions())
    assert (result.done, result.failed) == (1, 1)


def test_unconfigured_logging_shows_warnings_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_one_failing(tmp_path)
    structlog.get_logger("test").info("an info line nobody asked for")
    captured = capsys.readouterr()
    assert "record failed" in captured.err
    assert "an info line nobody asked for" not in captured.out + captured.err


def test_an_applications_own_logging_is_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    structlog.configure(processors=[structlog.processors.KeyValueRenderer()])
    run_one_failing(tmp_path)
    structlog.get_logger("test").info("the application wants this")
    assert "the application wants this" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("HTTP 401 (bad key: Bearer abc.DEF-123_xyz)", "HTTP 401 (bad key: Bearer <redacted>)"),
        ("Authorization: Basic dXNlcjpwYXNz", "Authorization: Basic <redacted>"),
        ('{"api_key": "k-0123456789"}', '{"api_key": "<redacted>"}'),
        ("x-api-key: 0123456789&next", "x-api-key: <redacted>&next"),
        ("https://h/v1?api-key=0123456789&a=1", "https://h/v1?api-key=<redacted>&a=1"),
        ("key sk-proj-AbCdEf012345 refused", "key <redacted> refused"),
        ("token hf_AbCdEfGhIjKlMnOpQrSt refused", "token <redacted> refused"),
        ("m.api_key: API keys never go in the models file", None),
        ("set api_key_env; the node task-sk-12345678 of a disk-backed run", None),
    ],
)
def test_redact_masks_credential_shapes_and_keeps_ordinary_text(
    text: str, expected: str | None
) -> None:
    """Bearer/Basic values, api_key=/Authorization: values, sk-… and hf_… keys are masked;
    text that merely names a key option is left as it is."""
    assert redact(text) == (text if expected is None else expected)


def test_a_registered_secret_is_masked_in_text_and_log_lines(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A secret of any shape, once registered, is masked wherever it appears, log lines
    included; a value too short to be a real secret is not registered."""
    register_secret("plain-words-secret-42")
    register_secret("none")
    assert redact("the server said plain-words-secret-42!") == "the server said <redacted>!"
    assert redact("none of it") == "none of it"
    configure_logging(fmt="json")
    get_logger("test").warning("echoed plain-words-secret-42", detail=["plain-words-secret-42"])
    err = capsys.readouterr().err
    assert "plain-words-secret-42" not in err
    assert json.loads(err.splitlines()[-1])["detail"] == ["<redacted>"]
