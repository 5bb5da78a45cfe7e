"""Every code block of the docs runs as written: each page is followed top to bottom in an
empty folder holding a copy of ``examples/`` (see ``tests/docs/blocks.py`` for the rules
and the markers that skip a block, visibly, in the page source)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.conftest import REPO_ROOT
from tests.docs.blocks import Block, docs_pages, markers_without_a_block, page_blocks

RUNNABLE = {
    blocks[0].page: blocks
    for blocks in map(page_blocks, docs_pages())
    if any(b.runs for b in blocks)
}


def _env() -> dict[str, str]:
    """The test's environment with the venv's ``grasp`` first on PATH, offline."""
    bin_dir = str(Path(sys.executable).parent)
    return {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "HF_DATASETS_OFFLINE": "1",
        "HF_HUB_OFFLINE": "1",
        "NO_COLOR": "1",
    }


def _merge(path: Path, block: Block) -> None:
    """Replace the top-level keys of the YAML file at ``path`` by those of ``block``."""
    assert path.is_file(), f"{block.where}: no {path.name} to merge into; write it first"
    yaml = YAML()
    data = yaml.load(path.read_text(encoding="utf-8"))
    data.update(yaml.load(block.code))
    with path.open("w", encoding="utf-8") as handle:
        yaml.dump(data, handle)


def _follow(block: Block, folder: Path) -> None:
    """Do what a reader does with ``block`` in ``folder``; fail naming the page and line."""
    if block.action == "merge":
        _merge(folder / (block.arg or ""), block)
        return
    if block.title is not None:
        path = folder / block.title
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(block.code, encoding="utf-8")
        if block.lang != "python":
            return
        command = [sys.executable, str(path)]
    elif block.is_script:
        script = folder / ".docs_block.py"
        script.write_text(block.code, encoding="utf-8")
        command = [sys.executable, str(script)]
    elif block.is_grasp_shell:
        assert block.unsafe is None, (
            f"{block.where}: `{block.unsafe}` is not run by the tests; mark the block "
            "<!-- docs-test: skip: REASON -->"
        )
        command = ["bash", "-euo", "pipefail", "-c", block.code]
    else:
        return
    done = subprocess.run(
        command,
        cwd=folder,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    expected = int(block.arg or 0) if block.action == "exits" else 0
    assert done.returncode == expected, (
        f"{block.where} ({block.lang}) exited {done.returncode}:\n"
        f"{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    )


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("page", sorted(RUNNABLE))
def test_the_page_runs_as_written(page: str, tmp_path: Path) -> None:
    """Every block of a page runs, in order, in one folder, unless marked skipped."""
    shutil.copytree(
        REPO_ROOT / "examples", tmp_path / "examples", ignore=shutil.ignore_patterns("output")
    )
    skipped = []
    for block in RUNNABLE[page]:
        if block.action == "skip":
            skipped.append(block.where)
        elif block.action == "requires" and shutil.which(block.arg or "") is None:
            skipped.append(f"{block.where} (no {block.arg})")
        else:
            _follow(block, tmp_path)
    if skipped and len(skipped) == sum(b.runs for b in RUNNABLE[page]):
        pytest.skip(f"every runnable block is marked skipped: {', '.join(skipped)}")


def test_every_skip_says_why() -> None:
    """A block is skipped only with a reason in the page source, and a marker always stands
    right before a fence, so none is silently ignored."""
    blocks = [b for page in docs_pages() for b in page_blocks(page)]
    unexplained = [b.where for b in blocks if b.action is not None and not b.arg]
    assert unexplained == [], "skip needs a reason, requires a command, merge a file"
    assert markers_without_a_block() == []
