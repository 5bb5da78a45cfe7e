"""The response cache: a rerun answered from it, a lookup against a fast-lane call, and what it
costs a run that misses everything. Every figure is a ratio or a rate measured in this run.

- rerun: 1,000 records × a 2-node llm chain, run once to fill the cache, then again → records/s
  of the rerun (whole ``run_task``, start-up included), and its CPU per record split into the
  cache path (two hits, from the lookup row), start-up (a 10-record rerun) and the rest, the
  engine's per-record work (walk, prompt rendering, state checks, writing).
- lookup: ``client.chat`` answered from the cache vs sent over the fast lane to a zero-latency
  mock server in another process → microseconds of this process per call, and the ratio.
- all-miss: the CPU a missed lookup and its store add to a fast-lane call; and the same run
  with the cache on (an empty folder each time), off, and off again, alternated → median
  wall times, and the overhead in % as the median and range of the ratios of neighbouring
  runs (wall, and this process's CPU), at zero latency (CPU-bound: the worst case, where
  the cache's CPU is all of its cost) and at a median latency of 50 ms (a run as runs are,
  waiting on the model). Every run meets a mock of its own started with the same seed, so
  each waits on the same latencies and the pairs differ only by the cache. The off /
  off-again pairs state the noise, so a figure inside that range says nothing.
- open: a folder of 200,000 replies (about 500 bytes each, in 4 segments) opened with each
  segment's index (mapped), and without (each segment read and scanned, as before indexes; the
  benchmark holds the segments' locks, as live writers would, so the open does not index
  them) → CPU seconds of each, and the ratio; and the first open of a folder without indexes,
  which scans and writes them.

    python benchmarks/bench_cache.py [--records 1000] [--calls 5000] [--repeats 3]
        [--open-replies 200000]
"""

from __future__ import annotations

import argparse
import dataclasses
import fcntl
import gc
import hashlib
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import anyio

from _mock_process import mock_process  # type: ignore[import-not-found]
from bench_engine import prepare  # type: ignore[import-not-found]
from grasp_core import RunOptions, run_task


def rerun_rate(url: str, records: int) -> tuple[float, float, float, float]:
    """Records/s of the first run (all misses) and of the rerun (all hits); then the
    rerun's CPU seconds per record (this process: the primary figure on a loaded machine),
    and the CPU seconds of a 10-record rerun (start-up: task, models file, cache index)."""
    with tempfile.TemporaryDirectory() as tmp:
        task = prepare(Path(tmp), records, 64)
        cache = Path(tmp) / "cache"
        started = time.perf_counter()
        first = run_task(task, RunOptions(mock=url, cache_dir=cache))
        cold = time.perf_counter() - started
        started, cpu = time.perf_counter(), time.process_time()
        again = run_task(task, RunOptions(mock=url, cache_dir=cache, overwrite=True))
        warm, warm_cpu = time.perf_counter() - started, time.process_time() - cpu
        cpu = time.process_time()
        small = run_task(
            task, RunOptions(mock=url, cache_dir=cache, overwrite=True, num_records=10)
        )
        start_up = time.process_time() - cpu
    assert first.done == again.done == records
    assert small.done == 10
    assert again.metrics["totals"]["model_calls"] == 0, again.metrics["totals"]
    return records / cold, records / warm, warm_cpu / records, start_up


async def _calls(url: str, calls: int, cache_dir: Path | None) -> float:
    """Seconds of this process's CPU per ``client.chat`` (distinct requests, one at a time)."""
    from grasp_core.models.backends import BackendPool
    from grasp_core.models.cache import ResponseCache
    from grasp_core.models.cache_key import enter_node_run
    from grasp_core.models.catalog import ModelCatalog
    from grasp_core.observe.metrics import RunMetrics
    from grasp_core.protocols import BuildEnv
    from grasp_nodes.clients import client_for

    entry = {"model": "hosted_vllm/m", "api_base": url + "/v1", "max_concurrency": 64}
    catalog = ModelCatalog.from_mapping({"m": entry}, source="bench")
    env = BuildEnv(Path.cwd(), catalog, BackendPool(catalog), RunMetrics())
    if cache_dir is not None:
        env.cache = ResponseCache(cache_dir).open()
    client = client_for(env, "m")
    enter_node_run("r", "n", 0)
    requests = [[{"role": "user", "content": f"question {i}"}] for i in range(calls)]
    for messages in requests[:50]:  # warm the connection pool
        await client.chat(messages, {})
    enter_node_run("r", "n", 0)
    started = time.process_time()
    for messages in requests:
        await client.chat(messages, {})
    cpu = time.process_time() - started
    await env.shared["grasp_nodes.clients"].aclose()
    if env.cache is not None:
        env.cache.close()
    return cpu / calls


