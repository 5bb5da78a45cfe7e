"""Every gallery example runs offline on the mock server, and the gallery page is fresh."""

from __future__ import annotations

import json
import runpy
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from grasp_core.cli import main
from grasp_core.mock_server import MockServer

ROOT = Path(__file__).resolve().parents[2]
GALLERY: Any = runpy.run_path(str(ROOT / "tools" / "gallery.py"), run_name="gallery")


def test_the_gallery_page_is_fresh() -> None:
    """docs/examples.md matches the examples; regenerate it when this fails:
    python tools/gallery.py > docs/examples.md"""
    committed = (ROOT / "docs" / "examples.md").read_text(encoding="utf-8")
    assert committed == GALLERY["gallery_page"]()


@pytest.mark.slow
@pytest.mark.parametrize("example", GALLERY["GALLERY"], ids=lambda e: e.task.split("/")[1])
def test_every_gallery_example_runs_offline(
    tmp_path: Path, mock_server: MockServer, example: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    task = Path(example.task)
    folder = tmp_path / task.parent.name
    shutil.copytree(ROOT / task.parent, folder, ignore=shutil.ignore_patterns("output"))
    if example.prepare:
        command = shlex.split(example.prepare.replace(str(task.parent), str(folder)))
        subprocess.run([sys.executable, *command[1:]], check=True, cwd=tmp_path, timeout=120)
    argv = ["run", str(folder / task.name), *shlex.split(example.args)]
    code = main([*argv, "--mock-url", mock_server.url, "--overwrite", "--quiet"])
    capsys.readouterr()
    assert code == 0
    summaries = list(folder.rglob("*.summary.json"))
    assert len(summaries) == 1
    summary = json.loads(summaries[0].read_text(encoding="utf-8"))
    assert summary["done"] > 0
    assert summary["failed"] == 0
