"""Tries and record listings in a child process, never in the Studio's.

A task's code (its lambdas, transforms, subgraphs) runs in a ``python -m grasp_core preview
--json`` child: a step that never returns is stopped by a timeout, a client that goes away
(the tab closed, the request cancelled) stops its child at once, and what the task imports
(a ``pyarrow.py`` beside it) never enters the Studio's ``sys.path`` or modules. The child's
dotted paths are confined to the workspace and registered plugins (see
:mod:`grasp_studio.task_guard`). The child leads its own process group, killed whole when the
try ends, times out or is cancelled: nothing its code started outlives it. At most
:data:`MAX_CHILDREN` run at once; one more is a 429.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
from anyio.abc import ByteReceiveStream
from starlette.exceptions import HTTPException
from starlette.requests import Request

from grasp_studio.task_guard import child_env
from grasp_studio.workspace import Workspace

__all__ = ["MAX_CHILDREN", "TIMEOUT", "run_child"]

TIMEOUT = 300.0
"""Seconds a try (or a listing of records) may take before its child is stopped."""
MAX_CHILDREN = 4
"""Tries running at once (each is a Python process)."""
_MAX_OUTPUT = 64 << 20
"""Most bytes a child may print (a preview of 20 records is far below)."""
_running = 0


async def run_child(request: Request, ws: Workspace, args: list[str], cwd: Path) -> Any:
    """``python -m ARGS`` in ``cwd``; its standard output parsed as JSON. A non-zero exit
    is a 400 with its last line of errors; a timeout a 504; too many at once a 429."""
    global _running
    if _running >= MAX_CHILDREN:
        raise HTTPException(
            429, f"{MAX_CHILDREN} tries or checks are already running; wait for one to finish"
        )
    _running += 1
    try:
        result: list[Any] = []
        failure: list[HTTPException] = []
        async with anyio.create_task_group() as group:

            async def watch() -> None:
                await _until_disconnected(request)
                group.cancel_scope.cancel()  # the client is gone: stop the child

            group.start_soon(watch)
            try:
                result.append(await _run(ws, args, cwd))
            except HTTPException as exc:  # raised outside the group, not as a group
                failure.append(exc)
            group.cancel_scope.cancel()
        if failure:
            raise failure[0]
        if not result:
            raise HTTPException(499, "the client went away; the try was stopped")
        return result[0]
    finally:
        _running -= 1


async def _until_disconnected(request: Request) -> None:
    """Return once the client closes the connection (its body was read already)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def _run(ws: Workspace, args: list[str], cwd: Path) -> Any:
    command = [sys.executable, "-m", *args]
    env = child_env(ws, os.environ)
    process = await anyio.open_process(
        command, stdin=subprocess.DEVNULL, cwd=cwd, env=env, start_new_session=True
    )
    out, err = bytearray(), bytearray()
    try:
        with anyio.fail_after(TIMEOUT):
            async with anyio.create_task_group() as group:
                assert process.stdout is not None
                assert process.stderr is not None
                group.start_soon(_drain, process.stdout, out)
                group.start_soon(_drain, process.stderr, err)
                code = await process.wait()
                _kill_group(process.pid)  # what it left running would hold its output open
    except TimeoutError:  # fail_after: the child is killed below
        raise HTTPException(
            504,
            f"the try did not finish within {TIMEOUT:g} s and was stopped; look for a step "
            "that never returns, or try fewer records",
        ) from None
    finally:  # the child leads its own process group: what its code started goes with it
        _kill_group(process.pid)
        if process.returncode is None:
            with anyio.CancelScope(shield=True):
                await process.wait()
    if len(out) > _MAX_OUTPUT:
        raise HTTPException(502, f"the try printed more than {_MAX_OUTPUT} bytes")
    if code != 0:
        lines = [line for line in err.decode("utf-8", "replace").splitlines() if line.strip()]
        message = lines[-1] if lines else f"the try exited with code {code}"
        raise HTTPException(400, ws.hide_root(message.removeprefix("error: ")))
    try:
        return json.loads(out)
    except ValueError:
        raise HTTPException(502, "the try printed no result; see the server's log") from None


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


async def _drain(stream: ByteReceiveStream, into: bytearray) -> None:
    """Collect ``stream`` up to one byte past :data:`_MAX_OUTPUT` (read on, kept no more)."""
    async for chunk in stream:
        if len(into) <= _MAX_OUTPUT:
            into += chunk[: _MAX_OUTPUT + 1 - len(into)]
