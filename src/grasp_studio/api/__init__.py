"""The Studio's HTTP API: one module per concern, each exposing ``routes`` (Starlette routes,
every path under ``/api/``) and reading the workspace from ``request.app.state.workspace``.

:data:`ROUTE_MODULES` is the list ``create_app`` mounts; a new module adds its name here.
"""

from __future__ import annotations

__all__ = ["ROUTE_MODULES"]

ROUTE_MODULES: tuple[str, ...] = (
    "grasp_studio.api.tasks",
    "grasp_studio.api.validate",
    "grasp_studio.api.try_records",
    "grasp_studio.api.runs",
    "grasp_studio.api.outputs",
    "grasp_studio.api.records",
    "grasp_studio.api.failures",
    "grasp_studio.api.compare",
    "grasp_studio.api.annotations",
)
"""Modules whose ``routes`` the app mounts, in this order."""
