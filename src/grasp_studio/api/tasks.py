"""Tasks of the workspace: the list, one task as the flow view shows it (its YAML, its graph
drawn, its nodes), and the edits made on the canvas, in a node's form or in the YAML editor.

Every edit goes through :mod:`grasp_studio.task_yaml` (ruamel round-trip), so the file keeps
its comments and key order."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import anyio.to_thread
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

import grasp_core
from grasp_studio import task_yaml
from grasp_studio.api._common import json_body, plain, task_file, text_field, workspace, write_text
from grasp_studio.flow import layout_graph
from grasp_studio.openapi import operation
from grasp_studio.workspace import Workspace

__all__ = ["routes"]

_EDITS = ("add_node", "remove_node", "add_edge", "remove_edge", "set_node")
_TASK_NAMES = ("task.yaml", "graph_config.yaml")
_TASK_KEY = re.compile(r"^graph_config\s*:", re.MULTILINE)
_SHOWN_MODEL_FIELDS = ("model", "api_base", "max_concurrency", "parameters")
"""What the Studio shows of a models-file entry: never a key, a header or a key file."""


async def list_tasks(request: Request) -> JSONResponse:
    """The workspace's task files, each with its node count and its run's state."""
    ws = workspace(request)
    tasks = await anyio.to_thread.run_sync(_tasks, ws)
    return JSONResponse({"workspace": str(ws.root), "mock": ws.mock, "tasks": tasks})


def _latest_run(path: Path) -> dict[str, Any] | None:
    """The state and counts of the task's run (None: the task does not load)."""
    try:
        status = grasp_core.run_status(path)
    except grasp_core.GraspError:
        return None
    progress = status.progress or {}
    done = progress.get("done", status.journal["done"]) + progress.get("earlier", 0)
    failed = progress.get("failed", status.journal["failed"])
    return {"state": status.state, "done": done, "failed": failed}


def _tasks(ws: Workspace) -> list[dict[str, Any]]:
    tasks = []
    for path in ws.task_files():
        try:
            graph = task_yaml.load(path).get("graph_config") or {}
            nodes: int | None = len(graph.get("nodes") or {})
        except (task_yaml.TaskYamlError, OSError, AttributeError):
            nodes = None  # shown as unknown: the flow view says what is wrong
        relative = ws.relative(path)
        tasks.append(
            {
                "path": relative,
                "name": path.parent.name or relative,
                "nodes": nodes,
                "run": _latest_run(path),
            }
        )
    return tasks


def _view(ws: Workspace, path: Path, text: str) -> dict[str, Any]:
    """What the flow view draws for the task file at ``path`` holding ``text``. Parsing and
    layout run in a worker thread (callers use :func:`_in_thread`): a large task never
    holds up the Studio's other requests."""
    relative = ws.relative(path)
    try:
        data = task_yaml.load_text(text, path.name)
    except task_yaml.TaskYamlError as exc:
        return {"path": relative, "yaml": text, "yaml_error": str(exc), "graph": None, "nodes": {}}
    graph = data.get("graph_config")
    graph = graph if isinstance(graph, Mapping) else {}
    nodes = graph.get("nodes")
    nodes = nodes if isinstance(nodes, Mapping) else {}

    def read_inner(target: str) -> Mapping[str, Any] | None:
        try:
            inner = ws.resolve(f"{ws.relative(path.parent)}/{target}")
            return task_yaml.load(inner) if inner.is_file() else None
        except (HTTPException, task_yaml.TaskYamlError, OSError, ValueError):
            return None  # drawn as a plain node

    return {
        "path": relative,
        "yaml": text,
        "yaml_error": None,
        "graph": layout_graph(graph, read_inner=read_inner),
        "nodes": plain(dict(nodes)),
        "lines": {
            str(name): task_yaml.line_of(data, ["graph_config", "nodes", name]) for name in nodes
        },
    }


