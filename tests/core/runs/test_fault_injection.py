"""Fault injection: under random 429s, 5xx, timeouts, drops and bad bodies every record ends
up written or failed (never both, never neither); Retry-After delays a retry; a backend that
stays down fails only its own records."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from grasp_core import RunOptions, run_task
from grasp_core.mock_server import FAULT_KINDS, Latency, MockServer
from tests.conftest import write_task

pytestmark = pytest.mark.slow

TWO_STEPS = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out/result.jsonl}
graph_config:
  nodes:
    ask:
      node_type: llm
      output_keys: question
      prompt:
        - user: "ask {id}: {text}"
      model: {name: m}
    answer:
      node_type: llm
      output_keys: answer
      prompt:
        - user: "answer {id}: {question}"
      model: {name: m}
  edges:
    - {from: START, to: ask}
    - {from: ask, to: answer}
    - {from: answer, to: END}
output_config:
  output_map:
    id: {from: id}
    answer: {from: answer}
"""

ONE_STEP = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out/result.jsonl}
graph_config:
  nodes:
    ask:
      node_type: llm
      output_keys: answer
      prompt:
        - user: "{text}"
      model: {name: m}
  edges:
    - {from: START, to: ask}
    - {from: ask, to: END}
"""

TWO_BACKENDS = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out/result.jsonl}
graph_config:
  nodes:
    ask_up:
      node_type: llm
      output_keys: answer
      prompt:
        - user: "up {id}: {text}"
      model: {name: up}
    ask_down:
      node_type: llm
      output_keys: answer
      prompt:
        - user: "down {id}: {text}"
      model: {name: down}
  edges:
    - {from: START, condition: steps.pick, path_map: {up: ask_up, down: ask_down}}
    - {from: ask_up, to: END}
    - {from: ask_down, to: END}
output_config:
  output_map:
    id: {from: id}
    answer: {from: answer}
"""

PICK = """
def pick(state):
    return "down" if int(state["id"][1:]) % 10 == 0 else "up"
"""


def rows(n: int, text: str = "text {i}") -> str:
    return "".join(
        json.dumps({"id": f"r{i:04d}", "text": text.format(i=i)}) + "\n" for i in range(n)
    )


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_every_record_is_written_or_failed_under_random_faults(tmp_path: Path) -> None:
    """1,000 records against a server that faults 20% of requests in every way it can: each
    id is in the output or in the failures file (with reason and attempts), never both."""
    n = 1000
    server = MockServer(
        latency=Latency.lognormal(median=0.003, sigma=0.5),
        fault_rate=0.2,
        faults=FAULT_KINDS,
        seed=7,
        hang_seconds=3.0,
        retry_after=0.05,
        max_seconds=300,
    )
    with server.running() as url:
        models = (
            f"m:\n  model: openai/m\n  api_base: {url}/v1\n  max_concurrency: 64\n"
            "  timeout: 0.5\n  max_retries: 1\n"
        )
        task = write_task(tmp_path, TWO_STEPS, {"data.jsonl": rows(n), "models.yaml": models})
        started = time.monotonic()
        result = run_task(task, RunOptions())
        seconds = time.monotonic() - started
        faults = Counter(r["fault"] for r in server.requests() if r["fault"])
    out = read_jsonl(tmp_path / "out/result.jsonl")
    failures = read_jsonl(tmp_path / "out/result.failures.jsonl")
    written = [r["id"] for r in out]
    failed = [f["id"] for f in failures]
    everyone = {f"r{i:04d}" for i in range(n)}
    assert len(written) == len(set(written)), "a record was written twice"
    assert len(failed) == len(set(failed)), "a record was failed twice"
    assert not set(written) & set(failed), "a record is both written and failed"
    assert set(written) | set(failed) == everyone, "records are unaccounted for"
    assert (result.done, result.failed) == (len(written), len(failed))
    assert 0 < len(failed) < n // 4, "max_retries 1 at a 20% fault rate fails a few records"
    for failure in failures:
        assert failure["reason"], failure
        assert failure["attempts"] == 2, failure
        assert failure["node"] in ("ask", "answer"), failure
    assert set(faults) == set(FAULT_KINDS), faults
    summary = json.loads(result.summary_path.read_text())
    print(
        f"\n{n} records in {seconds:.1f}s: {len(written)} written, {len(failed)} failed; "
        f"faults {dict(sorted(faults.items()))}; backend {summary['backends']['m']}"
    )
    assert summary["backends"]["m"]["rate_limited_429"] > 0
    assert summary["backends"]["m"]["rate_limited_429"] <= faults["429"]


def _timed_one_record(folder: Path, url: str, text: str) -> tuple[float, int]:
    """Seconds one one-record run takes, and how many records it wrote."""
    models = f"m:\n  model: openai/m\n  api_base: {url}/v1\n  max_retries: 2\n"
    task = write_task(folder, ONE_STEP, {"data.jsonl": rows(1, text), "models.yaml": models})
    started = time.perf_counter()
    result = run_task(task, RunOptions())
    return time.perf_counter() - started, result.done


def test_retry_after_is_a_floor_for_the_wait_before_a_retry(tmp_path: Path) -> None:
    """A 429 with Retry-After R is retried no sooner than R seconds later; the usual backoff
    (0.25 s plus up to 0.5 s of jitter for the first retry) applies when R is shorter.

    Measured at the server, between the 429's arrival and the retry's: a floor that holds
    however loaded the machine is."""
    server = MockServer(max_seconds=120)
    with server.running() as url:
        done = [
            _timed_one_record(tmp_path / word, url, f"[[mock:429:1:retry_after={after}]] {word}")[1]
            for word, after in (("zero", 0), ("short", 0.4), ("long", 2))
        ]
        arrivals: dict[tuple[str, int], list[float]] = {}
        for request in server.requests():
            word = request["messages"][-1]["content"].split()[-1]
            arrivals.setdefault((word, request["status"]), []).append(request["received"])
    assert done == [1, 1, 1]
    gaps = {}
    for word in ("zero", "short", "long"):
        assert len(arrivals[(word, 429)]) == len(arrivals[(word, 200)]) == 1, arrivals
        gaps[word] = arrivals[(word, 200)][0] - arrivals[(word, 429)][0]
    print(f"\ngaps between the 429 and the retry: {gaps}")
    assert gaps["zero"] >= 0.25, "even Retry-After: 0 waits the base backoff"
    assert gaps["short"] >= 0.4
    assert gaps["long"] >= 2.0
