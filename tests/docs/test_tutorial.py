"""The tutorial's task runs as written: its files are extracted from the page and run."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grasp_core.cli import main
from grasp_core.mock_server import MockServer

ROOT = Path(__file__).resolve().parents[2]
TUTORIAL = ROOT / "docs" / "tutorial.md"
NUMBERS = dict(enumerate(["no", "one", "two", "three", "four", "five", "six", "seven", "eight"]))


def tutorial_files() -> dict[str, str]:
    text = TUTORIAL.read_text(encoding="utf-8")
    return {
        m.group(1): m.group(2)
        for m in re.finditer(r'```\w+ title="([^"]+)"\n(.*?)```', text, flags=re.S)
    }


def test_the_tutorial_task_validates_and_runs(
    tmp_path: Path, mock_server: MockServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """The tutorial's files, as the page shows them, validate and run to the dataset."""
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
    output = tmp_path / "my_task" / "output"
    lines = (output / "explanations.jsonl").read_text().splitlines()
    records = sorted((json.loads(line) for line in lines), key=lambda r: r["id"])
    assert [r["id"] for r in records] == ["q1", "q2"]
    assert [len(r["explanation"].split()) for r in records] == [24, 24]
    capsys.readouterr()


def test_the_tutorial_loop_goes_round_under_the_mock(
    tmp_path: Path, mock_server: MockServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """Under the mock (replies echo the prompt) each record takes the loop twice, as the page
    says: 2 runs of explain and 4 of expand in the summary."""
    for name, content in tutorial_files().items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    task = tmp_path / "my_task" / "task.yaml"
    assert main(["run", str(task), "--mock-url", mock_server.url, "--quiet"]) == 0
    capsys.readouterr()
    summary = json.loads(
        (tmp_path / "my_task" / "output" / "explanations.summary.json").read_text()
    )
    assert {name: node["runs"] for name, node in summary["nodes"].items()} == {
        "explain": 2,
        "expand": 4,
    }
    page = TUTORIAL.read_text(encoding="utf-8")
    assert "2 runs of\n`explain` and 4 of `expand`" in page


def test_the_quickstart_leaves_the_files_the_tutorial_lists(
    tmp_path: Path, mock_server: MockServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """The tutorial's table of what a quickstart run leaves, and the count before it, are
    the files a run really leaves."""
    shutil.copytree(
        ROOT / "examples" / "quickstart",
        tmp_path,
        ignore=shutil.ignore_patterns("output"),
        dirs_exist_ok=True,
    )
    assert main(["run", str(tmp_path / "task.yaml"), "--mock-url", mock_server.url, "--quiet"]) == 0
    capsys.readouterr()
    left = sorted(path.name for path in (tmp_path / "output").iterdir())
    section = TUTORIAL.read_text(encoding="utf-8").split("## 2. ")[1].split("## 3. ")[0]
    listed = sorted(re.findall(r"^\| `(qa\.[^`]+)` \|", section, flags=re.M))
    assert listed == left
    count = re.search(r"The run leaves (\w+) files", section)
    assert count is not None
    assert count[1] == NUMBERS[len(left)]


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
