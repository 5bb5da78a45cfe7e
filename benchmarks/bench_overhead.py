"""Engine overhead: records through a 3-step Python graph, journal on, one process.

Each measurement runs in a child process (a fresh interpreter, so runs do not share warm
caches or memory) and reports records/s and the child's CPU seconds per record
(``resource.getrusage``), the figure that holds on a loaded machine. Steps are written as plain
``def`` (placed by ``run_in``) or as ``async def``. ``--before`` alternates the runs with runs
importing another copy of the source (``git archive HEAD src | tar -x -C /tmp/before``), so a
change is measured against the code before it under the same load.

Beside them, in its own child process, runs a reference: the same steps over the same records,
writing the same output lines (checked), in a plain asyncio loop with the same number of
records in flight and no journal (:data:`REFERENCE`). Each row gives its rates as a ratio of
the loop's, measured in the same rounds: this machine's speed drifts over hours, which moves
absolute rates but hardly these ratios.

    python benchmarks/bench_overhead.py [--records 50000] [--modes async,auto,thread]
                                        [--before /tmp/before/src]
    python benchmarks/bench_overhead.py --profile auto   (cProfile of one run: top entries,
                                                          saved as $TMPDIR/grasp_overhead.prof)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
WINDOW = 256
"""Records in flight (the engine's window and batch size, the loop's bound)."""

CHILD = """
import cProfile, hashlib, json, pstats, resource, sys, tempfile, time
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
    options = RunOptions(output_dir=Path(tmp), window=256, batch_size=256)  # WINDOW
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
    lines = (Path(tmp) / "out.jsonl").read_bytes().splitlines()
digest = hashlib.sha256(b"\\n".join(sorted(lines))).hexdigest()
if profiler is not None:
    profiler.dump_stats(Path(tempfile.gettempdir()) / "grasp_overhead.prof")
    stats = pstats.Stats(profiler, stream=sys.stderr)
    stats.sort_stats("tottime").print_stats(35)
    stats.sort_stats("cumulative").print_stats(90)
print(json.dumps({"done": result.done, "wall": wall, "cpu": cpu, "journal": journal,
                  "output": digest}))
"""


REFERENCE = """
import asyncio, hashlib, json, resource, sys, tempfile, time
from pathlib import Path

records, window, batch_size = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])

async def ainc(s): return s.get("x", 0) + 1
async def adbl(s): return s["x"] * 2
async def afmt(s): return f"{s['x']}:{s['y']}"
steps = [(ainc, "x"), (adbl, "y"), (afmt, "z")]

async def main(out):
    slots = asyncio.Semaphore(window)  # at most `window` records in flight
    lines = []

    async def one(n):
        try:
            state = {"id": str(n)}
            for step, key in steps:
                state[key] = await step(state)
            lines.append(json.dumps(state, separators=(",", ":")) + "\\n")
            if len(lines) >= batch_size:
                out.writelines(lines)
                lines.clear()
        finally:
            slots.release()

    tasks = set()
    for n in range(records):
        await slots.acquire()
        task = asyncio.create_task(one(n))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    await asyncio.gather(*tasks)
    out.writelines(lines)

with tempfile.TemporaryDirectory() as tmp:
    path = Path(tmp) / "out.jsonl"
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = usage.ru_utime + usage.ru_stime
    started = time.perf_counter()
    with path.open("w", encoding="utf-8") as out:
        asyncio.run(main(out))
    wall = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime - cpu_before
    lines = path.read_bytes().splitlines()
