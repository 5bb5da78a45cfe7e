"""The Ray executor on a local cluster: same output as a local run, global backend limits,
per-shard resume after a killed worker or driver, and bounded retries of a failing shard."""

from __future__ import annotations

import dataclasses
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from grasp_core import RunOptions, RunResult, run_task
from grasp_core.cli import main
from grasp_core.cli.options import EXIT_BUDGET
from grasp_core.errors import ConfigError
from grasp_core.executors.ray import MAX_ATTEMPTS, ShardFailedError
from grasp_core.mock_server import Latency, MockServer
from grasp_core.models.catalog import ModelCatalog, ModelSpec
from tests.conftest import write_task

ray = pytest.importorskip("ray")

pytestmark = pytest.mark.slow

LLM_TASK = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: %s
graph_config:
  nodes:
    ask:
      node_type: llm
      output_keys: answer
      prompt: [{user: "Say {text}"}]
      model: {name: m}
  edges:
    - {from: START, to: ask}
    - {from: ask, to: END}
output_config:
  output_map:
    id: {from: id}
    answer: {from: answer}
"""

LAMBDA_TASK = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out/out.jsonl}
graph_config:
  nodes:
    step:
      node_type: lambda
      lambda: steps.%s
      output_keys: copied
  edges:
    - {from: START, to: step}
    - {from: step, to: END}
"""

STEPS = """
import os, time
from pathlib import Path

HERE = Path(__file__).parent

def crash_once(state):
    marker = HERE / "crashed"
    if state["id"] == "r7" and not marker.exists():
        marker.write_text("x")
        os._exit(1)
    return {"copied": state["id"]}

def always_crash(state):
    if state["id"] == "r5":
        os._exit(1)
    return {"copied": state["id"]}

def slow(state):
    time.sleep(0.03)
    return {"copied": state["id"]}
"""


@pytest.fixture(scope="module")
def slow_mock() -> Iterator[MockServer]:
    """A mock whose replies take 50 ms, so calls overlap and in-flight counts mean something."""
    server = MockServer(latency=Latency.parse("fixed:0.05"), max_seconds=600)
    with server.running():
        yield server


def records(n: int) -> str:
    return "".join(json.dumps({"id": f"r{i}", "text": f"hello {i}"}) + "\n" for i in range(n))


def catalog(max_concurrency: int) -> ModelCatalog:
    return ModelCatalog(specs={"m": ModelSpec(model="openai/m", max_concurrency=max_concurrency)})


def canonical(result: RunResult) -> list[str]:
    return sorted(json.dumps(r, sort_keys=True) for r in result.records())


def output_ids(path: Path) -> list[str]:
    return sorted(json.loads(line)["id"] for line in path.read_bytes().splitlines() if line)


def test_ray_output_equals_the_local_output(
    cluster: None, tmp_path: Path, mock_server: MockServer
) -> None:
    """Same task, same deterministic mock: the Ray run writes the local run's records."""
    files = {"data.jsonl": records(60)}
    local_task = write_task(
        tmp_path / "local", LLM_TASK % "{type: jsonl, file_path: out.jsonl}", files
    )
    ray_task = write_task(
        tmp_path / "ray", LLM_TASK % "{type: parquet, file_path: out.parquet}", files
    )
    local = run_task(local_task, RunOptions(mock=mock_server.url, models=catalog(8)))
    distributed = run_task(
        ray_task,
        RunOptions(mock=mock_server.url, models=catalog(8), executor="ray", num_shards=3),
    )
    assert (distributed.done, distributed.failed) == (60, 0)
    assert canonical(distributed) == canonical(local)
    assert distributed.output_paths == [tmp_path / "ray" / "out.parquet"]
    assert sorted(distributed.metrics["shards"]) == ["0", "1", "2"]
    assert all(s["done"] > 0 for s in distributed.metrics["shards"].values())


