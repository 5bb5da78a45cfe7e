"""Engine throughput on a latency-bound workload, against the mock server in another process.

1,000 records through a 2-node llm chain (generate, then critique), lognormal latency with
median 0.5 s. Prints the engine's wall time beside the ideal
(records × calls × mean latency / concurrency), beside the floor (the best non-clairvoyant
scheduler on the same latency distribution, simulated: ``bench_floor.py``), beside a
sequential loop (measured on a sample of records and scaled up, stated as such), and the run's
fixed cost (start-up, opening, finalising: a warm run of a few records at zero latency).

    python benchmarks/bench_engine.py [--records 1000] [--concurrency 64] [--median 0.5]
                                      [--windows 2,1,4]

``--windows`` runs the fast lane once per admission window, given in multiples of the
concurrency (GraSP's default is 2): the window choice measured for real, beside the
simulated policies of ``bench_floor.py``.

Each run meets a mock of its own, started with the same ``--seed``: the mock draws latencies
in the order requests reach it, so every row meets the same latencies, and ``× mock floor``
compares it with the floor of exactly those (``bench_floor.mock_floor``; ``× floor`` is
against the mean over seeds, which one run's draw can miss by ±10% at concurrency 256).
``--seeds N`` runs each row against N mocks (seeds ``--seed`` onwards) and shows the mean
wall, against the floor and against the mean floor of the draws met. The
first row is the cold run: with ``--fresh-process`` it is a new interpreter, timed from its
first line (imports included), as ``grasp run`` is; without it, this process's first run
(which imports the node types, their clients, the sources and sinks). Both read compiled
bytecode from a folder of the benchmark's own (compiled by an untimed run first), as an
installed GraSP has it, even where ``PYTHONDONTWRITEBYTECODE`` is set (this repository's
development environment): otherwise they would compile GraSP's modules again, about 0.15-0.2 s
that no installed copy pays (``bench_coldstart.py --no-bytecode``).
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import anyio

from _mock_process import mock_process  # type: ignore[import-not-found]
from bench_coldstart import Children  # type: ignore[import-not-found]
from bench_floor import floor, mock_floor  # type: ignore[import-not-found]
from grasp_core import RunOptions, run_task

TASK = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out/result.jsonl}
graph_config:
  nodes:
    generate:
      node_type: llm
      output_keys: draft
      prompt:
        - system: "You write short answers."
        - user: "Answer question {id}: {question}"
      model: {name: gen}
    critique:
      node_type: llm
      output_keys: critique
      prompt:
        - user: "Critique this answer: {draft}"
      model: {name: gen}
  edges:
    - {from: START, to: generate}
    - {from: generate, to: critique}
    - {from: critique, to: END}
"""


def prepare(folder: Path, records: int, concurrency: int, transport: str = "auto") -> Path:
    rows = "".join(
        json.dumps({"id": i, "question": f"what is {i} squared?"}) + "\n" for i in range(records)
    )
    (folder / "data.jsonl").write_text(rows)
    (folder / "models.yaml").write_text(
        f"gen:\n  model: hosted_vllm/gen\n  max_concurrency: {concurrency}\n"
        f"  transport: {transport}\n"
    )
    task = folder / "task.yaml"
    task.write_text(TASK)
    return task


async def sequential_sample(url: str, sample: int) -> float:
    """A plain loop over litellm (what a script would do): two calls per record, in turn."""
    from grasp_nodes.clients.litellm_client import import_litellm

    litellm = import_litellm()
    started = time.perf_counter()
    for i in range(sample):
        draft = await litellm.acompletion(
            model="hosted_vllm/gen",
            api_base=url + "/v1",
            api_key="x",
            messages=[{"role": "user", "content": f"Answer question {i}"}],
        )
        await litellm.acompletion(
            model="hosted_vllm/gen",
            api_base=url + "/v1",
            api_key="x",
            messages=[{"role": "user", "content": f"Critique: {draft.choices[0].message.content}"}],
        )
    return time.perf_counter() - started


def fixed_cost(records: int = 10, runs: int = 3) -> float:
    """Wall seconds of a warm run of ``records`` at zero latency (the best of ``runs``): what
    a run costs besides its records (loading the task, opening, finalising, the summary)."""
    walls = []
    with mock_process("0") as url:
        for attempt in range(runs + 1):  # the first run warms imports up
            with tempfile.TemporaryDirectory() as tmp:
                task = prepare(Path(tmp), records, 64)
                started = time.perf_counter()
                result = run_task(task, RunOptions(mock=url, cache=False))
                wall = time.perf_counter() - started
                assert result.done == records, result
            if attempt:
                walls.append(wall)
    return min(walls, default=0.0)


