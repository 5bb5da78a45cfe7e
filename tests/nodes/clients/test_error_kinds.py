"""Failure kinds are set where a transport error is translated, never read from message text."""

from __future__ import annotations

import socket
from pathlib import Path

from grasp_core import ModelCatalog, RunOptions, Task, run_task
from grasp_core.errors import ModelCallError, RetryableModelError
from grasp_nodes.clients.errors import error_for_status


def test_a_refused_connection_is_counted_as_connection(tmp_path: Path) -> None:
    """The fast lane's dropped or refused connection is counted as ``connection`` in the
    run's metrics (its kind is set where aiohttp's error is translated)."""
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    catalog = ModelCatalog.from_mapping(  # a catalog built in code
        {
            "m": {
                "model": "hosted_vllm/x",
                "api_base": f"http://127.0.0.1:{port}/v1",
                "max_retries": 0,
            }
        },
        source="test",
    )
    task = Task.from_dict(
        {
            "data_config": {"num_records": 1},
            "graph_config": {
                "nodes": {
                    "ask": {"node_type": "llm", "prompt": [{"user": "hi"}], "model": {"name": "m"}}
                },
                "edges": [{"from": "START", "to": "ask"}, {"from": "ask", "to": "END"}],
            },
        },
        task_dir=tmp_path,
    )
    result = run_task(task, RunOptions(models=catalog, output_dir=tmp_path))
    assert result.failed == 1
    assert result.metrics["models"]["m"]["errors"] == {"connection": 1}


def test_http_statuses_are_counted_by_status_and_408_as_timeout() -> None:
    """An HTTP error's kind is its status; 408 is a timeout."""
    assert error_for_status(429, "slow down", model="m", headers=None).kind == "429"
    assert error_for_status(503, "busy", model="m", headers=None).kind == "503"
    assert error_for_status(400, "bad", model="m", headers=None).kind == "400"
    assert error_for_status(408, "late", model="m", headers=None).kind == "timeout"


def test_the_message_text_never_decides_the_kind() -> None:
    """An error whose message mentions a connection is not counted as one unless translated so."""
    assert ModelCallError("model 'm': connection failed (x)").kind == "ModelCallError"
    assert RetryableModelError("model 'm': connection failed (x)").kind == "bad_response"
    assert RetryableModelError("anything", kind="connection").kind == "connection"
