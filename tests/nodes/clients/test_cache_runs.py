"""The response cache across real runs over HTTP against the bundled mock server: a rerun
sends nothing and writes the same bytes, an edited node re-calls only itself and what
follows, identical prompts of a data-less run stay distinct calls, and the metrics count
hits, misses and what they saved."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from grasp_core import RunOptions, run_task
from grasp_core.mock_server import MockServer
from tests.conftest import write_task
from tests.core.cli.test_cli import grasp

CHAIN = """
data_config:
  source: {{type: disk, file_path: data.jsonl}}
  sink: {{type: jsonl, file_path: out.jsonl, ordered: true}}
graph_config:
  nodes:
    first:
      node_type: llm
      output_keys: draft
      prompt: [{{user: "write about {{topic}}"}}]
      model: {{name: m}}
    second:
      node_type: llm
      output_keys: final
      prompt: [{{user: "{second_prompt}: {{draft}}"}}]
      model: {{name: m}}
  edges:
    - {{from: START, to: first}}
    - {{from: first, to: second}}
    - {{from: second, to: END}}
output_config:
  output_map:
    id: {{from: id}}
    draft: {{from: draft}}
    final: {{from: final}}
"""

ROWS = "".join(json.dumps({"id": f"r{i}", "topic": f"topic {i}"}) + "\n" for i in range(4))
MODELS = "m: {model: openai/m}\n"


def _chain(folder: Path, second_prompt: str = "improve") -> Path:
    files = {"data.jsonl": ROWS, "models.yaml": MODELS}
    return write_task(folder, CHAIN.format(second_prompt=second_prompt), files)


def _options(server: MockServer, cache_dir: Path, **extra: object) -> RunOptions:
    return RunOptions(mock=server.url, overwrite=True, cache_dir=cache_dir, **extra)  # type: ignore[arg-type]


def _user_texts(server: MockServer) -> list[str]:
    return [str(r["messages"][-1]["content"]) for r in server.requests()]


def test_a_second_run_sends_no_request_and_writes_the_same_bytes(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """A rerun of an unchanged task is answered wholly from the cache."""
    task, cache = _chain(tmp_path / "task"), tmp_path / "cache"
    mock_server.reset()
    first = run_task(task, _options(mock_server, cache))
    assert len(mock_server.requests()) == 8
    written = (tmp_path / "task" / "out.jsonl").read_bytes()
    assert first.metrics["totals"]["cache"] == {"hits": 0, "misses": 8, "saved_cost_usd": 0.0}

    mock_server.reset()
    second = run_task(task, _options(mock_server, cache))
    assert mock_server.requests() == []
    assert (tmp_path / "task" / "out.jsonl").read_bytes() == written
    assert second.metrics["totals"]["model_calls"] == 0
    assert second.metrics["totals"]["cache"]["hits"] == 8
    node = second.metrics["nodes"]["second"]
    assert node["cache"]["hits"] == 4
    assert (
        second.metrics["models"]["m"]["cache"]["saved_completion_tokens"]
        == (first.metrics["models"]["m"]["completion_tokens"])
    )


def test_an_edited_node_re_calls_only_itself_and_what_follows(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """Changing the second node's prompt re-sends only the second node's requests."""
    cache = tmp_path / "cache"
    run_task(_chain(tmp_path / "task"), _options(mock_server, cache))
    mock_server.reset()
    result = run_task(_chain(tmp_path / "task", "shorten"), _options(mock_server, cache))
    texts = _user_texts(mock_server)
    assert len(texts) == 4
    assert all(text.startswith("shorten: ") for text in texts)
    assert result.metrics["nodes"]["first"]["cache"]["hits"] == 4
    assert result.metrics["nodes"]["second"]["cache"]["misses"] == 4


def test_identical_prompts_of_a_data_less_run_stay_distinct_calls(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """Five records asking the same prompt make five calls, and a rerun five hits."""
    task = """
    data_config: {num_records: 5, sink: {type: jsonl, file_path: out.jsonl}}
    graph_config:
      nodes:
        ask: {node_type: llm, output_keys: reply, prompt: [{user: "say something"}],
              model: {name: m}}
      edges: [{from: START, to: ask}, {from: ask, to: END}]
    """
    path = write_task(tmp_path / "task", task, {"models.yaml": MODELS})
    cache = tmp_path / "cache"
    mock_server.reset()
    run_task(path, _options(mock_server, cache))
    assert len(mock_server.requests()) == 5
    mock_server.reset()
    again = run_task(path, _options(mock_server, cache))
    assert mock_server.requests() == []
    assert again.metrics["totals"]["cache"]["hits"] == 5


def test_content_mode_shares_one_reply_across_records(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """With `cache: content` on the node, identical requests of any record share a reply."""
    task = """
    data_config: {num_records: 5, sink: {type: jsonl, file_path: out.jsonl}}
    graph_config:
      nodes:
        ask: {node_type: llm, output_keys: reply, prompt: [{user: "say something"}],
              model: {name: m, cache: content}}
      edges: [{from: START, to: ask}, {from: ask, to: END}]
    """
    path = write_task(tmp_path / "task", task, {"models.yaml": MODELS})
    mock_server.reset()
    result = run_task(
        path, RunOptions(mock=mock_server.url, cache_dir=tmp_path / "cache", window=1)
    )
    assert len(mock_server.requests()) == 1
    assert result.metrics["totals"]["cache"] == {"hits": 4, "misses": 1, "saved_cost_usd": 0.0}


def test_no_cache_and_refresh_cache_call_the_backend(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """`--no-cache` neither reads nor writes; `--refresh-cache` calls again and rewrites."""
    task, cache = _chain(tmp_path / "task"), tmp_path / "cache"
    run_task(task, _options(mock_server, cache, cache=False))
    assert not cache.exists()
    run_task(task, _options(mock_server, cache))
    mock_server.reset()
    refreshed = run_task(task, _options(mock_server, cache, refresh_cache=True))
    assert len(mock_server.requests()) == 8
    assert refreshed.metrics["totals"]["cache"]["hits"] == 0
    mock_server.reset()
    run_task(task, _options(mock_server, cache))
    assert mock_server.requests() == []


def test_failed_calls_are_not_cached(tmp_path: Path, mock_server: MockServer) -> None:
    """A reply failed for being cut off is asked again by the next run."""
    task = """
    data_config: {num_records: 2, sink: {type: jsonl, file_path: out.jsonl}}
    graph_config:
      nodes:
        ask: {node_type: llm, output_keys: reply, prompt: [{user: "one two three four"}],
              model: {name: m, parameters: {max_tokens: 2}}}
      edges: [{from: START, to: ask}, {from: ask, to: END}]
    """
    models = "m: {model: openai/m, max_retries: 0}\n"
    path = write_task(tmp_path / "task", task, {"models.yaml": models})
    cache = tmp_path / "cache"
    first = run_task(path, _options(mock_server, cache))
    assert first.failed == 2
    mock_server.reset()
    run_task(path, _options(mock_server, cache))
    assert len(mock_server.requests()) == 2


def test_the_default_folder_follows_xdg_cache_home(tmp_path: Path, mock_server: MockServer) -> None:
    """Without a cache folder option, replies go under $XDG_CACHE_HOME/grasp/responses."""
    run_task(_chain(tmp_path / "task"), RunOptions(mock=mock_server.url))
    folder = Path(os.environ["XDG_CACHE_HOME"]) / "grasp" / "responses"
    assert list(folder.glob("seg-*.log"))


def test_the_cache_never_holds_the_api_key(
    tmp_path: Path, mock_server: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Entries hold replies only: the key sent with every request is in no cache file."""
    secret = "sk-cache-test-0123456789abcdef"
    monkeypatch.setenv("CACHE_TEST_KEY", secret)
    models = (
        f"m: {{model: openai/m, api_base: '{mock_server.url}/v1', api_key_env: CACHE_TEST_KEY}}\n"
    )
    files = {"data.jsonl": ROWS, "models.yaml": models}
    task = write_task(tmp_path / "task", CHAIN.format(second_prompt="improve"), files)
    cache = tmp_path / "cache"
    mock_server.reset()
    run_task(task, RunOptions(cache_dir=cache))
    assert len(mock_server.requests()) == 8
    stored = b"".join(p.read_bytes() for p in cache.iterdir() if p.is_file())
    assert b"".join(p.read_bytes() for p in cache.glob("seg-*.log")).count(b"\n") == 8
    assert secret.encode() not in stored  # nor in the segments' indexes