CHILD = """
import time
started = time.perf_counter()
import json, resource, sys
from pathlib import Path
from grasp_core import RunOptions, run_task

window = int(sys.argv[3]) if len(sys.argv) > 3 else None
result = run_task(Path(sys.argv[1]), RunOptions(mock=sys.argv[2], cache=False, window=window))
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({
    "done": result.done,
    "wall": time.perf_counter() - started,
    "cpu": usage.ru_utime + usage.ru_stime,
    "latency": result.metrics["models"]["gen"]["latency_s"],
}))
"""


def fresh_run(
    task: Path, url: str, slots: int | None, children: Children
) -> tuple[float, float, dict[str, float]]:
    """A run in a new interpreter: wall and CPU seconds from its first line, and latencies.
    It reads its modules' bytecode from ``children``'s folder (see :func:`compile_fresh`)."""
    argv = [sys.executable, "-c", CHILD, str(task), url] + ([str(slots)] if slots else [])
    done = subprocess.run(
        argv, capture_output=True, text=True, check=True, cwd=task.parent, env=children.env(None)
    )
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["done"] == len(task.parent.joinpath("data.jsonl").read_text().splitlines()), out
    return out["wall"], out["cpu"], out["latency"]


def compile_fresh(children: Children) -> None:
    """One untimed run of a few records in a new interpreter: it writes the bytecode (and the
    field docstrings' and prices' caches) the timed fresh run reads, as installing does."""
    with mock_process("0") as url, tempfile.TemporaryDirectory() as tmp:
        fresh_run(prepare(Path(tmp), 10, 64), url, None, children)


def read_installed_bytecode(children: Children) -> None:
    """Make this process import GraSP's modules as an installed copy does: from bytecode
    (and with the field docstrings' cache), compiled by one untimed run in a new interpreter
    (:func:`compile_fresh`) into ``children``'s folder, which this process then reads
    (``sys.pycache_prefix``). Without it, where ``PYTHONDONTWRITEBYTECODE`` is set (this
    repository's development environment), a first run in this process would compile every
    module it imports from its source, about 0.15 s that no installed copy pays."""
    compile_fresh(children)
    sys.pycache_prefix = children.pycache


def in_process_run(
    task: Path, url: str, slots: int | None
) -> tuple[float, float, dict[str, float]]:
    """A run in this process: wall and CPU seconds, and the client's latencies."""
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    result = run_task(task, RunOptions(mock=url, cache=False, window=slots))
    wall = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    assert result.done == len(task.parent.joinpath("data.jsonl").read_text().splitlines())
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    return wall, cpu, result.metrics["models"]["gen"]["latency_s"]


BARE = """
import time
started = time.perf_counter()
import asyncio, anyio, pydantic, ruamel.yaml
print(time.perf_counter() - started)
"""
"""What any asyncio tool validating its config with pydantic imports, GraSP or not."""


def bare_imports(children: Children, runs: int = 5) -> float:
    """Median seconds a fresh interpreter takes to import :data:`BARE`'s libraries, from the
    same bytecode folder as the fresh run: the part of its cold start no GraSP change cuts."""
    times = []
    for _ in range(runs):
        env = children.env(None)
        done = subprocess.run(
            [sys.executable, "-c", BARE], capture_output=True, text=True, check=True, env=env
        )
        times.append(float(done.stdout))
    return statistics.median(times)


