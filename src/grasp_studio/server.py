"""Serving the Studio: a random token, a loopback socket, uvicorn, and the URL to open."""

from __future__ import annotations

import contextlib
import ipaddress
import secrets
import socket
import sys
import threading
import time
import webbrowser
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn

from grasp_studio.app import create_app
from grasp_studio.security import ANY_HOST, LOOPBACK_HOSTS

__all__ = ["DEFAULT_PORT", "StudioServer", "bind"]

DEFAULT_PORT = 8765
"""Tried first; when it is taken, the system picks a free port."""


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host``:``port``; a taken default port falls back to a free
    one (an explicit port that is taken is an error the caller reports)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError:
        if port != DEFAULT_PORT:
            sock.close()
            raise
        sock.bind((host.strip("[]"), 0))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def url_host(host: str) -> str:
    """``host`` as it goes in a URL (IPv6 in brackets)."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


@dataclass
class StudioServer:
    """One Studio: ``start`` serves it in a thread (tests, embedding), ``run`` in the
    foreground until Ctrl-C (the command)."""

    workspace: Path
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    mock: bool = False
    token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    _server: uvicorn.Server | None = None
    _sock: socket.socket | None = None

    @property
    def loopback(self) -> bool:
        """Bound to a loopback address (127.0.0.0/8, ::1, localhost): this machine only."""
        host = self.host.strip("[]")
        try:
            return host in LOOPBACK_HOSTS or ipaddress.ip_address(host).is_loopback
        except ValueError:  # a name other than localhost
            return False

    @property
    def base_url(self) -> str:
        assert self._sock is not None, "bind first"
        return f"http://{url_host(self.host)}:{self._sock.getsockname()[1]}"

    @property
    def url(self) -> str:
        """The address to open: the Studio lives under ``/<token>/`` (see
        :mod:`grasp_studio.security`)."""
        return f"{self.base_url}/{self.token}/"

    def bind(self) -> None:
        """Build the app and take the port (so :attr:`url` is known before serving)."""
        bare = self.host.strip("[]")
        # the bound host is always an accepted Host (127.0.0.2 as much as a LAN address)
        hosts = (ANY_HOST if bare in ("0.0.0.0", "::") else bare.lower(),)
        app = create_app(self.workspace, self.token, mock=self.mock, hosts=hosts)
        self._sock = bind(self.host, self.port)
        config = uvicorn.Config(
            app, log_level="warning", access_log=False, lifespan="on", timeout_graceful_shutdown=3
        )
        self._server = uvicorn.Server(config)

    def run(self, on_ready: Callable[[], None] | None = None) -> None:
        """Serve until Ctrl-C; ``on_ready`` is called once the first request can be answered."""
        assert self._server is not None, "bind first"
        assert self._sock is not None
        if on_ready is not None:
            threading.Thread(target=self._when_started, args=(on_ready,), daemon=True).start()
        self._server.run(sockets=[self._sock])

    @contextlib.contextmanager
    def running(self) -> Iterator[StudioServer]:
        """Serve in a daemon thread inside the block (for tests and notebooks)."""
        self.bind()
        server = self._server
        assert server is not None
        thread = threading.Thread(target=self.run, name="grasp studio", daemon=True)
        thread.start()
        try:
            self._wait_started()
            yield self
        finally:
            server.should_exit = True
            thread.join(timeout=10)

    def _wait_started(self, timeout: float = 30.0) -> None:
        assert self._server is not None
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the Studio did not start within 30 s")
            time.sleep(0.01)

    def _when_started(self, on_ready: Callable[[], None]) -> None:
        with contextlib.suppress(RuntimeError):
            self._wait_started()
            on_ready()


def open_in_browser(url: str) -> None:
    """Open ``url`` in a browser tab; where there is none, the printed URL is the way in."""
    try:
        webbrowser.open(url, new=2)
    except webbrowser.Error as exc:
        print(
            f"grasp studio: could not open a browser ({exc}); open the URL above", file=sys.stderr
        )
