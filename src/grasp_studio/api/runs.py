"""Running a task and watching it: start (local or Ray), stop as Ctrl-C does, resume, and the
live counters pushed to the browser as server-sent events. A retry of the records a run failed
(``grasp run --retry-failures``) is started, watched and stopped the same way: ``retry``
names it (its files are under ``NAME.retry/`` beside the run's output).

The counters come from ``grasp_core.run_status`` — the files every run keeps beside its
output — so a run started with ``grasp run`` in a terminal inside the workspace is watched
exactly as one started here."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import BaseRoute, Route

import grasp_core
from grasp_studio.api._common import json_body, task_file, text_field, workspace
from grasp_studio.openapi import operation
from grasp_studio.runner import Runner, StartOptions
from grasp_studio.task_guard import check_task, child_env

__all__ = ["routes"]

_TICK = 0.5
"""Seconds between two looks at a run's files while a stream is open."""
_RUN_ENDINGS = (None, 0, 1, 130)
"""``grasp run``'s exit codes for a run that ran: still going, done, done with failed
records, stopped; any other is an error before or during the run."""
_HEARTBEAT = 15.0
"""Seconds of no change after which a comment keeps the stream (and proxies) awake."""


def runner(request: Request) -> Runner:
    state = request.app.state
    if getattr(state, "runner", None) is None:
        state.runner = Runner()
    found: Runner = state.runner
    return found


def _run_status(path: Path, retry: bool) -> grasp_core.RunStatus:
    """The status of the task's run, or of the retry of its failed records."""
    if not retry:
        return grasp_core.run_status(path)
    task = grasp_core.Task.load(path)
    return grasp_core.run_status(task, output_dir=grasp_core.retry_dir(task))


async def _status(request: Request, path: Path, retry: bool = False) -> dict[str, Any]:
    """The run's status from its files, with the Studio's own child process if it has one
    (``retry``: the retry's status, with the child running the retry)."""
    ws = workspace(request)
    status = await anyio.to_thread.run_sync(_run_status, path, retry)
    body = status.to_dict()
    body["output"] = ws.hide_root(body["output"])
    body["task"] = ws.relative(path)
    body["retry"] = retry
    process = runner(request).get(path)
    if process is not None and process.retry != retry:
        process = None  # the child runs the other one (the run, or the retry)
    shown = process.to_dict() if process is not None else None
    if shown is not None:  # paths relative to the workspace, as everywhere in the Studio
        shown["command"] = [ws.hide_root(word) for word in shown["command"]]
        shown["log"] = [ws.hide_root(line) for line in shown["log"]]
    body["process"] = shown
    if process is not None and process.running and body["state"] != "running":
        body["state"] = "starting"  # the child has not taken the run's lock yet
    elif process is not None and process.process.poll() not in _RUN_ENDINGS:
        body["state"] = "failed"  # it stopped on an error: its last line says which
    return body


async def status(request: Request) -> JSONResponse:
    """Where the task's run stands (``path``: the task file; ``retry``: its retry)."""
    path = task_file(request, request.query_params.get("path"))
    return JSONResponse(await _status(request, path, _retry_param(request)))


def _retry_param(request: Request) -> bool:
    """The ``retry`` query parameter: ``true``/``1`` or ``false``/``0`` (default)."""
    value = request.query_params.get("retry", "false").lower()
    if value not in ("true", "1", "false", "0"):
        raise HTTPException(400, f"`retry` must be true or false, got {value!r}")
    return value in ("true", "1")


def _retry_body(body: dict[str, Any]) -> bool:
    value = body.get("retry_failures", False)
    if not isinstance(value, bool):
        raise HTTPException(400, "`retry_failures` must be true or false")
    return value


def _options(body: dict[str, Any], mock: bool) -> StartOptions:
    count = body.get("num_records")
    if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 1):
        raise HTTPException(400, "`num_records` must be a whole number of at least 1")
    shards = body.get("num_shards")
    if shards is not None and (
        not isinstance(shards, int) or isinstance(shards, bool) or shards < 1
    ):
        raise HTTPException(400, "`num_shards` must be a whole number of at least 1")
    executor = body.get("executor", "local")
    if executor not in ("local", "ray"):
        raise HTTPException(400, f"`executor` must be 'local' or 'ray', got {executor!r}")
    flags = {name: body.get(name, False) for name in ("resume", "overwrite", "mock")}
    for name, value in flags.items():
        if not isinstance(value, bool):
            raise HTTPException(400, f"`{name}` must be true or false")
    if flags["resume"] and flags["overwrite"]:
        raise HTTPException(
            400, "`resume` continues the last run, `overwrite` deletes it: pick one"
        )
    retry = _retry_body(body)
    narrowing = [name for name in ("resume", "overwrite") if flags[name]]
    narrowing += ["num_records"] if count is not None else []
    narrowing += ["executor"] if executor != "local" else []
    if retry and narrowing:
        raise HTTPException(
            400,
            "a retry runs every failed record again, on this machine, from the start: "
            f"drop {', '.join(f'`{name}`' for name in narrowing)}",
        )
    return StartOptions(
        retry_failures=retry,
        num_records=count,
        resume=flags["resume"],
        overwrite=flags["overwrite"],
        mock=mock or flags["mock"],
        executor=executor,
        num_shards=shards if executor == "ray" else None,
    )


