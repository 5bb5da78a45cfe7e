"""Fixtures of the bad-record tests: a fresh folder per hypothesis example."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from tests.io.sinks.record_model import NewFolder


@pytest.fixture
def new_folder(tmp_path: Path) -> NewFolder:
    """``new_folder()``: a fresh folder per hypothesis example."""
    return lambda: Path(tempfile.mkdtemp(dir=tmp_path))
