"""``create_app``: the Studio's ASGI app — the page, its static files, every API module in
``ROUTE_MODULES``, JSON errors, all behind :class:`~grasp_studio.security.SecurityMiddleware`."""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import anyio.to_thread
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import grasp_core
from grasp_core.errors import GraspError
from grasp_studio import openapi
from grasp_studio.api import ROUTE_MODULES
from grasp_studio.limits import StreamLimit
from grasp_studio.runner import Runner
from grasp_studio.security import SecurityMiddleware
from grasp_studio.workspace import Workspace

__all__ = ["STATIC", "create_app"]

STATIC = Path(__file__).parent / "static"
"""The front end, served as it is."""

_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
"""Only this server's own files run; nothing is loaded from anywhere else."""


def create_app(
    workspace: Path, token: str, *, mock: bool = False, hosts: Iterable[str] = ()
) -> Starlette:
    """The Studio over ``workspace``, opened with ``token``.

    ``mock``: tries and runs call the bundled mock server. ``hosts``: host names besides
    loopback that requests may address (``grasp studio --host``)."""
    routes: list[BaseRoute] = [
        Route("/", _index, methods=["GET"], include_in_schema=False),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
    ]
    for name in ROUTE_MODULES:
        routes.extend(importlib.import_module(name).routes)
    routes.extend(openapi.routes)
    runner = Runner()

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:  # closing the Studio stops its runs as Ctrl-C would: they stay resumable
            await anyio.to_thread.run_sync(runner.stop_all)

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[
            Middleware(_NoTaskCode),
            Middleware(_SecurityHeaders),
            Middleware(SecurityMiddleware, token=token, hosts=hosts),
            Middleware(StreamLimit),
        ],
        exception_handlers={
            HTTPException: _http_error,
            GraspError: _grasp_error,
            Exception: _server_error,
        },
    )
    # `/api/tasks/` is a 404, not a redirect: Starlette would redirect to `/api/tasks`,
    # outside the token's prefix (the app sees paths without it)
    app.router.redirect_slashes = False
    app.state.workspace = Workspace(workspace, mock=mock)
    app.state.runner = runner
    return app


async def _index(request: Request) -> Response:
    return FileResponse(STATIC / "index.html", headers={"cache-control": "no-store"})


def _error(request: Request, status: int, message: str) -> Response:
    """``{"error": ...}`` for the API, the line as text for pages."""
    line = " ".join(message.split())  # one line, whatever the message held
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": line}, status_code=status)
    return PlainTextResponse(line + "\n", status_code=status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code in (204, 304):
        return Response(status_code=exc.status_code)
    return _error(request, exc.status_code, str(exc.detail))


async def _grasp_error(request: Request, exc: Exception) -> Response:
    """A task that does not load or check, a run that cannot start: the user's to fix
    (files named relative to the workspace)."""
    workspace: Workspace = request.app.state.workspace
    return _error(request, 400, workspace.hide_root(str(exc)))


async def _server_error(request: Request, exc: Exception) -> Response:
    return _error(request, 500, f"internal error ({type(exc).__name__}); see the server's log")


class _NoTaskCode:
    """Every request is handled where no dotted path is imported: loading a task here (its
    run's status, a check of its files) leaves its post-process steps unresolved, so nothing
    a task names runs in the Studio's process (its child processes resolve them, confined)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        with grasp_core.task_code_refused():
            await self.app(scope, receive, send)


class _SecurityHeaders:
    """A content security policy and no-sniffing on every answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"content-security-policy", _CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"x-frame-options", b"DENY"),
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