def _task_text(path: Path) -> str:
    """The text of the task file at ``path``. A YAML file that is no task (a models file, a
    dataset's card) is not served: the Studio shows and edits tasks only."""
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.name not in _TASK_NAMES and not _TASK_KEY.search(text):
        raise HTTPException(404, f"{path.name} is not a task file (it has no graph_config)")
    return text


async def _in_thread(function: Callable[..., Any], *args: Any) -> Any:
    """``function(*args)`` in a worker thread: YAML parsing, layout and file writes never
    run on the event loop."""
    return await anyio.to_thread.run_sync(functools.partial(function, *args))


async def get_task(request: Request) -> JSONResponse:
    """One task: ``path`` in the workspace."""
    path = task_file(request, request.query_params.get("path"))
    ws = workspace(request)
    return JSONResponse(await _in_thread(lambda: _view(ws, path, _task_text(path))))


async def save_yaml(request: Request) -> JSONResponse:
    """Replace the task file's text with ``yaml`` (it must parse: a task file is never left
    broken by the Studio; what does not validate is still saved and shown as problems)."""
    body = await json_body(request)
    path = task_file(request, text_field(body, "path"))
    text = body.get("yaml")
    if not isinstance(text, str):
        raise HTTPException(400, "`yaml` must be the task file's text")
    return JSONResponse(await _in_thread(_save_yaml, workspace(request), path, text))


def _save_yaml(ws: Workspace, path: Path, text: str) -> dict[str, Any]:
    _task_text(path)
    try:
        task_yaml.load_text(text, path.name)
    except task_yaml.TaskYamlError as exc:
        raise HTTPException(400, str(exc)) from None
    write_text(path, text)
    return _view(ws, path, text)


async def edit_task(request: Request) -> JSONResponse:
    """One edit of the graph: ``op`` is ``add_node`` (``name``, ``node_type``, ``config``),
    ``remove_node`` (``name``), ``add_edge``/``remove_edge`` (``from``, ``to``) or
    ``set_node`` (``name``, ``values``: keys to set, ``null`` to remove)."""
    body = await json_body(request)
    path = task_file(request, text_field(body, "path"))
    op = body.get("op")
    if op not in _EDITS:
        raise HTTPException(400, f"`op` must be one of {', '.join(_EDITS)}, got {op!r}")
    return JSONResponse(await _in_thread(_edit_task, workspace(request), path, op, body))


def _edit_task(ws: Workspace, path: Path, op: str, body: dict[str, Any]) -> dict[str, Any]:
    try:
        data = task_yaml.load_text(_task_text(path), path.name)
        _apply(data, op, body)
    except task_yaml.TaskYamlError as exc:
        raise HTTPException(400, str(exc)) from None
    text = task_yaml.dump(data)
    write_text(path, text)
    return _view(ws, path, text)


def _apply(data: Any, op: str, body: dict[str, Any]) -> None:
    if op in ("add_edge", "remove_edge"):
        source, target = text_field(body, "from"), text_field(body, "to")
        edit = task_yaml.add_edge if op == "add_edge" else task_yaml.remove_edge
        edit(data, source, target)
        return
    name = text_field(body, "name")
    if op == "remove_node":
        task_yaml.remove_node(data, name)
        return
    if op == "add_node":
        if not name.isidentifier():
            raise HTTPException(400, f"node name {name!r}: use letters, digits and underscores")
        node_type = text_field(body, "node_type")
        if node_type not in grasp_core.nodes.names():
            raise HTTPException(400, f"unknown node type {node_type!r}")
        config = body.get("config") or {}
        if not isinstance(config, dict):
            raise HTTPException(400, "`config` must be an object")
        task_yaml.add_node(data, name, node_type, config)
        return
    values = body.get("values")
    if not isinstance(values, dict) or not values:
        raise HTTPException(400, "`values` must be an object of keys to set")
    if "node_type" in values:
        raise HTTPException(400, "a node's type is not changed in place: add a new node")
    task_yaml.set_node(data, name, values)


