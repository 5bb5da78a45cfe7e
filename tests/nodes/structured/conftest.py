"""Fixtures of the structured-output tests: one mock server per module that logs request
bodies (a module's own `server` overrides it).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from grasp_core.mock_server import MockServer


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    """A mock server that logs request bodies (to see response_format and feedback)."""
    mock = MockServer(log_bodies=True, max_seconds=600)
    with mock.running():
        yield mock