def test_grasp_run_shows_hits_misses_and_savings(tmp_path: Path, mock_server: MockServer) -> None:
    """The progress lines, the printed summary and summary.json count the cache's hits
    and misses and what the hits saved, per node; --cache-dir and --no-cache are flags."""
    models = "m: {model: openai/m, cost: {input_per_million: 1, output_per_million: 2}}\n"
    files = {"data.jsonl": ROWS, "models.yaml": models}
    task = write_task(tmp_path / "task", CHAIN.format(second_prompt="improve"), files)
    flags = ["--mock-url", mock_server.url, "--overwrite", "--cache-dir", tmp_path / "cache"]
    first = grasp("run", task, *flags, "--progress-every", "0.05", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "response cache: 0 hits, 8 misses, saved $0.0000" in first.stdout
    again = grasp("run", task, *flags, "--progress-every", "0.05", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "response cache: 8 hits (first ×4, second ×4), 0 misses, saved $0.0" in again.stdout
    events = [json.loads(line) for line in again.stderr.splitlines() if line.startswith("{")]
    last = [e for e in events if e.get("event") == "progress"][-1]
    assert (last["cache_hits"], last["cache_misses"]) == (8, 0)
    assert last["saved_usd"] > 0
    summary = json.loads((tmp_path / "task" / "out.summary.json").read_text(encoding="utf-8"))
    assert summary["totals"]["cache"]["hits"] == 8
    assert summary["totals"]["cache"]["saved_cost_usd"] == pytest.approx(last["saved_usd"])
    assert summary["nodes"]["first"]["cache"]["hits"] == 4
    off = grasp("run", task, *flags, "--no-cache", cwd=tmp_path)
    assert off.returncode == 0, off.stderr
    assert "response cache" not in off.stdout


def test_runs_on_the_bundled_mock_share_entries_whatever_its_port(tmp_path: Path) -> None:
    """`--mock` starts a server on a new port each run; its replies are still found."""
    task, cache = _chain(tmp_path / "task"), tmp_path / "cache"
    run_task(task, RunOptions(mock=True, overwrite=True, cache_dir=cache))
    again = run_task(task, RunOptions(mock=True, overwrite=True, cache_dir=cache))
    assert again.metrics["totals"]["model_calls"] == 0
    assert again.metrics["totals"]["cache"]["hits"] == 8


def test_a_kept_cut_off_reply_is_reused_only_while_the_node_keeps_them(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """A reply kept cut off is stored; a rerun that now fails such replies asks again."""
    task = """
    data_config: {{num_records: 2, sink: {{type: jsonl, file_path: out.jsonl}}}}
    graph_config:
      nodes:
        ask: {{node_type: llm, output_keys: reply, prompt: [{{user: "one two three four"}}],
              model: {{name: m, parameters: {{max_tokens: 2}}}}, on_truncated: {action}}}
      edges: [{{from: START, to: ask}}, {{from: ask, to: END}}]
    """
    models = {"models.yaml": "m: {model: openai/m, max_retries: 0}\n"}
    cache = tmp_path / "cache"
    kept = run_task(write_task(tmp_path / "t", task.format(action="keep"), models),
                    _options(mock_server, cache))  # fmt: skip
    assert kept.done == 2
    mock_server.reset()
    again = run_task(write_task(tmp_path / "t", task.format(action="keep"), models),
                     _options(mock_server, cache))  # fmt: skip
    assert (again.done, len(mock_server.requests())) == (2, 0)
    mock_server.reset()
    strict = run_task(write_task(tmp_path / "t", task.format(action="fail"), models),
                      _options(mock_server, cache))  # fmt: skip
    assert (strict.failed, len(mock_server.requests())) == (2, 2)
