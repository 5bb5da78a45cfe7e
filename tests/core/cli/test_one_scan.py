"""``grasp run`` scans no installed package's entry points: it does not look up the commands
other packages add (it names a built-in command), and its plugins are GraSP's own; a command
another package adds is still found, with one scan."""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from grasp_core import registry
from grasp_core.cli import app, main
from tests.conftest import copy_task_yaml, write_task

STEP = """
def copy(state):
    return state["id"]
"""


@pytest.fixture
def scans(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """Every call the registry makes to ``importlib.metadata.entry_points``, from a state
    where nothing was scanned and no command was looked up yet."""
    calls: list[dict[str, Any]] = []

    def counted(**params: Any) -> Any:
        calls.append(params)
        return metadata.entry_points(**params)

    monkeypatch.setattr(registry, "entry_points", counted)
    monkeypatch.setattr(registry, "_scanned", None)
    app._commands.cache_clear()
    yield calls
    app._commands.cache_clear()


def test_grasp_run_scans_no_entry_points(scans: list[dict[str, Any]], tmp_path: Path) -> None:
    """A run of built-in plugins scans nothing (global options before the command too);
    finding ``grasp studio`` afterwards scans once."""
    rows = "".join(json.dumps({"id": f"r{i}"}) + "\n" for i in range(2))
    task = write_task(tmp_path, copy_task_yaml(), {"data.jsonl": rows, "steps.py": STEP})
    assert main(["--log-format", "json", "run", str(task), "--quiet"]) == 0
    assert len((tmp_path / "out.jsonl").read_text().splitlines()) == 2
    assert scans == []
    assert "studio" in app._commands()
    assert scans == [{}]


@pytest.mark.parametrize(
    ("argv", "word"),
    [
        (["run", "task.yaml"], "run"),
        (["--debug", "--log-format", "json", "validate", "run"], "validate"),
        (["--log-format=console", "studio", "--port", "0"], "studio"),
        (["--help"], None),
    ],
)
def test_the_command_is_the_first_word_not_an_option_or_its_value(
    argv: list[str], word: str | None
) -> None:
    """The word naming the command skips options and the value of ``--log-format``; only a
    built-in command word spares the lookup of the commands other packages add."""
    assert app._command_word(argv) == word
    expected = app.COMMANDS if word in app.COMMANDS else app._commands()
    assert app._commands_for(argv) is expected