def test_a_backend_limit_holds_across_all_shards(
    cluster: None, tmp_path: Path, slow_mock: MockServer
) -> None:
    """max_concurrency 4 with 4 shards: the server never sees more than 4 requests at once."""
    task = write_task(
        tmp_path, LLM_TASK % "{type: jsonl, file_path: out.jsonl}", {"data.jsonl": records(48)}
    )
    slow_mock.reset()
    result = run_task(
        task,
        RunOptions(mock=slow_mock.url, models=catalog(4), executor="ray", num_shards=4, window=16),
    )
    assert result.done == 48
    stats = slow_mock.stats()
    assert stats["requests"] == 48
    assert 2 <= stats["max_in_flight"] <= 4
    assert result.metrics["backends"]["m"]["most_leased"] <= 4


def test_a_killed_worker_resumes_its_shard_without_loss_or_duplicates(
    cluster: None, tmp_path: Path
) -> None:
    """A worker dies mid-shard; the retry resumes from the shard's journal: every record once."""
    task = write_task(
        tmp_path,
        LAMBDA_TASK % "crash_once",
        {"data.jsonl": records(40), "steps.py": STEPS},
    )
    result = run_task(task, RunOptions(executor="ray", num_shards=2, batch_size=4, window=4))
    assert (tmp_path / "crashed").is_file()
    assert result.done + result.previously_done == 40
    assert output_ids(tmp_path / "out" / "out.jsonl") == sorted(f"r{i}" for i in range(40))


def test_a_shard_that_keeps_failing_is_reported_with_its_journal(
    cluster: None, tmp_path: Path
) -> None:
    """A shard whose worker dies on every attempt stops after MAX_ATTEMPTS with a clear error."""
    task = write_task(
        tmp_path, LAMBDA_TASK % "always_crash", {"data.jsonl": records(12), "steps.py": STEPS}
    )
    with pytest.raises(ShardFailedError) as caught:
        run_task(task, RunOptions(executor="ray", num_shards=2))
    message = str(caught.value)
    bad = 0 if "shard 0 (" in message else 1  # the shard holding r5
    journal = tmp_path / "out" / "out.shards" / f"shard-{bad:05d}" / "output.journal.jsonl"
    assert f"1 of 2 shards failed: shard {bad} (journal {journal}) after {MAX_ATTEMPTS}" in message
    assert "--resume" in message


def test_killing_the_driver_then_resuming_finishes_every_shard(
    cluster: None, tmp_path: Path
) -> None:
    """SIGKILL the driver mid-run; `--resume` reuses each shard's journal: none lost or doubled."""
    task = write_task(
        tmp_path, LAMBDA_TASK % "slow", {"data.jsonl": records(120), "steps.py": STEPS}
    )
    address = ray.get_runtime_context().gcs_address
    command = [
        sys.executable, "-m", "grasp_core", "run", str(task), "--quiet",
        "--executor", "ray", "--num-shards", "2", "--ray-address", address, "--window", "2",
    ]  # fmt: skip
    driver = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    journals = [
        tmp_path / "out" / "out.shards" / f"shard-{i:05d}" / "output.journal.jsonl"
        for i in range(2)
    ]
    deadline = time.monotonic() + 90
    while not all(_committed(j) for j in journals):
        assert driver.poll() is None, "the driver finished before it could be killed"
        assert time.monotonic() < deadline, "the shards never committed anything"
        time.sleep(0.1)
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    assert not (tmp_path / "out" / "out.jsonl").is_file()
    result = run_task(task, RunOptions(executor="ray", resume=True))
    assert result.previously_done > 0
    assert result.done > 0
    assert result.done + result.previously_done == 120
    assert output_ids(tmp_path / "out" / "out.jsonl") == sorted(f"r{i}" for i in range(120))


def _committed(journal: Path) -> bool:
    return journal.is_file() and b'"record_done"' in journal.read_bytes()


def test_a_fresh_run_refuses_an_earlier_runs_shards(cluster: None, tmp_path: Path) -> None:
    """Shards left by an earlier run need --resume or --overwrite."""
    task = write_task(tmp_path, LAMBDA_TASK % "slow", {"data.jsonl": records(4), "steps.py": STEPS})
    first: Any = run_task(task, RunOptions(executor="ray", num_shards=2))
    assert first.done == 4
    with pytest.raises(Exception, match="--resume"):
        run_task(task, RunOptions(executor="ray", num_shards=2))
    with pytest.raises(Exception, match="split into 2 shards"):
        run_task(task, RunOptions(executor="ray", num_shards=3, resume=True))
    again = run_task(task, RunOptions(executor="ray", resume=True))
    assert (again.done, again.previously_done) == (0, 4)


