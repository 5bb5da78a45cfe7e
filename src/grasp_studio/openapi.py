"""The Studio's HTTP API as an OpenAPI 3.1 document, served at ``/api/openapi.json``.

Kept by hand beside the code: each API module may hold ``openapi``, a mapping of
``"METHOD /api/path"`` to its operation (built with :func:`operation`); a route with none is
still listed, with its docstring as its summary, so the document never misses a route."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from grasp_studio.api import ROUTE_MODULES

__all__ = ["document", "operation", "routes"]

_ERROR = {"$ref": "#/components/schemas/Error"}
_STATUS_TEXT = {
    200: "the answer",
    202: "accepted: started",
    400: "a bad request: the error says what to fix",
    401: "no token",
    403: "a cross-site request",
    404: "not found, or outside the workspace",
    409: "a conflict with what runs now",
    413: "the body is too large",
}


def operation(
    summary: str,
    *,
    query: Mapping[str, Mapping[str, Any]] | None = None,
    required: Iterable[str] = (),
    body: Mapping[str, Mapping[str, Any]] | None = None,
    body_required: Iterable[str] = (),
    ok: int = 200,
    errors: Iterable[int] = (400, 404),
    media: str = "application/json",
) -> dict[str, Any]:
    """An operation: query parameters and JSON body properties as JSON schemas."""
    needed = set(required)
    spec: dict[str, Any] = {"summary": summary}
    if query:
        spec["parameters"] = [
            {"name": name, "in": "query", "required": name in needed, "schema": dict(schema)}
            for name, schema in query.items()
        ]
    if body is not None:
        spec["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {k: dict(v) for k, v in body.items()},
                        "required": sorted(body_required),
                    }
                }
            },
        }
    answers: dict[str, Any] = {str(ok): {"description": _STATUS_TEXT[ok], "content": {media: {}}}}
    for status in (*errors, 401, 403):
        answers[str(status)] = {
            "description": _STATUS_TEXT[status],
            "content": {"application/json": {"schema": _ERROR}},
        }
    spec["responses"] = answers
    return spec


def document() -> dict[str, Any]:
    """The whole API, from the modules in ``ROUTE_MODULES``."""
    paths: dict[str, dict[str, Any]] = {}
    for name in ROUTE_MODULES:
        module = importlib.import_module(name)
        kept: Mapping[str, dict[str, Any]] = getattr(module, "openapi", {})
        for route in module.routes:
            if not isinstance(route, Route):
                continue
            for method in sorted((route.methods or set()) - {"HEAD"}):
                spec = kept.get(f"{method} {route.path}") or _undocumented(route)
                paths.setdefault(route.path, {})[method.lower()] = spec
    paths["/api/openapi.json"] = {"get": operation("This document.", errors=())}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "GraSP Studio API",
            "version": "1",
            "description": "Every request needs the Studio's token: the cookie set when the "
            "tokened URL is opened, or a `token` query parameter. Errors are "
            '`{"error": "<one line>"}`.',
        },
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {"error": {"type": "string"}},
                    "required": ["error"],
                }
            }
        },
    }


def _undocumented(route: Route) -> dict[str, Any]:
    doc = inspect.getdoc(route.endpoint) or route.path
    return operation(doc.split("\n\n")[0].replace("\n", " "))


async def serve(request: Request) -> JSONResponse:
    return JSONResponse(document())


routes: list[BaseRoute] = [Route("/api/openapi.json", serve, methods=["GET"])]
