"""A rerun answered entirely from the response cache, measured in a child process.

The parent fills a cache once (1,000 records × the 2-node llm chain of ``bench_engine.py``,
against the mock server in its own process), then starts fresh interpreters that rerun the
task from that cache: each reports its CPU seconds (``resource.getrusage``: the figure that
holds on a loaded machine) for a first 10-record rerun (imports included: the cold start),
a second one (a warm run's start-up) and the whole rerun, so the per-record work is the
difference of the last two. ``--before`` alternates the runs with runs importing another
copy of the source (``git archive HEAD src | tar -x -C /tmp/before``), so a change is
measured against the code before it under the same load, and the CPU ratio of each
back-to-back pair is printed too (their median holds when the machine's speed drifts).
``--profile`` prints a cProfile (in CPU time) of one rerun instead.

Before the second 10-record rerun and before the whole rerun, the child runs the cyclic
garbage collector once, untimed. A process's first full collection (of the tens of
thousands of objects its imports made) costs about 14 ms, once, and falls wherever the
collector's counts happen to reach its threshold: in the cold start of one tree and in the
whole rerun of another, which would swing their comparison by 14 µs a record.

``--instructions`` also counts the rerun's instructions with valgrind's callgrind (two
children: one rerunning every record, one rerunning 10; the difference over the records
between is the per-record figure, the same on any load), and divides the best rerun's CPU
into them: the instructions a CPU second of this machine ran, which tells a slow hour of
the machine (a rate below its usual) from a change that costs more instructions.

    python benchmarks/bench_rerun.py [--records 1000] [--repeat 5] [--before OTHER/src]
        [--instructions]
    python benchmarks/bench_rerun.py --profile   (top entries; saved as $TMPDIR/grasp_rerun.prof)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

HERE = Path(__file__).parent

CHILD = """
import cProfile, gc, json, pstats, resource, sys, tempfile, time
from pathlib import Path
from grasp_core import RunOptions, run_task

task, cache, url, records, profile = (
    Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5] == "1"
)
limit = int(sys.argv[6]) if len(sys.argv) > 6 else None

def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime

profiler = cProfile.Profile(time.process_time) if profile else None
first = cpu()
run_task(task, RunOptions(mock=url, cache_dir=cache, overwrite=True, num_records=10))
cold = cpu() - first
gc.collect()  # the start-up's garbage, once: see the module's docstring
start = cpu()
small = run_task(task, RunOptions(mock=url, cache_dir=cache, overwrite=True, num_records=10))
start_up = cpu() - start
gc.collect()
start, wall = cpu(), time.perf_counter()
if profiler is not None:
    profiler.enable()
result = run_task(task, RunOptions(mock=url, cache_dir=cache, overwrite=True, num_records=limit))
if profiler is not None:
    profiler.disable()
whole, wall = cpu() - start, time.perf_counter() - wall
assert small.done == 10 and result.done == (limit or records), (small.done, result.done)
assert result.metrics["totals"]["model_calls"] == 0, result.metrics["totals"]
if profiler is not None:
    profiler.dump_stats(Path(tempfile.gettempdir()) / "grasp_rerun.prof")
    stats = pstats.Stats(profiler, stream=sys.stderr)
    stats.sort_stats("tottime").print_stats(40)
    stats.sort_stats("cumulative").print_stats(80)