def lookup_vs_call(url: str, calls: int) -> tuple[float, float, float]:
    """CPU seconds per call: a miss (the call, its key and the stored reply), a hit, and a
    fast-lane call without the cache. CPU time of this process, so the machine's load
    matters less than in wall times."""
    before = anyio.run(_calls, url, calls, None)  # also warms this process up
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cache"
        miss = anyio.run(_calls, url, calls, cache)  # fills the cache
        hit = anyio.run(_calls, url, calls, cache)
    after = anyio.run(_calls, url, calls, None)
    return miss, hit, min(before, after)


LATENCY_BOUND = "lognormal:0.05:0.5"
"""The mock's latency for the all-miss run as runs are (median 50 ms, concurrency 64)."""


@dataclasses.dataclass(frozen=True)
class Overhead:
    """Alternated runs with an empty cache (on), with the cache off, and off again (the A/A
    pair, whose spread is the noise a single pair of runs carries on this machine)."""

    on: float
    """Median wall seconds, cache on."""
    off: float
    """Median wall seconds, cache off."""
    paired: tuple[float, float, float]
    """on / off of each pair of neighbouring runs: median, least, most."""
    noise: tuple[float, float, float]
    """off / off again, the same way."""
    cpu_paired: tuple[float, float, float]
    """The same pairs' ratios of this process's CPU seconds (the mock's are its own)."""
    cpu_noise: tuple[float, float, float]


def _spread(ratios: list[float]) -> tuple[float, float, float]:
    return statistics.median(ratios), min(ratios), max(ratios)


def _percent(spread: tuple[float, float, float]) -> str:
    """A spread of ratios as the change in %: the median, then the range."""
    median, low, high = ((ratio - 1) * 100 for ratio in spread)
    return f"{median:+.1f} % ({low:+.0f} to {high:+.0f})"


def all_miss_overhead(latency: str, records: int, repeats: int) -> Overhead:
    """Wall and CPU seconds of runs with an empty cache, with the cache off, and off again,
    alternated. Each run meets a mock of its own started with the same seed, so every run
    waits on the same latencies; the collector is emptied before each, so none inherits
    another's garbage."""
    walls: dict[str, list[float]] = {"on": [], "off": [], "again": []}
    cpus: dict[str, list[float]] = {"on": [], "off": [], "again": []}
    for _ in range(repeats):
        for name in walls:
            seeded = mock_process(latency, "--seed", "0")
            with seeded as url, tempfile.TemporaryDirectory() as tmp:
                task = prepare(Path(tmp), records, 64)
                options = RunOptions(mock=url, cache=name == "on", cache_dir=Path(tmp) / "cache")
                gc.collect()
                started, cpu = time.perf_counter(), time.process_time()
                result = run_task(task, options)
                walls[name].append(time.perf_counter() - started)
                cpus[name].append(time.process_time() - cpu)
            assert result.done == records
    on, off, again = walls["on"], walls["off"], walls["again"]
    return Overhead(
        on=statistics.median(on),
        off=statistics.median(off),
        paired=_spread([a / b for a, b in zip(on, off, strict=True)]),
        noise=_spread([a / b for a, b in zip(again, off, strict=True)]),
        cpu_paired=_spread([a / b for a, b in zip(cpus["on"], cpus["off"], strict=True)]),
        cpu_noise=_spread([a / b for a, b in zip(cpus["again"], cpus["off"], strict=True)]),
    )


def _open_cpu(directory: Path) -> float:
    """CPU seconds of this process to open the cache at ``directory`` (then closed)."""
    from grasp_core.models.cache import ResponseCache

    started = time.process_time()
    cache = ResponseCache(directory).open()
    cpu = time.process_time() - started
    cache.close()
    return cpu