Run = tuple[float, float, dict[str, float], float]
"""One run: wall and CPU seconds, the client's latencies, and the floor of the draws it met."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--median", type=float, default=0.5)
    parser.add_argument("--sigma", type=float, default=0.5)
    parser.add_argument("--sequential-sample", type=int, default=10)
    parser.add_argument("--transports", default="auto,litellm", help="comma-separated")
    parser.add_argument("--no-fixed", action="store_true", help="skip the fixed-cost runs")
    parser.add_argument(
        "--windows", default="", help="admission windows to run, × concurrency (e.g. 1,2,4)"
    )
    parser.add_argument("--seed", type=int, default=0, help="the mock's first seed")
    parser.add_argument(
        "--seeds",
        type=int,
        default=1,
        help="runs per row, each against a mock seeded --seed, --seed + 1, ...: the row shows "
        "their mean (an in-process cold row runs once: only a process's first run is cold)",
    )
    parser.add_argument(
        "--fresh-process", action="store_true", help="the cold run in a new interpreter"
    )
    args = parser.parse_args()

    calls = 2
    mean_latency = args.median * math.exp(args.sigma**2 / 2)
    ideal = args.records * calls * mean_latency / args.concurrency
    best = floor(args.records, args.concurrency, args.median, sigma=args.sigma, calls=calls)
    seeds = list(range(args.seed, args.seed + args.seeds))
    served = {
        seed: mock_floor(
            args.records, args.concurrency, args.median, sigma=args.sigma, calls=calls, seed=seed
        )
        for seed in seeds
    }
    runs: dict[str, list[Run]] = {}
    windows = [float(w) for w in args.windows.split(",") if w]
    configs = [(t, None) for t in args.transports.split(",")] + [("auto", w) for w in windows]
    latency = f"lognormal:{args.median}:{args.sigma}"
    bytecode = tempfile.TemporaryDirectory()  # the fresh run's, as installing compiles it
    children = Children(str(Path(bytecode.name) / "pycache"))
    read_installed_bytecode(children)
    if args.fresh_process:
        fixed_cost(runs=0)  # this process's runs are warm ones: warm it up first
    for index, (transport, window) in enumerate(configs):
        cold_here = index == 0 and not args.fresh_process
        name = transport if window is None else f"auto, window {window:g} × concurrency"
        runs[name] = []
        for seed in seeds[:1] if cold_here else seeds:
            seeded = mock_process(latency, "--seed", str(seed))
            with seeded as url, tempfile.TemporaryDirectory() as tmp:
                task = prepare(Path(tmp), args.records, args.concurrency, transport)
                slots = None if window is None else max(1, round(window * args.concurrency))
                once = (
                    functools.partial(fresh_run, children=children)
                    if index == 0 and args.fresh_process
                    else in_process_run
                )
                runs[name].append((*once(task, url, slots), served[seed]))
    bare = bare_imports(children) if args.fresh_process else None
    with mock_process(latency, "--seed", str(args.seed)) as url:
        sample = anyio.run(sequential_sample, url, args.sequential_sample)
    sequential = sample * args.records / args.sequential_sample
    fixed = None if args.no_fixed else fixed_cost()  # after the runs: theirs start cold

    print(
        f"\n{args.records} records × {calls} llm calls, lognormal latency "
        f"median {args.median}s sigma {args.sigma} (mean {mean_latency:.3f}s), "
        f"concurrency {args.concurrency}\n"
    )
    print(
        f"| {'measure':<58} | {'seconds':>8} | {'× ideal':>8} | {'× floor':>8} "
        f"| {'× mock floor':>12} |"
    )
    print(f"|{'-' * 60}|{'-' * 10}|{'-' * 10}|{'-' * 10}|{'-' * 14}|")
    mean_served = statistics.fmean(served.values())
    named = f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}-{seeds[-1]}"
    rows = [
        ("ideal (records × calls × mean latency / concurrency)", ideal, mean_served),
        ("floor (best non-clairvoyant policy, simulated)", best["floor"], mean_served),
        (f"mock floor (the floor of the mock's draws, {named})", mean_served, mean_served),
    ]
    names = {"auto": "fast lane", "litellm": "litellm transport"}
    for index, (transport, done) in enumerate(runs.items()):
        fresh = " in a fresh process" if args.fresh_process else ""
        warmth = "warm" if index else f"cold{fresh}"  # the first run imports the node types
        met = f", {len(done)} seeds" if len(done) > 1 else f", seed {seeds[0]}"
        wall = statistics.fmean(run[0] for run in done)
        floor_met = statistics.fmean(run[3] for run in done)
        rows.append((f"grasp, {names.get(transport, transport)} ({warmth}{met})", wall, floor_met))
    rows.append(
        (
            f"sequential loop (scaled from {args.sequential_sample} records)",
            sequential,
            served[args.seed],
        )
    )
    for label, seconds, met_floor in rows:
        print(
            f"| {label:<58} | {seconds:>8.2f} | {seconds / ideal:>8.2f} "
            f"| {seconds / best['floor']:>8.2f} | {seconds / met_floor:>12.2f} |"
        )
    print()
    if len(seeds) > 1:
        print(
            "each grasp row: the mean wall of its runs; × mock floor: against the mean floor "
            "of the draws those runs met"
        )
    if bare is not None:
        print(
            f"a fresh interpreter importing asyncio, anyio, pydantic and ruamel.yaml alone: "
            f"{bare:.3f}s (any such tool's cold start; GraSP's whole is in the cold row)"
        )
    if fixed is not None:
        print(f"fixed cost (a warm run of 10 records at zero latency): {fixed:.3f}s")
    for index, (transport, done) in enumerate(runs.items()):
        imports = " (its imports included)" if index == 0 and args.fresh_process else ""
        cpu = statistics.fmean(run[1] for run in done)
        wall = statistics.fmean(run[0] for run in done)
        lat = done[0][2]
        print(
            f"{names.get(transport, transport)}: {1000 * cpu / (args.records * calls):.2f} ms "
            f"CPU per call{imports}, client latency p50 {lat['p50']}s p95 {lat['p95']}s "
            f"(seed {seeds[0]}), {sequential / wall:.0f}× faster than the sequential loop"
        )


if __name__ == "__main__":
    main()
