"""The documentation site, built once per session for the tests that read it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT


def build_site(site: Path) -> subprocess.CompletedProcess[str]:
    """``mkdocs build --strict`` of the repository's docs into ``site``."""
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(site)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built site's folder; the build must pass in strict mode."""
    site = tmp_path_factory.mktemp("docs") / "site"
    proc = build_site(site)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return site