def open_times(replies: int, repeats: int) -> tuple[float, float, float]:
    """CPU seconds to open a folder of ``replies`` replies: with indexes, scanning every
    segment (indexes deleted, segments locked), and the first open that writes indexes."""
    from grasp_core.models.cache import ResponseCache

    reply = {"text": "x" * 400, "prompt_tokens": 120, "completion_tokens": 100}
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        for part in range(4):
            cache = ResponseCache(directory).open()
            for i in range(part, replies, 4):
                cache.put(hashlib.sha256(b"%d" % i).hexdigest(), {**reply, "n": i})
            cache.close()
        indexed = min(_open_cpu(directory) for _ in range(repeats))
        for index in directory.glob("seg-*.idx"):
            index.unlink()
        locks = [os.open(path, os.O_RDONLY) for path in directory.glob("seg-*.log")]
        for fd in locks:
            fcntl.flock(fd, fcntl.LOCK_EX)
        scanned = min(_open_cpu(directory) for _ in range(repeats))
        for fd in locks:
            os.close(fd)
        indexing = _open_cpu(directory)
        assert len(list(directory.glob("seg-*.idx"))) == 4
    return indexed, scanned, indexing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--open-replies", type=int, default=200_000)
    args = parser.parse_args()
    indexed, scanned, indexing = open_times(args.open_replies, args.repeats)
    with mock_process("0") as url:
        cold, warm, warm_cpu, start_up = rerun_rate(url, args.records)
        miss, hit, call = lookup_vs_call(url, args.calls)
    zero = all_miss_overhead("0", args.records, args.repeats)
    bound = all_miss_overhead(LATENCY_BOUND, args.records, args.repeats)  # runs as they are
    rows = [
        (f"first run, {args.records} records × 2 llm calls (all miss)", f"{cold:,.0f} rec/s"),
        ("rerun answered from the cache (all hit)", f"{warm:,.0f} rec/s"),
        ("rerun, CPU per record (whole run)", f"{warm_cpu * 1e6:,.0f} µs CPU"),
        ("  of which the cache path (2 hits)", f"{2 * hit * 1e6:,.0f} µs CPU"),
        (
            "  of which start-up (10-record rerun's CPU / records)",
            f"{start_up / args.records * 1e6:,.0f} µs CPU",
        ),
        (
            "  the rest: the engine's per-record work",
            f"{(warm_cpu - 2 * hit - start_up / args.records) * 1e6:,.0f} µs CPU",
        ),
        ("rerun rate the CPU allows (records / CPU s)", f"{1 / warm_cpu:,.0f} rec/s"),
        ("client.chat answered from the cache", f"{hit * 1e6:,.0f} µs CPU"),
        ("client.chat over the fast lane (zero-latency mock)", f"{call * 1e6:,.0f} µs CPU"),
        ("lookup / fast-lane call", f"{hit / call:.2f}×"),
        ("client.chat missing the cache (call + key + store)", f"{miss * 1e6:,.0f} µs CPU"),
        ("CPU a miss adds to a fast-lane call", f"{(miss / call - 1) * 100:+.1f} %"),
        ("all-miss run, zero latency, cache on (median wall)", f"{zero.on:.3f} s"),
        ("same run, cache off (median wall)", f"{zero.off:.3f} s"),
        ("cache overhead, all miss, zero latency: paired (range)", _percent(zero.paired)),
        ("  noise: cache off / off, paired (range)", _percent(zero.noise)),
        ("  the same pairs' CPU (range)", _percent(zero.cpu_paired)),
        ("  noise: the off / off pairs' CPU (range)", _percent(zero.cpu_noise)),
        ("all-miss run, 50 ms latency, cache on (median wall)", f"{bound.on:.3f} s"),
        ("same run, cache off (median wall)", f"{bound.off:.3f} s"),
        ("cache overhead, all miss, 50 ms latency: paired (range)", _percent(bound.paired)),
        ("  noise: cache off / off, paired (range)", _percent(bound.noise)),
        ("  the same pairs' CPU (range)", _percent(bound.cpu_paired)),
        ("  noise: the off / off pairs' CPU (range)", _percent(bound.cpu_noise)),
        (f"open, {args.open_replies:,} replies, scanned (no index)", f"{scanned:.3f} s CPU"),
        ("open, same folder, indexed", f"{indexed:.4f} s CPU"),
        ("open: scanned / indexed", f"{scanned / indexed:,.0f}×"),
        ("first open without indexes (scans, writes them)", f"{indexing:.3f} s CPU"),
    ]
    width = max(len(label) for label, _ in rows)
    print(f"| {'measure':<{width}} | {'value':>22} |")
    print(f"|{'-' * (width + 2)}|{'-' * 24}|")
    for label, value in rows:
        print(f"| {label:<{width}} | {value:>22} |")


if __name__ == "__main__":
    main()
