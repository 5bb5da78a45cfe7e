"""A mock server for the media-output tests (one per module, logging request bodies)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from grasp_core.mock_server import MockServer


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    """A mock server that keeps every request body."""
    mock = MockServer(log_bodies=True, max_seconds=600, retry_after=0.01)
    with mock.running():
        yield mock
