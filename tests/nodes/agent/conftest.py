"""Fixtures of the agent tests: every test keeps `sys.path` as it found it."""

from __future__ import annotations

import sys

import pytest


@pytest.fixture(autouse=True)
def _restore_import_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dotted paths put task folders on sys.path; undo that after each test."""
    monkeypatch.setattr(sys, "path", [*sys.path])
