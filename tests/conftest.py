"""Shared fixtures: a mock LLM server over loopback, and task folders in tmp_path."""

from __future__ import annotations

import os
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from grasp_core.mock_server import MockServer

REPO_ROOT = Path(__file__).resolve().parents[1]
"""The repository's root folder (examples/, src/, benchmarks/ hang off it)."""


@pytest.fixture(scope="session")
def mock_server() -> Iterator[MockServer]:
    """One mock server for the whole session; tests that count requests call reset()."""
    server = MockServer(max_seconds=1800)
    with server.running():
        yield server


@pytest.fixture
def mock_url(mock_server: MockServer) -> str:
    return mock_server.url


def write_task(folder: Path, task_yaml: str, files: dict[str, str] | None = None) -> Path:
    """Write ``task.yaml`` (dedented) and helper files into ``folder``; return the task path."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in (files or {}).items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(content), encoding="utf-8")
    task = folder / "task.yaml"
    task.write_text(textwrap.dedent(task_yaml), encoding="utf-8")
    return task


def copy_task_yaml(sink: str = "{type: jsonl, file_path: out.jsonl}") -> str:
    """A one-node task: the lambda ``steps.copy`` over ``data.jsonl`` into ``sink``."""
    return f"""
data_config:
  source: {{type: disk, file_path: data.jsonl}}
  sink: {sink}
graph_config:
  nodes:
    copy:
      node_type: lambda
      lambda: steps.copy
      output_keys: copied
  edges:
    - {{from: START, to: copy}}
    - {{from: copy, to: END}}
"""


@pytest.fixture(autouse=True)
def _isolate_globals(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Undo what in-process runs and CLI calls change globally: sys.path (task folders are
    added for dotted paths), $GRASP_MODELS, and structlog's output stream (a CLI call binds
    it to the captured stderr of its test, closed afterwards). Each test gets its own
    $XDG_CACHE_HOME, so runs never read or fill the user's response cache, nor another
    test's (child processes inherit it)."""
    monkeypatch.setattr(sys, "path", [*sys.path])
    monkeypatch.delenv("GRASP_MODELS", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    yield
    structlog.reset_defaults()


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    """One local Ray cluster (2 CPUs, loopback, no dashboard) for the module that asks for it."""
    ray = pytest.importorskip("ray")
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _node_ip_address="127.0.0.1")
    yield
    ray.shutdown()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
