"""``grasp preview``: the terminal view, ``--json`` for tools, the selection flags, and
one-line errors; nothing is written beside the task."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grasp_core.cli import main
from grasp_core.cli.options import EXIT_ERROR, EXIT_OK
from grasp_core.mock_server import MockServer
from tests.core.runs.test_preview import files_in, loop_task


@pytest.fixture
def task(tmp_path: Path) -> Path:
    path = loop_task(tmp_path / "task")
    (path.parent / "models.yaml").write_text("m: {model: openai/gpt-4o-mini}\n")
    return path


def test_json_lists_the_sampled_records_and_the_estimate(
    task: Path, mock_server: MockServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """``-n 2 --json``: two records with their node runs, the estimate priced at the named
    model's price and labelled a mock run; the task's folder is left as it was."""
    before = files_in(task.parent)
    code = main(
        ["preview", str(task), "-n", "2", "--json", "--mock-url", mock_server.url, "--no-cache"]
    )
    assert code == EXIT_OK
    data = json.loads(capsys.readouterr().out)
    assert [r["record_id"] for r in data["records"]] == ["r0", "r1"]
    assert [n["node"] for n in data["records"][0]["nodes"]] == ["write", "revise", "count"]
    estimate = data["estimate"]
    assert estimate["records"] == 20
    assert estimate["mock"] is True
    assert estimate["priced_as"] == {"m": "openai/gpt-4o-mini"}
    assert estimate["total"]["cost_usd"]["value"] > 0
    assert files_in(task.parent) == before


def test_records_and_node_flags_select(
    task: Path, mock_server: MockServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--records r2,r0 --node count`` shows those records, only the count node's runs."""
    args = ["preview", str(task), "--records", "r2,r0", "--node", "count", "--json"]
    assert main([*args, "--mock-url", mock_server.url, "--no-cache"]) == EXIT_OK
    data = json.loads(capsys.readouterr().out)
    assert [r["record_id"] for r in data["records"]] == ["r2", "r0"]
    assert [[n["update"]["done"] for n in r["nodes"]] for r in data["records"]] == [[1, 2, 3], [1]]


def test_the_terminal_view_shows_prompts_replies_and_the_estimate(
    task: Path, mock_server: MockServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Per node: the prompt, the reply, the state change; then the estimate with its range,
    the mock label, and (on a second preview) which calls the cache answered."""
    args = ["preview", str(task), "-n", "1", "--mock-url", mock_server.url]
    assert main([*args, "--cache-dir", str(tmp_path / "cache")]) == EXIT_OK
    out = capsys.readouterr().out
    for expected in [
        "record r0",
        "▸ write",
        "user: write about topic 0",
        "reply: write about topic 0",
        'draft = "revise: write about topic 0"',
        "estimate for the full run: 20 records",
        "model calls",
        "an estimate at openai/gpt-4o-mini prices (mock run: nothing was billed)",
        "standard errors",
    ]:
        assert expected in out, expected
    assert "answered from the response cache" not in out
    assert main([*args, "--cache-dir", str(tmp_path / "cache")]) == EXIT_OK
    again = capsys.readouterr().out
    assert "answered from the response cache: r0/write#0, r0/revise#0" in again
    assert "from the cache" in again


def test_an_unknown_node_is_one_line(
    task: Path, mock_server: MockServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--node`` naming no node of the graph: exit 2 and one line listing the nodes."""
    args = ["preview", str(task), "--node", "nope", "--mock-url", mock_server.url, "--no-cache"]
    assert main(args) == EXIT_ERROR
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "grasp: error: --node 'nope' is not a node of this graph; its nodes are count, "
        "revise, write"
    ]
