"""Replies cut off at max_tokens or empty, over real HTTP against the bundled mock server:
counted per model and node, failed, retried or kept (flagged on the record) as the model
entry says, a node's own setting winning over it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grasp_core import RunOptions, RunResult, run_task
from grasp_core.cli import main
from grasp_core.mock_server import MockServer
from tests.conftest import write_task

TASK = """
data_config:
  source: {{type: disk, file_path: data.jsonl}}
  sink: {{type: jsonl, file_path: out.jsonl}}
graph_config:
  nodes:
    ask:
      node_type: llm
      output_keys: reply
      prompt: [{{user: "{{prompt}}"}}]
      model: {{name: m, parameters: {{max_tokens: 3}}}}
{node}
  edges:
    - {{from: START, to: ask}}
    - {{from: ask, to: END}}
{output}
"""

MODELS = """
m:
  model: openai/m
  max_retries: {retries}
  transport: {transport}
{entry}
"""

LONG = "one two three four five"
"""Five words: cut to three by the node's max_tokens (the mock counts a word a token)."""


@pytest.fixture(params=["auto", "litellm"])
def transport(request: pytest.FixtureRequest) -> str:
    """Both transports read finish_reason and empty replies alike."""
    return str(request.param)


def run(
    tmp_path: Path,
    server: MockServer,
    prompts: list[str],
    *,
    node: str = "",
    entry: str = "",
    retries: int = 0,
    transport: str = "auto",
    output: str = "",
) -> RunResult:
    rows = "".join(json.dumps({"id": i, "prompt": p}) + "\n" for i, p in enumerate(prompts))
    models = MODELS.format(retries=retries, transport=transport, entry=entry)
    task = TASK.format(node=node, output=output)
    path = write_task(tmp_path, task, {"data.jsonl": rows, "models.yaml": models})
    return run_task(path, RunOptions(mock=server.url))


def outputs(tmp_path: Path) -> dict[int, dict[str, object]]:
    lines = (tmp_path / "out.jsonl").read_text().splitlines()
    return {json.loads(line)["id"]: json.loads(line) for line in lines}


def failures(result: RunResult) -> dict[str, dict[str, object]]:
    lines = result.failures_path.read_text().splitlines()
    return {json.loads(line)["id"]: json.loads(line) for line in lines}


def test_a_reply_cut_off_at_max_tokens_fails_its_record_by_default(
    tmp_path: Path, mock_server: MockServer, transport: str
) -> None:
    """By default a truncated reply fails its record at once (no retry), the reason naming the
    node, the model, max_tokens and the setting to change; it is counted per model and node."""
    mock_server.reset()
    result = run(tmp_path, mock_server, [LONG, "short"], retries=3, transport=transport)
    assert (result.done, result.failed) == (1, 1)
    assert outputs(tmp_path)[1]["reply"] == "short"
    failure = failures(result)["0"]
    assert (failure["node"], failure["attempts"]) == ("ask", 1)
    reason = str(failure["reason"])
    for part in ("node 'ask'", "model 'm'", "max_tokens=3", "finish_reason 'length'"):
        assert part in reason
    assert "on_truncated" in reason
    assert len(mock_server.requests()) == 2
    model = result.metrics["models"]["m"]
    assert (model["truncated_replies"], model["failures"], model["errors"]) == (
        1,
        1,
        {"truncated": 1},
    )
    assert result.metrics["nodes"]["ask"]["truncated_replies"] == 1
    assert result.metrics["totals"]["truncated_replies"] == 1


