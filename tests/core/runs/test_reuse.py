"""--reuse-from / --reuse-nodes: an earlier run's journal provides the named nodes' outputs
by record, and only the nodes after them call the model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grasp_core import RunOptions, run_task
from grasp_core.errors import ConfigError
from grasp_core.mock_server import MockServer
from tests.conftest import write_task

CHAIN = """
data_config:
  source: {{type: disk, file_path: data.jsonl}}
  sink: {{type: jsonl, file_path: out.jsonl}}
graph_config:
  nodes:
    first:
      node_type: llm
      output_keys: draft
      prompt: [{{user: "{first_prompt} {{topic}}"}}]
      model: {{name: m}}
    second:
      node_type: llm
      output_keys: final
      prompt: [{{user: "improve: {{draft}}"}}]
      model: {{name: m}}
  edges:
    - {{from: START, to: first}}
    - {{from: first, to: second}}
    - {{from: second, to: END}}
"""

ROWS = "".join(json.dumps({"id": f"r{i}", "topic": f"topic {i}"}) + "\n" for i in range(3))


def _task(folder: Path, first_prompt: str) -> Path:
    files = {"data.jsonl": ROWS, "models.yaml": "m: {model: openai/m}\n"}
    return write_task(folder, CHAIN.format(first_prompt=first_prompt), files)


def _drafts(folder: Path) -> dict[str, str]:
    lines = (folder / "out.jsonl").read_text(encoding="utf-8").splitlines()
    return {row["id"]: row["draft"] for row in map(json.loads, lines)}


def test_reused_nodes_keep_their_outputs_though_their_prompt_changed(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """The reused node is not called; the next node runs on its earlier outputs."""
    earlier = tmp_path / "earlier"
    run_task(_task(earlier, "write about"), RunOptions(mock=mock_server.url, cache=False))
    before = _drafts(earlier)
    later = tmp_path / "later"
    mock_server.reset()
    options = RunOptions(mock=mock_server.url, cache=False, reuse_from=earlier, reuse_nodes="first")
    result = run_task(_task(later, "write a poem on"), options)
    texts = [str(r["messages"][-1]["content"]) for r in mock_server.requests()]
    assert sorted(texts) == sorted(f"improve: {draft}" for draft in before.values())
    assert _drafts(later) == before
    assert result.metrics["nodes"]["first"]["replayed_from_journal"] == 3


def test_the_journal_file_itself_may_be_given(tmp_path: Path, mock_server: MockServer) -> None:
    """--reuse-from takes the journal's path as well as its folder, even under --overwrite
    of the same run (the journal is read before it is deleted)."""
    task = _task(tmp_path, "write about")
    run_task(task, RunOptions(mock=mock_server.url, cache=False))
    before = _drafts(tmp_path)
    (journal,) = tmp_path.glob("*.journal.jsonl")
    mock_server.reset()
    options = RunOptions(
        mock=mock_server.url,
        cache=False,
        overwrite=True,
        reuse_from=journal,
        reuse_nodes=("first", "second"),
    )
    run_task(task, options)
    assert mock_server.requests() == []
    assert _drafts(tmp_path) == before


def test_bad_reuse_options_are_one_clear_error(tmp_path: Path, mock_server: MockServer) -> None:
    """An unknown node, a folder without a journal, or half of the pair is a ConfigError."""
    task = _task(tmp_path / "t", "write about")
    with pytest.raises(ConfigError, match="not nodes of this graph; its nodes are first, second"):
        run_task(task, RunOptions(mock=mock_server.url, reuse_from=tmp_path, reuse_nodes="frist"))
    with pytest.raises(ConfigError, match=r"expected one \*\.journal\.jsonl in the folder"):
        run_task(task, RunOptions(mock=mock_server.url, reuse_from=tmp_path, reuse_nodes="first"))
    with pytest.raises(ConfigError, match="go together"):
        RunOptions(reuse_from=tmp_path)