print(json.dumps({"whole": whole, "start_up": start_up, "wall": wall, "cold": cold}))
"""


def rerun(
    task: Path, cache: Path, url: str, records: int, profile: bool, src: str | None = None
) -> dict[str, float]:
    """One rerun (after 10-record reruns that measure start-up) in a fresh interpreter;
    with ``src``, the packages are imported from that folder (another copy of ``src/``)."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(task), str(cache), url, str(records), str(int(profile))],
        stdout=subprocess.PIPE,
        stderr=None if profile else subprocess.PIPE,
        text=True,
        check=True,
        cwd=task.parent,
        env=env,
    )
    out: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def instructions(task: Path, cache: Path, url: str, records: int, limit: int) -> int:
    """Instructions a child rerunning ``limit`` of the ``records`` executes (its 10-record
    reruns and start-up included), counted by callgrind."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        child = [sys.executable, "-c", CHILD, str(task), str(cache), url, str(records), "0"]
        subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *child, str(limit)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=True,
            cwd=task.parent,
        )
        for line in out.read_text().splitlines():
            if line.startswith("summary:"):
                return int(line.split()[1])
    raise RuntimeError("callgrind wrote no summary")


def main() -> None:
    from _mock_process import mock_process  # type: ignore[import-not-found]
    from bench_engine import prepare  # type: ignore[import-not-found]
    from grasp_core import RunOptions, run_task

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5, help="reruns; the least CPU counts")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one rerun")
    parser.add_argument("--before", metavar="SRC", help="alternate with this copy of src/")
    parser.add_argument(
        "--instructions", action="store_true", help="count instructions with callgrind too"
    )
    args = parser.parse_args()
    if args.instructions and shutil.which("valgrind") is None:
        parser.error("--instructions needs valgrind (apt-get install valgrind)")
    with tempfile.TemporaryDirectory() as tmp, mock_process("0") as url:
        task = prepare(Path(tmp), args.records, 64)
        cache = Path(tmp) / "cache"
        assert run_task(task, RunOptions(mock=url, cache_dir=cache)).done == args.records
        if args.profile:
            rerun(task, cache, url, args.records, True)
            return
        sources = [None] if args.before is None else [args.before, None]
        runs: dict[str | None, list[dict[str, float]]] = {src: [] for src in sources}
        for _ in range(args.repeat):
            for src in sources:
                runs[src].append(rerun(task, cache, url, args.records, False, src))
        counted = None
        if args.instructions:
            every = instructions(task, cache, url, args.records, args.records)
            counted = (every - instructions(task, cache, url, args.records, 10)) / (
                args.records - 10
            )
    header = " | ".join("before" if src else "this tree" for src in sources)
    print(f"| rerun of {args.records} records (all hit), least CPU of {args.repeat} | {header} |")
    print("|---|" + "---|" * len(sources))
    rows = {
        "whole rerun, CPU per record": lambda b: f"{b['whole'] / args.records * 1e6:,.0f} µs",
        "cold start (first 10-record rerun, imports)": lambda b: f"{b['cold'] * 1e3:,.0f} ms",
        "start-up (a second 10-record rerun)": lambda b: f"{b['start_up'] * 1e3:,.1f} ms",
        "per-record work": lambda b: (
            f"{(b['whole'] - b['start_up']) / (args.records - 10) * 1e6:,.0f} µs"
        ),
        "records / CPU second (whole rerun)": lambda b: f"{args.records / b['whole']:,.0f}",
    }
    best = {src: min(runs[src], key=lambda run: run["whole"]) for src in sources}
    for label, cell in rows.items():
        print(f"| {label} | " + " | ".join(cell(best[src]) for src in sources) + " |")
    walls = " | ".join(f"{args.records / min(r['wall'] for r in runs[s]):,.0f}" for s in sources)
    print(f"| records/s (wall, best) | {walls} |")
    if counted is not None:
        mine = best[None]
        rate = counted / ((mine["whole"] - mine["start_up"]) / (args.records - 10))
        print(f"| per-record work, instructions (callgrind) | {counted:,.0f} |")
        print(f"| this machine's rate in the best rerun | {rate / 1e9:.2f} G instructions/CPU s |")
    if args.before is not None:
        _print_paired(runs[args.before], runs[None])


def _print_paired(before: list[dict[str, float]], after: list[dict[str, float]]) -> None:
    """This tree's CPU over the other copy's, run by run (each pair ran back to back, under
    the same load): the figure that holds when the machine's speed drifts between rounds."""
    for label, field in (("whole rerun", "whole"), ("start-up", "start_up")):
        ratios = sorted(a[field] / b[field] for a, b in zip(after, before, strict=True))
        median = ratios[len(ratios) // 2]
        print(
            f"paired CPU ratio, {label} (this tree / before): median {median:.3f}, "
            f"range {ratios[0]:.3f}-{ratios[-1]:.3f} over {len(ratios)} pairs"
        )


if __name__ == "__main__":
    main()
