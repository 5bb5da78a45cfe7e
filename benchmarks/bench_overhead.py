"""Engine overhead: records through a 3-step Python graph, journal on, one process.

Each measurement runs in a child process (a fresh interpreter, so runs do not share warm
caches or memory) and reports records/s and the child's CPU seconds per record
(``resource.getrusage``), the figure that holds on a loaded machine. Steps are written as plain
``def`` (placed by ``run_in``) or as ``async def``. ``--before`` alternates the runs with runs
importing another copy of the source (``git archive HEAD src | tar -x -C /tmp/before``), so a
change is measured against the code before it under the same load.

    python benchmarks/bench_overhead.py [--records 50000] [--modes async,auto,thread]
                                        [--before /tmp/before/src]
    python benchmarks/bench_overhead.py --profile auto   (cProfile of one run: top entries,
                                                          saved as $TMPDIR/grasp_overhead.prof)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent

CHILD = """
import cProfile, json, pstats, resource, sys, tempfile, time
from pathlib import Path
from grasp_core import END, START, Graph, RunOptions, run_task

mode, records, profile = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"

def inc(s): return s.get("x", 0) + 1
def dbl(s): return s["x"] * 2
def fmt(s): return f"{s['x']}:{s['y']}"
async def ainc(s): return inc(s)
async def adbl(s): return dbl(s)
async def afmt(s): return fmt(s)

steps = [("a", inc, ainc, "x"), ("b", dbl, adbl, "y"), ("c", fmt, afmt, "z")]
graph = Graph()
previous = START
for name, plain, coroutine, key in steps:
    options = {"lambda": coroutine} if mode == "async" else {"lambda": plain, "run_in": mode}
    graph.add_node(name, "lambda", output_keys=key, **options)
    graph.add_edge(previous, name)
    previous = name
graph.add_edge(previous, END)
with tempfile.TemporaryDirectory() as tmp:
    data = {"num_records": records, "sink": {"type": "jsonl", "file_path": "out.jsonl"}}
    task = graph.to_task(data_config=data, task_dir=tmp)
    options = RunOptions(output_dir=Path(tmp), window=256, batch_size=256)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = usage.ru_utime + usage.ru_stime
    profiler = cProfile.Profile(time.process_time) if profile else None
    started = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    result = run_task(task, options)
    if profiler is not None:
        profiler.disable()
    wall = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime - cpu_before
    journal = sum(p.stat().st_size for p in Path(tmp).rglob("*journal*") if p.is_file())
if profiler is not None:
    profiler.dump_stats(Path(tempfile.gettempdir()) / "grasp_overhead.prof")
    stats = pstats.Stats(profiler, stream=sys.stderr)
    stats.sort_stats("tottime").print_stats(35)
    stats.sort_stats("cumulative").print_stats(90)
print(json.dumps({"done": result.done, "wall": wall, "cpu": cpu, "journal": journal}))
"""


def measure(
    mode: str, records: int, *, profile: bool = False, src: str | None = None
) -> dict[str, float]:
    """One run of ``mode`` (``async``, or a ``run_in`` value) in a child process; with
    ``src``, the packages are imported from that folder (another copy of ``src/``)."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(records), "1" if profile else "0"],
        stdout=subprocess.PIPE,
        stderr=None if profile else subprocess.PIPE,
        text=True,
        check=True,
        cwd=HERE,
        env=env,
    )
    out: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--modes", default="async,auto,loop,thread", help="comma-separated")
    parser.add_argument("--repeat", type=int, default=3, help="runs per mode; the best counts")
    parser.add_argument("--profile", metavar="MODE", help="print a cProfile of one run")
    parser.add_argument("--before", metavar="SRC", help="alternate with this copy of src/")
    args = parser.parse_args()
    if args.profile:
        measure(args.profile, args.records, profile=True)
        return
    sources = [None] if args.before is None else [args.before, None]
    print(
        f"\n{args.records:,} records × 3 Python steps, journal on, window 256 "
        f"(best of {args.repeat} runs)\n"
    )
    print("| steps | code | records/s (wall) | CPU µs / record | journal bytes / record |")
    print("|---|---|---|---|---|")
    for mode in args.modes.split(","):
        runs: dict[str | None, list[dict[str, float]]] = {src: [] for src in sources}
        for _ in range(args.repeat):
            for src in sources:
                runs[src].append(measure(mode, args.records, src=src))
        label = "async def" if mode == "async" else f"def, run_in: {mode}"
        for src in sources:
            assert all(run["done"] == args.records for run in runs[src]), runs[src]
            out = min(runs[src], key=lambda run: run["cpu"])
            wall = min(run["wall"] for run in runs[src])
            print(
                f"| {label} | {'before' if src else 'this tree'} | {out['done'] / wall:,.0f} | "
                f"{1e6 * out['cpu'] / out['done']:.1f} | {out['journal'] / out['done']:.0f} |"
            )


if __name__ == "__main__":
    main()
