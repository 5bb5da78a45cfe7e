"""The weighted_sampler node: weighted draws, compile-time checks, file values, determinism."""

from __future__ import annotations

import collections
import json
from pathlib import Path
from typing import Any

import pytest

from grasp_core import RunOptions, run_task
from grasp_core.errors import ConfigError
from grasp_core.models.backends import BackendPool
from grasp_core.models.catalog import ModelCatalog
from grasp_core.observe.metrics import RunMetrics
from grasp_core.protocols import BuildEnv, NodeContext
from grasp_nodes.weighted_sampler import WeightedSamplerNode, WeightedSamplerNodeConfig
from tests.conftest import write_task

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

TASK = """
data_config:
  num_records: {records}
  sink: {{type: jsonl, file_path: out.jsonl}}
graph_config:
  nodes:
    sample:
      node_type: weighted_sampler
      attributes:
{attributes}
  edges:
    - {{from: START, to: sample}}
    - {{from: sample, to: END}}
"""

COLORS = """
        color: {values: [red, green, blue, black], weights: [6, 3, 1, 0]}
        size: {values: [small, large]}
"""

NAMES = "".join(json.dumps({"id": f"p{i}", "name": f"name-{i}"}) + "\n" for i in range(8))


def task_file(folder: Path, attributes: str, *, records: int = 100) -> Path:
    text = TASK.format(records=records, attributes=attributes.strip("\n"))
    return write_task(folder, text, {"people.jsonl": NAMES})


def draws(folder: Path) -> dict[str, dict[str, Any]]:
    """Output records by id, without the id."""
    lines = (folder / "out.jsonl").read_text().splitlines()
    return {r.pop("id"): r for r in map(json.loads, lines)}


def env(task_dir: Path) -> BuildEnv:
    catalog = ModelCatalog()
    return BuildEnv(task_dir, catalog, BackendPool(catalog), RunMetrics())


def test_draws_follow_the_weights(tmp_path: Path) -> None:
    """Over 2,000 seeded records each value's share is near its weight; weight 0 never drawn."""
    result = run_task(task_file(tmp_path, COLORS, records=2000), RunOptions(seed=11))
    assert result.done == 2000
    records = draws(tmp_path).values()
    colors = collections.Counter(r["color"] for r in records)
    sizes = collections.Counter(r["size"] for r in records)
    # Expected 1200 / 600 / 200 / 0 and 1000 / 1000; 5 standard deviations of slack.
    assert abs(colors["red"] - 1200) < 110
    assert abs(colors["green"] - 600) < 100
    assert abs(colors["blue"] - 200) < 70
    assert colors["black"] == 0
    assert abs(sizes["small"] - 1000) < 115


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ("        mood: {values: [a, b], weights: [1]}", r"'mood': 1 weights for 2 values"),
        ("        mood: {values: [a, b], weights: [1, -2]}", r"mood.*weight -2\.0 is not"),
        ("        mood: {values: [a, b], weights: [0, 0]}", r"mood.*all zero"),
        ("        mood: {values: []}", r"'mood': no values"),
        (
            "        mood:\n          values: {column: nickname, source: "
            "{type: disk, file_path: people.jsonl}}",
            r"'mood'.*'people.jsonl' has no column 'nickname'",
        ),
        (
            "        mood:\n          values: {column: name, source: "
            "{type: disk, file_path: people.jsonl}}\n          weights: [1, 2]",
            r"'mood': 2 weights for 8 values in column 'name' of 'people.jsonl'",
        ),
        (
            "        mood:\n          values: {column: name, source: "
            "{type: disk, file_path: nobody.jsonl}}",
            r"'mood'.*nobody.jsonl",
        ),
    ],
)
def test_bad_attributes_fail_at_compile_time(tmp_path: Path, attributes: str, message: str) -> None:
    """Weights of the wrong length, negative or all zero, no values, a missing column or file:
    a ConfigError naming the attribute, before any record runs."""
    with pytest.raises(ConfigError, match=message):
        run_task(task_file(tmp_path, attributes))
    assert not (tmp_path / "out.jsonl").exists()


