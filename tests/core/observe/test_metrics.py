"""Run metrics: correct percentiles, retries and errors by kind per model and per node, wire
time apart from queue time, and cost from litellm's price table or a models-file override,
at full precision."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grasp_core import RunOptions, run_task
from grasp_core.models.catalog import ModelCatalog, ModelSpec
from grasp_core.models.pricing import price_of
from grasp_core.observe.metrics import latency_summary
from tests.conftest import write_task

ASK = """
data_config:
  source: {{type: disk, file_path: data.jsonl}}
  sink: {{type: jsonl, file_path: out.jsonl}}
graph_config:
  nodes:
    ask:
      node_type: llm
      output_keys: answer
      prompt: [{{user: "{tag} {{id}} {{marker}}"}}]
      model: {{name: gpt-4o-mini}}
    judge:
      node_type: llm
      output_keys: verdict
      prompt: [{{user: "{tag} judge {{id}}: {{answer}}"}}]
      model: {{name: writer}}
  edges:
    - {{from: START, to: ask}}
    - {{from: ask, to: judge}}
    - {{from: judge, to: END}}
"""

MODELS = """
gpt-4o-mini: {model: openai/gpt-4o-mini, max_retries: 1}
writer:
  model: hosted_vllm/my-writer
  max_retries: 1
  cost: {input_per_million: 2.0, output_per_million: 8.0}
"""

MARKERS = {
    "r0": "[[mock:429:1:retry_after=0]]",
    "r1": "[[mock:500:1]]",
    "r2": "[[mock:malformed:1]]",
    "r3": "[[mock:drop:1]]",
    "r4": "[[mock:500]]",  # every attempt fails: 2 attempts, then the record fails
    "r5": "",
}


def _task(folder: Path) -> Path:
    rows = "".join(json.dumps({"id": i, "marker": m}) + "\n" for i, m in MARKERS.items())
    return write_task(
        folder,
        ASK.format(tag=folder.name),
        {"data.jsonl": rows, "models.yaml": MODELS},
    )


@given(st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), max_size=300))
def test_percentiles_are_ordered_values_never_above_the_max(values: list[float]) -> None:
    """p50 <= p95 <= p99 <= max, each one of the observed values (rounded), max the largest."""
    summary = latency_summary(values)
    assert summary["p50"] <= summary["p95"] <= summary["p99"] <= summary["max"]
    if values:
        assert summary["max"] == round(max(values), 4)
        rounded = {round(v, 4) for v in values}
        assert {summary["p50"], summary["p95"], summary["p99"]} <= rounded
    else:
        assert summary == {"p50": 0.0, "p95": 0.0, "p99": 0.0, "max": 0.0}


def test_percentiles_of_a_known_sample() -> None:
    """Nearest rank: of 1..100, p50 is 50, p95 is 95, p99 is 99."""
    summary = latency_summary(float(v) for v in range(100, 0, -1))
    assert summary == {"p50": 50.0, "p95": 95.0, "p99": 99.0, "max": 100.0}


def test_retries_and_errors_are_counted_by_kind_per_model_and_node(
    tmp_path: Path, mock_url: str
) -> None:
    """Each injected fault is one error of its kind and (when retried) one retry, under the
    model and under the node that made the call; a call failing every attempt is a failure."""
    result = run_task(_task(tmp_path), RunOptions(mock=mock_url))
    assert (result.done, result.failed) == (5, 1)
    model = result.metrics["models"]["gpt-4o-mini"]
    assert model["errors"] == {"429": 1, "500": 3, "bad_response": 1, "connection": 1}
    assert model["retries"] == 5  # r0..r3 one each; r4 one before giving up
    assert (model["calls"], model["failures"]) == (6, 1)
    ask = result.metrics["nodes"]["ask"]
    assert ask["errors"] == model["errors"]
    assert (ask["model_calls"], ask["retries"]) == (6, 5)
    judge = result.metrics["nodes"]["judge"]
    assert (judge["model_calls"], judge["retries"], judge["errors"]) == (5, 0, {})
    assert result.metrics["models"]["writer"]["calls"] == 5
    latency = model["latency_s"]
    assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"] <= latency["max"]


def test_cost_comes_from_litellm_table_and_from_the_override(tmp_path: Path, mock_url: str) -> None:
    """A known route is priced by litellm's table, a `cost:` entry by itself; totals, per
    model and per node agree, and metrics.json holds the same numbers."""
    result = run_task(_task(tmp_path), RunOptions(mock=mock_url))
    models = result.metrics["models"]
    mini, writer = models["gpt-4o-mini"], models["writer"]
    assert mini["price_source"] == "litellm"
    table = price_of(ModelSpec(model="openai/gpt-4o-mini"))
    assert table is not None
    assert mini["cost_usd"] == pytest.approx(
        table.cost(mini["prompt_tokens"], mini["completion_tokens"]), abs=1e-6
    )
    assert writer["price_source"] == "models file"
    expected = (writer["prompt_tokens"] * 2.0 + writer["completion_tokens"] * 8.0) / 1e6
    assert writer["cost_usd"] == pytest.approx(expected, abs=1e-6)
    assert writer["prompt_tokens"] > 0
    nodes = result.metrics["nodes"]
    assert nodes["ask"]["cost_usd"] == mini["cost_usd"]
    assert nodes["judge"]["cost_usd"] == writer["cost_usd"]
    totals = result.metrics["totals"]
    assert totals["cost_usd"] == pytest.approx(mini["cost_usd"] + writer["cost_usd"], abs=1e-6)
    assert totals["unpriced_models"] == []
    assert result.metrics_path is not None
    written = json.loads(result.metrics_path.read_text())
    assert written["models"] == json.loads(json.dumps(models))
    assert written["records"]["done"] == 5


def test_table_prices_match_litellm_own_cost_function() -> None:
    """Reading litellm's bundled table directly gives what litellm.cost_per_token gives."""
    litellm = pytest.importorskip("litellm")
    for route in ("openai/gpt-4o-mini", "openai/gpt-4o", "mistral/mistral-large-latest"):
        price = price_of(ModelSpec(model=route))
        assert price is not None, route
        prompt, completion = litellm.cost_per_token(
            model=route, prompt_tokens=1000, completion_tokens=500
        )
        assert price.cost(1000, 0) == pytest.approx(prompt), route
        assert price.cost(0, 500) == pytest.approx(completion), route


