"""The tutorial's task runs as written: its files are extracted from the page and run."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from grasp_core.cli import main
from grasp_core.mock_server import MockServer

TUTORIAL = Path(__file__).resolve().parents[2] / "docs" / "tutorial.md"


def tutorial_files() -> dict[str, str]:
    text = TUTORIAL.read_text(encoding="utf-8")
    return {
        m.group(1): m.group(2)
        for m in re.finditer(r'```\w+ title="([^"]+)"\n(.*?)```', text, flags=re.S)
    }


def test_the_tutorial_task_validates_and_runs(
    tmp_path: Path, mock_server: MockServer, capsys: pytest.CaptureFixture[str]
) -> None:
    files = tutorial_files()
    assert set(files) == {
        "my_task/data.jsonl",
        "my_task/steps.py",
        "my_task/task.yaml",
        "my_task/models.yaml",
    }
    for name, content in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    task = tmp_path / "my_task" / "task.yaml"
    assert main(["validate", str(task)]) == 0
    assert main(["run", str(task), "--mock-url", mock_server.url, "--quiet"]) == 0
    lines = (tmp_path / "my_task" / "output" / "explanations.jsonl").read_text().splitlines()
    records = sorted((json.loads(line) for line in lines), key=lambda r: r["id"])
    assert [r["id"] for r in records] == ["q1", "q2"]
    assert all(len(r["explanation"].split()) >= 8 for r in records)
    capsys.readouterr()


def test_the_yaml_reference_is_fresh() -> None:
    """docs/reference/yaml.md is what the config models say; regenerate it when this fails:
    python -m grasp_core.config.reference > docs/reference/yaml.md

    Generated in a fresh process, as that command does: plugins that other tests register
    in this one must not show up."""
    generated = subprocess.run(
        [sys.executable, "-m", "grasp_core.config.reference"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    committed = (TUTORIAL.parent / "reference" / "yaml.md").read_text(encoding="utf-8")
    assert committed == generated
