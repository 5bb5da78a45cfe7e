"""Latency-bound throughput of the Ray executor with 1, 2 and 4 shards.

The mock answers every call after a fixed 200 ms, each shard keeps a fixed window of records
in flight, and the backend's global limit is high enough not to bind, so throughput should
grow with the shard count (target: at least 0.8 x shards of one shard's rate). The mock runs
in its own process; the local Ray cluster declares 4 logical CPUs (one per shard: the shards
mostly wait on the network) and is warmed up before timing, so worker start-up is not timed.

    python benchmarks/bench_ray.py [--per-shard 400] [--window 16] [--latency 0.2]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import ray

from _mock_process import mock_process  # type: ignore[import-not-found]
from grasp_core import RunOptions, Task, run_task
from grasp_core.models.catalog import ModelCatalog, ModelSpec

SHARDS = (1, 2, 4)


def llm_task(folder: Path, records: int) -> Task:
    data = folder / "data.jsonl"
    data.write_text(
        "".join(json.dumps({"id": f"r{i}", "text": f"hello {i}"}) + "\n" for i in range(records)),
        encoding="utf-8",
    )
    return Task.from_dict(
        {
            "data_config": {
                "source": {"type": "disk", "file_path": str(data)},
                "sink": {"type": "jsonl", "file_path": "out.jsonl"},
            },
            "graph_config": {
                "nodes": {
                    "ask": {
                        "node_type": "llm",
                        "output_keys": "answer",
                        "prompt": [{"user": "Say {text}"}],
                        "model": {"name": "m"},
                    }
                },
                "edges": [{"from": "START", "to": "ask"}, {"from": "ask", "to": "END"}],
            },
        },
        task_dir=folder,
    )


def records_per_second(url: str, shards: int, per_shard: int, window: int) -> float:
    catalog = ModelCatalog(specs={"m": ModelSpec(model="openai/m", max_concurrency=1024)})
    records = per_shard * shards
    with tempfile.TemporaryDirectory() as tmp:
        options = RunOptions(
            executor="ray", num_shards=shards, window=window, mock=url, models=catalog, cache=False
        )
        started = time.perf_counter()
        result = run_task(llm_task(Path(tmp), records), options)
        seconds = time.perf_counter() - started
    assert result.done == records, result
    return records / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-shard", type=int, default=400, help="records per shard")
    parser.add_argument("--window", type=int, default=16, help="records in flight per shard")
    parser.add_argument("--latency", type=float, default=0.2, help="mock latency, seconds")
    args = parser.parse_args()
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    ray.init(num_cpus=4, include_dashboard=False, log_to_driver=False, _node_ip_address="127.0.0.1")
    try:
        with mock_process(f"fixed:{args.latency}") as url:
            records_per_second(url, 4, 8, args.window)  # warm-up: start the 4 workers
            rates = {n: records_per_second(url, n, args.per_shard, args.window) for n in SHARDS}
    finally:
        ray.shutdown()
    ideal = args.window / args.latency
    print(
        f"latency {args.latency * 1000:.0f} ms, window {args.window} per shard "
        f"(ideal {ideal:.0f} records/s per shard), {args.per_shard} records per shard"
    )
    print(f"{'shards':>6}  {'records/s':>10}  {'x one shard':>11}  {'target':>6}")
    for n, rate in rates.items():
        ratio = rate / rates[1]
        verdict = "ok" if ratio >= 0.8 * n else "LOW"
        print(f"{n:>6}  {rate:>10.1f}  {ratio:>11.2f}  {verdict:>6}")


if __name__ == "__main__":
    main()