def test_column_values_come_from_the_source_file(tmp_path: Path) -> None:
    """`values: {column, source}` draws from that column of every record of the file."""
    attributes = (
        "        person:\n"
        "          values: {column: name, source: {type: disk, file_path: people.jsonl}}"
    )
    result = run_task(task_file(tmp_path, attributes, records=200))
    assert result.done == 200
    drawn = collections.Counter(r["person"] for r in draws(tmp_path).values())
    assert set(drawn) == {f"name-{i}" for i in range(8)}


@pytest.mark.anyio
async def test_column_values_are_read_once_at_build(tmp_path: Path) -> None:
    """The source file is read when the node is built; records never touch it again."""
    (tmp_path / "people.jsonl").write_text(NAMES, encoding="utf-8")
    config = WeightedSamplerNodeConfig.model_validate(
        {
            "attributes": {
                "person": {
                    "values": {
                        "column": "name",
                        "source": {"type": "disk", "file_path": "people.jsonl"},
                    }
                }
            }
        }
    )
    node = WeightedSamplerNode.build("sample", config, env(tmp_path))
    (tmp_path / "people.jsonl").unlink()
    out = await node.run({}, NodeContext(record_id="r1", node="sample", iteration=0))
    assert str(out["person"]).startswith("name-")
    assert node.output_keys == ("person",)


@pytest.mark.anyio
async def test_draws_depend_on_the_record_not_on_the_order(tmp_path: Path) -> None:
    """Each record's draw is a function of (seed, record id, node, iteration) alone."""
    config = WeightedSamplerNodeConfig.model_validate(
        {"attributes": {"n": {"values": list(range(1000))}}}
    )
    node = WeightedSamplerNode.build("sample", config, env(tmp_path))
    ids = [str(i) for i in range(20)]

    async def draw_all(order: list[str], *, seed: int = 1, iteration: int = 0) -> dict[str, Any]:
        drawn = {}
        for rid in order:
            ctx = NodeContext(record_id=rid, node="sample", iteration=iteration, seed=seed)
            drawn[rid] = (await node.run({}, ctx))["n"]
        return drawn

    forward = await draw_all(ids)
    assert await draw_all(list(reversed(ids))) == forward
    assert await draw_all(ids, seed=2) != forward
    assert await draw_all(ids, iteration=1) != forward  # a loop's next pass draws afresh


def test_same_seed_same_draws_different_seed_different_draws(tmp_path: Path) -> None:
    """Two runs with one seed write identical records; another seed changes the draws."""
    results = {}
    for name, seed in [("a", 5), ("b", 5), ("c", 6)]:
        run_task(task_file(tmp_path / name, COLORS), RunOptions(seed=seed))
        results[name] = draws(tmp_path / name)
    assert results["a"] == results["b"]
    assert results["a"] != results["c"]


def test_a_resumed_run_draws_what_a_straight_run_draws(tmp_path: Path) -> None:
    """Running 50 of 100 records then resuming gives the same per-record draws as one run."""
    straight = tmp_path / "straight"
    run_task(task_file(straight, COLORS), RunOptions(seed=9))
    split = tmp_path / "split"
    first = run_task(task_file(split, COLORS), RunOptions(seed=9, num_records=50))
    assert first.done == 50
    second = run_task(split / "task.yaml", RunOptions(resume=True))
    assert (second.done, second.previously_done) == (50, 50)
    assert draws(split) == draws(straight)
    assert len(draws(split)) == 100


def test_personas_example_runs_with_the_mock(tmp_path: Path, mock_url: str) -> None:
    """examples/personas runs offline: sampled attributes, then a persona for each."""
    result = run_task(
        EXAMPLES / "personas" / "task.yaml", RunOptions(mock=mock_url, output_dir=tmp_path)
    )
    assert (result.done, result.failed) == (20, 0)
    occupations = {
        json.loads(line)["title"]
        for line in (EXAMPLES / "personas" / "data" / "occupations.jsonl").read_text().splitlines()
    }
    for record in result.records():
        assert record["occupation"] in occupations
        assert record["occupation"] in record["persona"]