def test_unknown_routes_have_no_price() -> None:
    """A route litellm does not know, and no override, is unpriced (not free)."""
    assert price_of(ModelSpec(model="hosted_vllm/my-own-model")) is None
    catalog = ModelCatalog(specs={"m": ModelSpec(model="openai/not-a-real-model-xyz")})
    assert price_of(catalog.get("m")) is None


def test_mock_runs_and_renamed_models_keep_their_real_price() -> None:
    """`--mock` rewrites routes to the mock's OpenAI dialect but prices the real route, and
    `price_as` prices a renamed model like the route it names."""
    real = ModelSpec(model="mistral/mistral-large-latest")
    catalog = ModelCatalog(specs={"m": real, "own": ModelSpec(model="hosted_vllm/my-llama")})
    mocked = catalog.with_mock("http://127.0.0.1:1")
    assert mocked.get("m").model == "openai/mistral-large-latest"
    assert price_of(mocked.get("m")) == price_of(real) is not None
    assert price_of(mocked.get("own")) is None
    renamed = ModelSpec(model="hosted_vllm/my-llama", price_as="openai/gpt-4o-mini")
    assert price_of(renamed) == price_of(ModelSpec(model="openai/gpt-4o-mini"))


def test_latency_is_the_wire_and_waiting_is_queue_time(tmp_path: Path, mock_url: str) -> None:
    """A call's waits (for the one slot of a busy backend, and backoff between its tries) are
    queue time, not latency: latency has one sample per request, timed on the wire only.

    Three records get an instant 500 on both tries and one waits 2 s at the server, behind a
    single slot, so failed retries queue behind the slow request. Bounds that hold however
    loaded the machine: the slot makes the requests' wire times disjoint within the run, so
    the samples at or above the median sum to at most the run's seconds; the slow request's
    wire time is at least the server's 2 s; each failed call's queue time holds its backoff
    (at least 0.25 s)."""
    rows = [{"id": f"r{i}", "marker": "[[mock:500]]"} for i in range(3)]
    rows.append({"id": "slow", "marker": "[[mock:latency=2]]"})
    models = "gpt-4o-mini: {model: openai/gpt-4o-mini, max_concurrency: 1, max_retries: 1}\n"
    data = "".join(json.dumps(row) + "\n" for row in rows)
    files = {"data.jsonl": data, "models.yaml": models + "writer: {model: openai/writer}\n"}
    task = write_task(tmp_path, ASK.format(tag=tmp_path.name), files)
    result = run_task(task, RunOptions(mock=mock_url))
    assert (result.done, result.failed) == (1, 3)
    stats = result.metrics["models"]["gpt-4o-mini"]
    assert (stats["calls"], stats["retries"], stats["failures"]) == (4, 3, 3)
    latency, queue = stats["latency_s"], stats["queue_s"]
    requests = stats["calls"] + stats["retries"]
    at_or_above_median = requests - math.ceil(requests / 2) + 1
    assert at_or_above_median * latency["p50"] <= result.seconds + 1e-3
    assert latency["max"] >= 2.0
    assert queue["p50"] >= 0.25  # three of the four calls slept a backoff
    assert queue["total"] >= 0.75
    assert queue["p50"] <= queue["p95"] <= queue["p99"] <= queue["max"] <= queue["total"]
    assert result.metrics["nodes"]["ask"]["queue_s"] == queue


def test_costs_keep_full_precision_in_the_metrics_files(tmp_path: Path, mock_url: str) -> None:
    """A cost far below a millionth of a dollar is kept exactly in summary.json and
    metrics.json (per model, per node, in the totals), not rounded to 0."""
    models = MODELS.replace(
        "cost: {input_per_million: 2.0, output_per_million: 8.0}",
        "cost: {input_per_million: 0.0001, output_per_million: 0.0003}",
    )
    rows = "".join(json.dumps({"id": i, "marker": ""}) + "\n" for i in range(2))
    task = write_task(tmp_path, ASK.format(tag="p"), {"data.jsonl": rows, "models.yaml": models})
    result = run_task(task, RunOptions(mock=mock_url))
    assert result.done == 2
    for path in (result.summary_path, result.metrics_path):
        assert path is not None
        written = json.loads(path.read_text(encoding="utf-8"))
        writer = written["models"]["writer"]
        expected = (writer["prompt_tokens"] * 0.0001 + writer["completion_tokens"] * 0.0003) / 1e6
        assert 0 < expected < 5e-7
        assert writer["cost_usd"] == pytest.approx(expected, rel=1e-9)
        assert written["nodes"]["judge"]["cost_usd"] == pytest.approx(expected, rel=1e-9)
        mini = written["models"]["gpt-4o-mini"]["cost_usd"]
        assert written["totals"]["cost_usd"] == pytest.approx(mini + expected, rel=1e-9)
