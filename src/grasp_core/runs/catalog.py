"""The models a run calls: its catalog (models file, or every model routed to a mock
server) and the model names of a built graph's nodes."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from grasp_core.config.task_file import Task
from grasp_core.graph.compiled import CompiledGraph
from grasp_core.models.cache import default_cache_dir
from grasp_core.models.catalog import ModelCatalog, find_models_file
from grasp_core.runs.options import RunOptions

__all__ = ["catalog_for", "graph_models", "mock_server_for"]


@contextlib.contextmanager
def mock_server_for(mock: bool | str) -> Iterator[str | None]:
    """The mock server's URL for ``--mock`` (one started for the block) or ``--mock-url``."""
    if isinstance(mock, str):
        yield mock.rstrip("/")
    elif mock:
        from grasp_core.mock_server import MockServer

        with MockServer(keep_requests=0).running() as url:  # no one reads its log here
            yield url
    else:
        yield None


def catalog_for(task: Task, options: RunOptions, mock_url: str | None) -> ModelCatalog:
    """The run's catalog: ``options.models``, else the models file found for the task;
    every model routed to ``mock_url`` when there is one. Its response cache folder is
    resolved here, in the process starting the run, so that Ray shards use the same."""
    if isinstance(options.models, ModelCatalog):
        catalog = options.models
    else:
        explicit = Path(options.models) if options.models is not None else None
        path = find_models_file(explicit, task.task_dir)
        catalog = ModelCatalog.load(path) if path is not None else ModelCatalog()
    if catalog.cache_dir is None:
        catalog = dataclasses.replace(catalog, cache_dir=default_cache_dir())
    return catalog.with_mock(mock_url) if mock_url is not None else catalog


def _models_of(node: Any) -> list[str]:
    """The model names a built node calls (its ``model_names``; none for most types)."""
    names = getattr(node, "model_names", ())
    return list(names)


def graph_models(graph: CompiledGraph) -> list[str]:
    """Every model the graph's nodes call, sorted."""
    return sorted({m for n in graph.nodes.values() for m in _models_of(n.node)})