async def start(request: Request) -> JSONResponse:
    """Start ``grasp run`` on the task (``path``) with the options in the body."""
    body = await json_body(request)
    path = task_file(request, text_field(body, "path"))
    ws = workspace(request)
    options = _options(body, ws.mock)
    try:  # the files it names stay inside the workspace; its code is confined in the child
        await anyio.to_thread.run_sync(check_task, ws, path)
    except grasp_core.GraspError as exc:
        raise HTTPException(400, ws.hide_root(" ".join(str(exc).split()))) from None
    try:
        runner(request).start(path, options, env=child_env(ws, os.environ))
    except RuntimeError as exc:
        raise HTTPException(409, str(exc)) from None
    return JSONResponse(await _status(request, path, options.retry_failures), status_code=202)


async def stop(request: Request) -> JSONResponse:
    """Stop the run the Studio started for the task (``retry_failures``: its retry), as
    Ctrl-C does: what finished is kept, and ``resume`` continues a run."""
    body = await json_body(request)
    path = task_file(request, text_field(body, "path"))
    retry = _retry_body(body)
    process = runner(request).get(path)
    if process is None or process.retry != retry or runner(request).stop(path) is None:
        what = "retry of this task's failed records" if retry else "run of this task"
        raise HTTPException(409, f"no {what} started here is going")
    return JSONResponse(await _status(request, path, retry))


async def events(request: Request) -> StreamingResponse:
    """The run's status as server-sent events: a ``progress`` event whenever it changes."""
    path = task_file(request, request.query_params.get("path"))
    return StreamingResponse(
        _stream(request, path, _retry_param(request)),
        media_type="text/event-stream",
        headers={"cache-control": "no-store", "x-accel-buffering": "no"},
    )


async def _stream(request: Request, path: Path, retry: bool) -> AsyncIterator[str]:
    """``progress`` events while the task loads; a ``problem`` event (``{"error": ...}``)
    while it does not (being edited, say), and the stream goes on."""
    last, quiet = "", 0.0
    while True:
        try:
            kind, body = "progress", await _status(request, path, retry)
        except grasp_core.GraspError as exc:
            kind, body = (
                "problem",
                {"error": " ".join(workspace(request).hide_root(str(exc)).split())},
            )
        text = json.dumps(body, sort_keys=True)
        if text != last:
            last, quiet = text, 0.0
            yield f"event: {kind}\ndata: {text}\n\n"
        elif quiet >= _HEARTBEAT:
            quiet = 0.0
            yield ": still here\n\n"
        await anyio.sleep(_TICK)
        quiet += _TICK


routes: list[BaseRoute] = [
    Route("/api/runs/status", status, methods=["GET"]),
    Route("/api/runs/start", start, methods=["POST"]),
    Route("/api/runs/stop", stop, methods=["POST"]),
    Route("/api/runs/events", events, methods=["GET"]),
]

_PATH: dict[str, dict[str, Any]] = {"path": {"type": "string", "minLength": 1}}
_WHICH = {**_PATH, "retry": {"enum": ["true", "false", "1", "0"]}}
_RETRY: dict[str, dict[str, Any]] = {"retry_failures": {"type": "boolean"}}
openapi = {
    "GET /api/runs/status": operation(
        "Where a task's run (or the retry of its failed records) stands.",
        query=_WHICH,
        required=["path"],
    ),
    "POST /api/runs/start": operation(
        "Start `grasp run` on a task (local or Ray; resume, overwrite; or "
        "`--retry-failures`: only the records its run failed, under NAME.retry/).",
        body={
            **_PATH,
            "num_records": {"type": "integer", "minimum": 1},
            "resume": {"type": "boolean"},
            "overwrite": {"type": "boolean"},
            "mock": {"type": "boolean"},
            "executor": {"enum": ["local", "ray"]},
            "num_shards": {"type": "integer", "minimum": 1},
            **_RETRY,
        },
        body_required=["path"],
        ok=202,
        errors=(400, 404, 409, 413),
    ),
    "POST /api/runs/stop": operation(
        "Stop the task's run (or its retry) as Ctrl-C does.",
        body={**_PATH, **_RETRY},
        body_required=["path"],
        errors=(400, 404, 409, 413),
    ),
    "GET /api/runs/events": operation(
        "The run's status as server-sent events (`progress`), until the client leaves.",
        query=_WHICH,
        required=["path"],
        media="text/event-stream",
    ),
}
