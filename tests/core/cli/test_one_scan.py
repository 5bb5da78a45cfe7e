"""``grasp run`` reads the installed packages' entry points once: the scan that finds the
commands other packages add is the one the run's plugin lookups reuse."""

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


def test_grasp_run_scans_the_entry_points_once(scans: list[dict[str, Any]], tmp_path: Path) -> None:
    """Finding ``grasp studio``, then the run's node type, source and sink: one scan."""
    rows = "".join(json.dumps({"id": f"r{i}"}) + "\n" for i in range(2))
    task = write_task(tmp_path, copy_task_yaml(), {"data.jsonl": rows, "steps.py": STEP})
    assert main(["run", str(task), "--quiet"]) == 0
    assert len((tmp_path / "out.jsonl").read_text().splitlines()) == 2
    assert "studio" in app._commands()
    assert scans == [{}]