def test_on_truncated_keep_writes_the_reply_flagged(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """With `on_truncated: keep` on the node, the cut reply is written and the record lists it
    under reply_flags; a whole reply adds no flag."""
    result = run(tmp_path, mock_server, [LONG, "short"], node="      on_truncated: keep")
    assert (result.done, result.failed) == (2, 0)
    out = outputs(tmp_path)
    assert out[0]["reply"] == "one two three"
    assert out[0]["reply_flags"] == [{"node": "ask", "model": "m", "flag": "truncated"}]
    assert "reply_flags" not in out[1]
    assert result.metrics["models"]["m"]["truncated_replies"] == 1
    assert result.metrics["models"]["m"]["errors"] == {}


def test_an_output_map_record_still_carries_its_reply_flags(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """An output_map that does not name reply_flags still writes them on flagged records."""
    output = "output_config:\n  output_map:\n    id: {from: id}\n    answer: {from: reply}"
    run(tmp_path, mock_server, [LONG, "short"], entry="  on_truncated: keep", output=output)
    out = outputs(tmp_path)
    assert out[0] == {
        "id": 0,
        "answer": "one two three",
        "reply_flags": [{"node": "ask", "model": "m", "flag": "truncated"}],
    }
    assert out[1] == {"id": 1, "answer": "short"}


def test_the_node_setting_wins_over_the_model_entry(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """The model entry's `on_truncated: keep` applies to a node that says nothing, and a
    node's own `on_truncated: fail` overrides it."""
    kept = run(tmp_path / "kept", mock_server, [LONG], entry="  on_truncated: keep")
    assert (kept.done, kept.failed) == (1, 0)
    failed = run(
        tmp_path / "failed",
        mock_server,
        [LONG],
        entry="  on_truncated: keep",
        node="      on_truncated: fail",
    )
    assert (failed.done, failed.failed) == (0, 1)


def test_on_truncated_retry_asks_again_within_the_retries_then_fails(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """`retry` sends the request again up to max_retries; still cut off, the record fails
    after every attempt, each truncated reply counted."""
    mock_server.reset()
    result = run(tmp_path, mock_server, [LONG], retries=2, entry="  on_truncated: retry")
    assert (result.done, result.failed) == (0, 1)
    failure = failures(result)["0"]
    assert failure["attempts"] == 3
    assert "after 3 attempts" in str(failure["reason"])
    assert len(mock_server.requests()) == 3
    model = result.metrics["models"]["m"]
    assert (model["truncated_replies"], model["retries"], model["failures"]) == (3, 2, 1)


def test_an_empty_reply_is_asked_again_by_default_then_fails(
    tmp_path: Path, mock_server: MockServer, transport: str
) -> None:
    """A reply with no text and no tool calls is retried by default: a passing blank is
    replaced by the next answer; one that stays blank fails its record once retries run out."""
    mock_server.reset()
    prompts = ["x [[mock:blank:1]]", "y [[mock:blank]]"]
    result = run(tmp_path, mock_server, prompts, retries=2, transport=transport)
    assert (result.done, result.failed) == (1, 1)
    assert outputs(tmp_path)[0]["reply"] == "x"
    failure = failures(result)["1"]
    assert failure["attempts"] == 3
    assert "the reply was empty" in str(failure["reason"])
    assert "on_empty" in str(failure["reason"])
    model = result.metrics["models"]["m"]
    assert (model["empty_replies"], model["retries"], model["errors"]) == (4, 3, {"empty": 4})
    assert result.metrics["nodes"]["ask"]["empty_replies"] == 4


def test_on_empty_keep_writes_a_flagged_record_and_fail_fails_at_once(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """`on_empty: keep` writes the blank reply flagged; `fail` fails without a retry."""
    kept = run(tmp_path / "kept", mock_server, ["[[mock:blank]]"], node="      on_empty: keep")
    (record,) = outputs(tmp_path / "kept").values()
    assert (kept.done, record["reply"]) == (1, "")
    assert record["reply_flags"] == [{"node": "ask", "model": "m", "flag": "empty"}]
    mock_server.reset()
    failed = run(
        tmp_path / "failed", mock_server, ["[[mock:blank]]"], retries=3, entry="  on_empty: fail"
    )
    assert (failed.failed, failures(failed)["0"]["attempts"]) == (1, 1)
    assert len(mock_server.requests()) == 1


def test_flags_from_inside_a_subgraph_reach_the_record_once(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """A reply kept inside a subgraph is flagged on the outer record, each flag once."""
    task = """
    data_config:
      source: {type: disk, file_path: data.jsonl}
      sink: {type: jsonl, file_path: out.jsonl}
    graph_config:
      nodes:
        first:
          node_type: llm
          output_keys: a
          on_truncated: keep
          prompt: [{user: "{prompt}"}]
          model: {name: m, parameters: {max_tokens: 3}}
        inner:
          node_type: subgraph
          graph_config:
            nodes:
              second:
                node_type: llm
                output_keys: b
                on_truncated: keep
                prompt: [{user: "{prompt}"}]
                model: {name: m, parameters: {max_tokens: 2}}
            edges:
              - {from: START, to: second}
              - {from: second, to: END}
      edges:
        - {from: START, to: first}
        - {from: first, to: inner}
        - {from: inner, to: END}
    """
    rows = json.dumps({"id": 0, "prompt": LONG}) + "\n"
    files = {"data.jsonl": rows, "models.yaml": "m: {model: openai/m}\n"}
    result = run_task(write_task(tmp_path, task, files), RunOptions(mock=mock_server.url))
    assert result.done == 1
    (record,) = outputs(tmp_path).values()
    assert (record["a"], record["b"]) == ("one two three", "one two")
    assert record["reply_flags"] == [
        {"node": "first", "model": "m", "flag": "truncated"},
        {"node": "second", "model": "m", "flag": "truncated"},
    ]


def test_the_printed_summary_and_summary_json_count_defective_replies(
    tmp_path: Path, mock_server: MockServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """`grasp run` prints how many replies were cut off or empty, by node, and summary.json
    counts them in its totals."""
    rows = "".join(json.dumps({"id": i, "prompt": p}) + "\n" for i, p in enumerate([LONG] * 2))
    models = MODELS.format(retries=0, transport="auto", entry="  on_truncated: keep")
    task = write_task(tmp_path, TASK.format(node="", output=""), {"data.jsonl": rows})
    (tmp_path / "models.yaml").write_text(models, encoding="utf-8")
    assert main(["run", str(task), "--mock-url", mock_server.url]) == 0
    printed = capsys.readouterr().out
    assert "2 replies cut off at max_tokens: ask ×2 (see on_truncated)" in printed
    summary = json.loads((tmp_path / "out.summary.json").read_text(encoding="utf-8"))
    assert summary["totals"]["truncated_replies"] == 2
    assert summary["nodes"]["ask"]["truncated_replies"] == 2
