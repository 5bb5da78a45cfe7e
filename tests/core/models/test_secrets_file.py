"""API keys from a secrets file: read from outside the task, never written anywhere."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grasp_core import RunOptions, run_task
from grasp_core.errors import CompileError, ConfigError
from grasp_core.mock_server import MockServer
from tests.conftest import write_task

SECRET = "sk-file-SECRET-0123456789"

TASK = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out.jsonl}
graph_config:
  nodes:
    ask: {node_type: llm, prompt: [{user: "{p}"}], model: {name: m}}
  edges: [{from: START, to: ask}, {from: ask, to: END}]
"""


def setup(tmp_path: Path, server: MockServer, key_file: str) -> tuple[Path, Path]:
    task = write_task(tmp_path / "task", TASK, {"data.jsonl": json.dumps({"id": 1, "p": "hi"})})
    models = tmp_path / "config" / "models.yaml"
    models.parent.mkdir()
    models.write_text(
        f"m:\n  model: openai/m\n  api_base: {server.url}/v1\n  api_key_file: {key_file}\n"
    )
    return task, models


def test_key_file_beside_the_models_file_is_used_and_never_written(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """A relative api_key_file resolves against the models file; the key reaches the
    server's Authorization header and no file the run writes."""
    task, models = setup(tmp_path, mock_server, "secret.key")
    (models.parent / "secret.key").write_text(SECRET + "\n")
    server = MockServer(log_bodies=True)
    with server.running() as url:
        models.write_text(models.read_text().replace(mock_server.url, url))
        result = run_task(task, RunOptions(models=models))
        (request,) = server.requests()
    assert result.done == 1
    assert request["headers"]["authorization"] == f"Bearer {SECRET}"
    for path in (tmp_path / "task").rglob("*"):
        if path.is_file():
            assert SECRET not in path.read_text(errors="replace"), path


def test_key_file_inside_the_task_folder_is_refused(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """Secrets must live outside the task folder; the error names the file, not the key."""
    task, models = setup(tmp_path, mock_server, str(tmp_path / "task" / "secret.key"))
    (tmp_path / "task" / "secret.key").write_text(SECRET)
    with pytest.raises(CompileError, match="inside the task folder") as info:
        run_task(task, RunOptions(models=models))
    assert SECRET not in str(info.value)


def test_missing_key_file_and_two_key_sources_are_config_errors(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """A missing file is named; api_key_env with api_key_file is ambiguous and refused."""
    task, models = setup(tmp_path, mock_server, "nowhere.key")
    with pytest.raises(ConfigError, match=r"cannot read api_key_file .*nowhere\.key"):
        run_task(task, RunOptions(models=models))
    models.write_text(models.read_text() + "  api_key_env: X\n")
    with pytest.raises(ConfigError, match="api_key_env or api_key_file, not both"):
        run_task(task, RunOptions(models=models))