def test_a_data_less_run_splits_its_record_numbers(
    cluster: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without a source, the shards generate record numbers 0..N-1 between them, each once;
    with progress on, the driver reports each shard's counts."""
    task = write_task(
        tmp_path,
        """
        data_config:
          num_records: 25
          sink: {type: csv, file_path: out/out.csv}
        graph_config:
          nodes:
            step: {node_type: lambda, lambda: steps.number, output_keys: n}
          edges:
            - {from: START, to: step}
            - {from: step, to: END}
        """,
        {"steps.py": "def number(state):\n    return {'n': 1}\n"},
    )
    result = run_task(task, RunOptions(executor="ray", num_shards=3, progress="json"))
    assert result.done == 25
    reported = [line for line in capsys.readouterr().err.splitlines() if line.startswith("shard ")]
    assert {line.split(":")[0] for line in reported} <= {"shard 1/3", "shard 2/3", "shard 3/3"}
    assert any(" done" in line for line in reported)
    assert len(list(result.records())) == 25
    shard_ids = [
        sorted(json.loads(line)["id"] for line in part.read_text().splitlines())
        for part in sorted((tmp_path / "out" / "out.shards").glob("shard-*/output.jsonl"))
    ]
    assert sorted(i for ids in shard_ids for i in ids) == sorted(str(i) for i in range(25))


BUDGET_TASK = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out.jsonl}
graph_config:
  nodes:
    ask:
      node_type: llm
      output_keys: answer
      prompt: [{user: "Say {text} [[mock:latency=0.02]]"}]
      model: {name: m}
  edges:
    - {from: START, to: ask}
    - {from: ask, to: END}
output_config:
  output_map:
    id: {from: id}
    answer: {from: answer}
