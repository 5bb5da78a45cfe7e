"""GraSP Studio: a local web UI over a workspace of tasks and runs (``grasp studio``).

A Starlette app served by uvicorn on loopback, behind a random token. It is a client of
``grasp_core``'s public API only (an import-linter contract says so): what it shows of a
task, a try or a run comes from functions scripts can call too. The front end is
hand-written ES modules under ``static/``, shipped as they are (no build step, no Node.js,
nothing loaded from the network).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from grasp_studio.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    """``create_app`` is imported on first use: ``grasp --help`` loads this package's
    command module without paying for Starlette."""
    if name == "create_app":
        from grasp_studio.app import create_app

        return create_app
    raise AttributeError(f"module 'grasp_studio' has no attribute {name!r}")
