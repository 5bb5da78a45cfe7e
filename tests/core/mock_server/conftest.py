"""Fixtures of the mock server tests: asyncio for anyio, a running mock server with no
latency, and a keep-alive client bound to it (a module's own `server` or `client` overrides
these).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from grasp_core.mock_server import MockServer


@pytest.fixture
def anyio_backend() -> str:
    """The server is an asyncio protocol and litellm needs asyncio."""
    return "asyncio"


@pytest.fixture
def server() -> Iterator[MockServer]:
    """A running server with no latency."""
    mock = MockServer(retry_after=0.05, hang_seconds=0.3)
    with mock.running():
        yield mock


@pytest.fixture
def client(server: MockServer) -> Iterator[httpx.Client]:
    """A keep-alive client bound to ``server``."""
    with httpx.Client(base_url=server.url, timeout=5.0) as http_client:
        yield http_client