"""
TOKENS_PER_RECORD = 6
"""The mock counts words: "Say hello 7" in (markers stripped), the same echoed out."""


def test_a_token_cap_holds_for_the_whole_run_and_a_higher_cap_finishes_it(
    cluster: None, tmp_path: Path, mock_server: MockServer
) -> None:
    """Two shards share one cap: the run stops near it (not at twice it) with whole records
    only; resuming with the same cap admits nothing; a higher cap writes the rest, each once."""
    task = write_task(tmp_path, BUDGET_TASK, {"data.jsonl": records(200)})
    cap = 60 * TOKENS_PER_RECORD
    options = RunOptions(
        mock=mock_server.url, models=catalog(4), executor="ray", num_shards=2, window=2
    )
    first = run_task(task, dataclasses.replace(options, max_tokens=cap))
    assert first.stopped_by_budget
    assert first.interrupted
    assert not first.ok
    spent = first.metrics["budget"]["spent_total"]["tokens"]
    assert cap <= spent < 1.5 * cap  # per-shard caps would let it reach twice the cap
    assert spent == TOKENS_PER_RECORD * first.done  # no call for a record left unwritten
    assert "--max-tokens 360" in first.metrics["budget"]["reason"]
    written = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert len({r["id"] for r in written}) == len(written) == first.done
    assert all(r["answer"] == f"Say hello {r['id'][1:]}" for r in written)
    metrics = json.loads((tmp_path / "out.metrics.json").read_text())
    assert metrics["records"]["stopped_by_budget"] is True
    assert metrics["budget"]["spent_total"]["tokens"] == spent

    again = run_task(task, dataclasses.replace(options, max_tokens=cap, resume=True))
    assert again.stopped_by_budget
    assert (again.done, again.previously_done) == (0, first.done)
    assert output_ids(tmp_path / "out.jsonl") == sorted(r["id"] for r in written)

    final = run_task(task, dataclasses.replace(options, max_tokens=10**6, resume=True))
    assert not final.stopped_by_budget
    assert final.ok
    assert final.done + first.done == 200
    assert output_ids(tmp_path / "out.jsonl") == sorted(f"r{i}" for i in range(200))
    budget = json.loads((tmp_path / "out.metrics.json").read_text())["budget"]
    assert budget["spent_earlier"]["tokens"] == spent
    assert budget["spent_total"]["tokens"] == 200 * TOKENS_PER_RECORD


def test_the_cli_exits_3_when_a_ray_run_reaches_the_task_files_cap(
    cluster: None, tmp_path: Path, mock_server: MockServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """`budget: {max_tokens: N}` in the task file caps a Ray run: exit code 3 and the hint to
    resume with a higher cap."""
    task = write_task(
        tmp_path,
        BUDGET_TASK + "budget: {max_tokens: 60}\n",
        {"data.jsonl": records(100), "models.yaml": "m: {model: openai/m, max_concurrency: 2}\n"},
    )
    argv = ["run", str(task), "--quiet", "--mock-url", mock_server.url, "--executor", "ray"]
    assert main([*argv, "--num-shards", "2", "--window", "2"]) == EXIT_BUDGET
    err = capsys.readouterr().err
    assert "budget reached" in err
    assert "reached --max-tokens 60" in err
    assert f"grasp run {task} --resume " in err
    assert err.rstrip().endswith("--max-cost USD (or --max-tokens N)")
    assert 0 < len(output_ids(tmp_path / "out.jsonl")) < 100


def test_a_dollar_cap_needs_prices_before_any_shard_starts(
    cluster: None, tmp_path: Path, mock_server: MockServer
) -> None:
    """--max-cost over an unpriced model fails in the driver, naming the model, before the
    shards folder is made."""
    task = write_task(tmp_path, BUDGET_TASK, {"data.jsonl": records(4)})
    options = RunOptions(mock=mock_server.url, models=catalog(4), executor="ray", max_cost=1.0)
    with pytest.raises(ConfigError, match=r"--max-cost needs a price.*'m'"):
        run_task(task, options)
    assert not (tmp_path / "out.shards").exists()


def test_a_ray_runs_metrics_and_cli_summary_match_a_local_runs(
    cluster: None, tmp_path: Path, mock_server: MockServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Ray run's metrics.json has a local run's totals, models and nodes (the shards'
    calls merged, latency percentiles of every call), and the CLI prints its tables."""
    files = {"data.jsonl": records(30), "models.yaml": "m: {model: openai/m, max_concurrency: 4}\n"}
    local_task = write_task(
        tmp_path / "local", LLM_TASK % "{type: jsonl, file_path: out.jsonl}", files
    )
    ray_task = write_task(tmp_path / "ray", LLM_TASK % "{type: jsonl, file_path: out.jsonl}", files)
    run_task(local_task, RunOptions(mock=mock_server.url, cache=False))  # both runs call
    sigterm_before = signal.getsignal(signal.SIGTERM)
    argv = ["run", str(ray_task), "--mock-url", mock_server.url, "--executor", "ray", "--no-cache"]
    assert main([*argv, "--num-shards", "3"]) == 0
    assert signal.getsignal(signal.SIGTERM) == sigterm_before
    local = json.loads((tmp_path / "local" / "out.metrics.json").read_text())
    distributed = json.loads((tmp_path / "ray" / "out.metrics.json").read_text())
    assert distributed["totals"] == local["totals"]
    assert distributed["totals"]["model_calls"] == 30
    for part in ("models", "nodes"):
        assert distributed[part].keys() == local[part].keys()
        for name, stats in distributed[part].items():
            assert stats.keys() == local[part][name].keys()
            timings = ("latency_s", "queue_s", "seconds")
            assert {k: v for k, v in stats.items() if k not in timings} == {
                k: v for k, v in local[part][name].items() if k not in timings
            }
            latency = stats["latency_s"]
            assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"] <= latency["max"]
    out = capsys.readouterr().out
    assert "tokens" in out
    assert "model calls by model" in out
    assert "model calls by node" in out
