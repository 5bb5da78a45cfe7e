"""Pages whose Python blocks are whole scripts: each block runs as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

PAGES = ("docs/concepts/architecture.md", "docs/how-to/write-a-node-type.md")
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def _blocks() -> list[tuple[str, int, str]]:
    found = []
    for page in PAGES:
        text = (REPO_ROOT / page).read_text(encoding="utf-8")
        found += [(page, i, code) for i, code in enumerate(BLOCK.findall(text))]
    return found


@pytest.mark.parametrize(("page", "index", "code"), _blocks(), ids=lambda v: str(v)[:40])
def test_the_python_block_runs_as_written(page: str, index: int, code: str, tmp_path: Path) -> None:
    """A script block of a guide runs in an empty folder and exits 0."""
    script = tmp_path / "block.py"
    script.write_text(code, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"{page} block {index}:\n{done.stderr}"
