"""What writing in source order (``--ordered``) costs, against completion order (the default).

Two workloads, each run in both modes in this process, one after the other:

- latency-bound: an async lambda that sleeps a lognormal time (median 20 ms, sigma 1, drawn
  from the record id, so both modes see the same latencies), window 64: a slow record holds
  the ones after it in the reorder buffer, and their admission slots with them;
- engine-bound: an inline lambda returning at once, window 256: the buffer's own overhead.

Prints records/s of each mode and their ratio (ordered / unordered) as a table.

    python benchmarks/bench_ordered.py [--records 2000] [--fast-records 50000]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio

from grasp_core import END, START, Graph, RunOptions, run_task


async def slow(state: dict[str, Any]) -> int:
    """Sleep a lognormal time drawn from the record's id (the same in both modes)."""
    draw = random.Random(state["id"]).lognormvariate(math.log(0.02), 1.0)
    await anyio.sleep(min(draw, 2.0))
    return 1


def fast(state: dict[str, Any]) -> int:
    return 1


def records_per_second(step: Any, records: int, window: int, *, ordered: bool) -> float:
    graph = (
        Graph()
        .add_node("step", "lambda", output_keys="x", inline=step is fast, **{"lambda": step})
        .add_edge(START, "step")
        .add_edge("step", END)
    )
    with tempfile.TemporaryDirectory() as tmp:
        rows = "".join(json.dumps({"id": f"r{i}"}) + "\n" for i in range(records))
        (Path(tmp) / "in.jsonl").write_text(rows, encoding="utf-8")
        data = {
            "source": {"type": "disk", "file_path": "in.jsonl"},
            "sink": {"type": "jsonl", "file_path": "out.jsonl"},
        }
        task = graph.to_task(data_config=data, task_dir=tmp, name="bench")
        options = RunOptions(output_dir=Path(tmp), window=window, batch_size=64, ordered=ordered)
        started = time.perf_counter()
        result = run_task(task, options)
        wall = time.perf_counter() - started
    assert result.done == records, result
    return records / wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=2000, help="latency-bound records")
    parser.add_argument("--fast-records", type=int, default=50000, help="engine-bound records")
    args = parser.parse_args()
    rows = []
    for label, step, records, window in (
        ("latency-bound (lognormal, median 20 ms), window 64", slow, args.records, 64),
        ("engine-bound (inline lambda), window 256", fast, args.fast_records, 256),
    ):
        unordered = records_per_second(step, records, window, ordered=False)
        ordered = records_per_second(step, records, window, ordered=True)
        rows.append((f"{label}, {records:,} records", unordered, ordered))
    width = max(len(r[0]) for r in rows)
    print(f"| {'workload':<{width}} | unordered rec/s | ordered rec/s | ordered / unordered |")
    print(f"|{'-' * (width + 2)}|-----------------|---------------|---------------------|")
    for label, unordered, ordered in rows:
        ratio = ordered / unordered
        print(f"| {label:<{width}} | {unordered:>15,.0f} | {ordered:>13,.0f} | {ratio:>19.2f} |")


if __name__ == "__main__":
    main()