async def node_types(request: Request) -> JSONResponse:
    """The registered node types (built-in and third-party)."""
    return JSONResponse({"types": grasp_core.nodes.names()})


async def node_schema(request: Request) -> JSONResponse:
    """A node type's config as JSON schema (descriptions are its fields' docstrings)."""
    name = request.query_params.get("type", "")
    if name not in grasp_core.nodes.names():
        raise HTTPException(404, f"unknown node type {name!r}")
    node_class = grasp_core.nodes.get(name)
    model = getattr(node_class, "config_model", None)
    if model is None:
        raise HTTPException(404, f"node type {name!r} declares no config model")
    return JSONResponse({"type": name, "schema": model.model_json_schema(mode="validation")})


async def task_models(request: Request) -> JSONResponse:
    """The models file beside the task (``models.yaml``): each entry's route, endpoint and
    limits, and whether its key is available — never the key (credential-named parameters
    and headers, and a password in ``api_base``, are masked as in a run's provenance). A
    models file that leads out of the workspace (a symlink) is a 404."""
    path = task_file(request, request.query_params.get("path"))
    ws = workspace(request)
    folder = ws.relative(path.parent)
    relative = "models.yaml" if folder == "." else f"{folder}/models.yaml"
    if not (path.parent / "models.yaml").is_file():
        return JSONResponse({"file": None, "models": []})
    models_file = ws.resolve(relative)
    catalog = await anyio.to_thread.run_sync(grasp_core.ModelCatalog.load, models_file)
    models = []
    for name, spec in sorted(catalog.specs.items()):
        shown = {
            key: grasp_core.mask_secrets(plain(getattr(spec, key, None)))
            for key in _SHOWN_MODEL_FIELDS
        }
        env = getattr(spec, "api_key_env", None)
        shown["key"] = (
            {"from": "environment", "variable": env, "set": bool(os.environ.get(env))}
            if env
            else {"from": "file" if getattr(spec, "api_key_file", None) else "default"}
        )
        models.append({"name": name, **shown})
    return JSONResponse({"file": relative, "models": models})


routes: list[BaseRoute] = [
    Route("/api/tasks", list_tasks, methods=["GET"]),
    Route("/api/task", get_task, methods=["GET"]),
    Route("/api/task/yaml", save_yaml, methods=["POST"]),
    Route("/api/task/edit", edit_task, methods=["POST"]),
    Route("/api/models", task_models, methods=["GET"]),
    Route("/api/node-types", node_types, methods=["GET"]),
    Route("/api/node-schema", node_schema, methods=["GET"]),
]

_PATH = {"path": {"type": "string", "minLength": 1}}
openapi = {
    "GET /api/tasks": operation("The workspace's task files.", errors=()),
    "GET /api/task": operation(
        "One task: its YAML, its graph drawn, its nodes.", query=_PATH, required=["path"]
    ),
    "POST /api/task/yaml": operation(
        "Replace a task file's text (it must be YAML).",
        body={**_PATH, "yaml": {"type": "string"}},
        body_required=["path", "yaml"],
        errors=(400, 404, 413),
    ),
    "POST /api/task/edit": operation(
        "One edit of the graph: add_node, remove_node, add_edge, remove_edge, set_node.",
        body={
            **_PATH,
            "op": {"enum": list(_EDITS)},
            "name": {"type": "string"},
            "node_type": {"type": "string"},
            "config": {"type": "object"},
            "values": {"type": "object"},
            "from": {"type": "string"},
            "to": {"type": "string"},
        },
        body_required=["path", "op"],
        errors=(400, 404, 413),
    ),
    "GET /api/models": operation(
        "The models file beside a task, keys never shown.", query=_PATH, required=["path"]
    ),
    "GET /api/node-types": operation("The registered node types.", errors=()),
    "GET /api/node-schema": operation(
        "A node type's config as JSON schema.",
        query={"type": {"type": "string"}},
        required=["type"],
        errors=(404,),
    ),
}
