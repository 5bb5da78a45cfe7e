"""``grasp studio [WORKSPACE]``: added to ``grasp`` through the ``grasp.commands`` entry point.

Kept light: ``grasp --help`` imports this module, so Starlette and uvicorn are imported only
when the command runs."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_command", "run_command"]


def add_command(commands: Any) -> None:
    """Register ``grasp studio``."""
    studio = commands.add_parser(
        "studio",
        help="open GraSP Studio, a local web UI over a folder of tasks and runs",
        description="Serve GraSP Studio on a loopback address behind a random token and open "
        "it in a browser tab.",
    )
    studio.add_argument(
        "workspace",
        nargs="?",
        type=Path,
        default=Path("."),
        help="the folder of tasks and runs (default: the current folder); the Studio reads "
        "and writes nothing outside it",
    )
    studio.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1, loopback only); any other address is "
        "reachable from other machines: the token is still required",
    )
    studio.add_argument(
        "--port",
        type=_port,
        default=None,
        help="port (default 8765, or a free one if it is taken; 0: a free one)",
    )
    studio.add_argument(
        "--no-browser", action="store_true", help="print the URL but open no browser tab"
    )
    studio.add_argument(
        "--mock",
        action="store_true",
        help="tries and runs started from the Studio call the bundled mock server",
    )


def _port(text: str) -> int:
    """A TCP port number (argparse reports anything else as one line)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port: use 0 to 65535 (0: a free one)")
    return port


def run_command(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C."""
    from grasp_core.errors import ConfigError
    from grasp_studio.server import DEFAULT_PORT, StudioServer, open_in_browser

    workspace: Path = args.workspace
    if not workspace.is_dir():
        raise ConfigError(f"{str(workspace)!r} is not a folder; pass the folder of your tasks")
    server = StudioServer(
        workspace,
        host=args.host,
        port=DEFAULT_PORT if args.port is None else args.port,
        mock=args.mock,
    )
    if not server.loopback:
        print(
            f"grasp studio: warning: listening on {args.host}, not loopback: other machines "
            "can reach this Studio (the token is still required; share the URL with care)",
            file=sys.stderr,
        )
    try:
        server.bind()
    except OSError as exc:
        raise ConfigError(
            f"cannot listen on {args.host}:{args.port} ({exc.strerror or exc}); pick another "
            "--port or --host"
        ) from None
    print(f"GraSP Studio on {server.workspace.resolve()}:\n    {server.url}", flush=True)
    ready = None if args.no_browser else (lambda: open_in_browser(server.url))
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how a Studio is closed
        server.run(on_ready=ready)
    return 0