digest = hashlib.sha256(b"\\n".join(sorted(lines))).hexdigest()
print(json.dumps({"done": len(lines), "wall": wall, "cpu": cpu, "journal": 0, "output": digest}))
"""
"""The reference: the same 3 steps a record over the same records, writing the same JSONL
lines, in a plain asyncio loop with ``window`` records in flight (no journal, no validation,
no sink protocol). Measured in its own child process beside GraSP's runs, it is the bar the
rates are read against: on a machine whose speed drifts, ratios within one run hold where
absolute rates do not."""


Run = dict[str, Any]
"""One child's figures: ``done``, ``wall`` and ``cpu`` seconds, ``journal`` bytes and
``output``, a digest of its output lines (sorted: records finish in any order); ``moved``,
how many steps ``run_in: auto`` moved to worker threads."""

MOVED = "it runs in worker threads for the rest of the run"
"""What ``run_in: auto`` warns when it moves a function to threads. A cheap step is moved
when one call seems to hold the loop over 50 ms: on a loaded machine, the process descheduled
during that call. Such a run pays a thread hand-off per call of that step from then on, so
the table says how many runs it happened in."""


def measure(mode: str, records: int, *, profile: bool = False, src: str | None = None) -> Run:
    """One run of ``mode`` (``async``, a ``run_in`` value, or ``reference`` for the plain
    asyncio loop) in a child process; with ``src``, the packages are imported from that
    folder (another copy of ``src/``)."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
    if mode == "reference":
        argv = ["-c", REFERENCE, str(records), str(WINDOW), str(WINDOW)]
    else:
        argv = ["-c", CHILD, mode, str(records), "1" if profile else "0"]
    done = subprocess.run(
        [sys.executable, *argv],
        stdout=subprocess.PIPE,
        stderr=None if profile else subprocess.PIPE,
        text=True,
        check=True,
        cwd=HERE,
        env=env,
    )
    out: Run = json.loads(done.stdout.strip().splitlines()[-1])
    out["moved"] = (done.stderr or "").count(MOVED)
    return out


def _best(runs: list[Run]) -> tuple[float, float]:
    """The best rate of ``runs``: records per wall second, and per CPU second."""
    done = runs[0]["done"]
    return done / min(r["wall"] for r in runs), done / min(r["cpu"] for r in runs)


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
        f"\n{args.records:,} records × 3 Python steps, journal on, window {WINDOW} "
        f"(best of {args.repeat} runs; × loop: the rate over the plain asyncio loop's, "
        "measured between them)\n"
    )
    print(
        "| steps | code | records/s (wall) | × loop (wall) | CPU µs / record | × loop (CPU) "
        "| journal bytes / record | runs with a step moved to threads |"
    )
    print("|---|---|---|---|---|---|---|---|")
    reference: list[Run] = []
    paired: list[tuple[str, tuple[float, float, float]]] = []
    for mode in args.modes.split(","):
        runs: dict[str | None, list[Run]] = {src: [] for src in sources}
        for _ in range(args.repeat):
            reference.append(measure("reference", args.records))
            for src in sources:
                runs[src].append(measure(mode, args.records, src=src))
        label = "async def" if mode == "async" else f"def, run_in: {mode}"
        loop_wall, loop_cpu = _best(reference[-args.repeat :])
        for src in sources:
            assert all(run["done"] == args.records for run in runs[src]), runs[src]
            assert all(run["output"] == reference[0]["output"] for run in runs[src]), (
                "the output differs from the reference loop's"
            )
            wall, cpu = _best(runs[src])
            journal = runs[src][0]["journal"] / args.records
            moved = sum(1 for run in runs[src] if run["moved"])
            print(
                f"| {label} | {'before' if src else 'this tree'} | {wall:,.0f} | "
                f"{wall / loop_wall:.2f} | {1e6 / cpu:.1f} | {cpu / loop_cpu:.2f} | "
                f"{journal:.0f} | {moved} |"
            )
        if args.before is not None:
            paired.append((label, _paired(runs[args.before], runs[None])))
    wall, cpu = _best(reference)
    print(f"| plain asyncio loop (reference) | – | {wall:,.0f} | 1 | {1e6 / cpu:.1f} | 1 | – | – |")
    for label, (median, low, high) in paired:
        print(
            f"\n{label}: CPU per record, this tree / before, of the back-to-back pairs: "
            f"median {median:.3f} (range {low:.3f}–{high:.3f})"
        )


def _paired(before: list[Run], after: list[Run]) -> tuple[float, float, float]:
    """The CPU ratios (after / before) of runs made back to back, which met about the same
    load: their median, lowest and highest."""
    ratios = sorted(a["cpu"] / b["cpu"] for b, a in zip(before, after, strict=True))
    return statistics.median(ratios), ratios[0], ratios[-1]


if __name__ == "__main__":
    main()
