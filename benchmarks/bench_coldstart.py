"""A run's fixed cost in a fresh interpreter: imports, start-up, opening and finalising.

Each measurement is a new Python process that imports ``grasp_core`` and runs the 2-node llm
task of ``bench_engine.py`` (fast lane, no cache) against the mock server in its own
process: 10 records at zero latency (almost nothing but fixed cost), and the P1 workload
at median 0.05 s, concurrency 64, whose whole-run wall is compared with the floor
(``bench_floor.py``). Each child reports its wall and CPU seconds from its first line, so
the import of the node types and their HTTP clients counts. ``--before`` alternates the
runs with runs importing another copy of the source (``git archive HEAD src | tar -x -C
/tmp/before``), so both see the same load.

Children write and reuse compiled bytecode (in a folder of their own, after one untimed
warm-up run), as an installed package does, even where ``PYTHONDONTWRITEBYTECODE`` is set:
without it every module would be compiled again in every run. The warm-up run also fills
the caches a second run of an installed GraSP reads (config models' field docstrings beside
the bytecode, litellm's prices under a cache folder of the benchmark's own). ``--phases``
prints where the 10-record run's time goes instead (imports, loading, compiling, opening,
the records, finalising), timed around ``TaskRun``'s steps in fresh interpreters: wall
milliseconds, and the process's CPU milliseconds, which a loaded machine disturbs less; the
garbage collector's share is a row of its own (it runs inside the other steps).

``--cli`` runs ``python -m grasp_core run TASK`` instead, its output a pipe as in a log or a
CI job (progress as JSON lines, then the summary and its tables): the whole process as a user
starts it, interpreter start-up included, wall and CPU measured from outside it. With
``--phases`` it adds the summary's printing as a step. ``--no-bytecode`` keeps
``PYTHONDONTWRITEBYTECODE=1`` and no bytecode folder of the benchmark's own: GraSP's modules
are compiled again in every process (an editable install where that variable is set, as in
this repository's development environment; an installed wheel has its bytecode, compiled by
pip at install time), and the field docstrings are parsed again.

    python benchmarks/bench_coldstart.py [--records 1000] [--repeat 3] [--before OTHER/src]
                                         [--cli] [--no-bytecode]
    python benchmarks/bench_coldstart.py --phases [--repeat 5] [--before OTHER/src] [--cli]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

HERE = Path(__file__).parent

CHILD = """
import time
started = time.perf_counter()
import json, resource, sys
from pathlib import Path
from grasp_core import RunOptions, run_task

result = run_task(Path(sys.argv[1]), RunOptions(mock=sys.argv[2], cache=False, overwrite=True))
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({
    "done": result.done,
    "wall": time.perf_counter() - started,
    "cpu": usage.ru_utime + usage.ru_stime,
}))
"""


PHASES = """
import time
clock = time.perf_counter
started, cpu_started = clock(), time.process_time()
import functools, gc, inspect, json, sys
from pathlib import Path
cli = sys.argv[3] == "cli"
if cli:  # what `grasp` does first (a tree from before the pause has no _collector)
    try:
        from grasp_core import _collector
        _collector.pause()
    except ImportError:
        pass
collecting = {"since": 0.0, "spent": 0.0}
def collected(phase, info):
    if phase == "start":
        collecting["since"] = time.process_time()
    else:
        collecting["spent"] += time.process_time() - collecting["since"]
gc.callbacks.append(collected)
import grasp_core.api as api
import grasp_core.runs.local as local
spent = {"import grasp_core.api": (clock() - started, time.process_time() - cpu_started)}

def timed(owner, name, label):
    function = getattr(owner, name)
    def add(wall, cpu):
        before = spent.get(label, (0.0, 0.0))
        spent[label] = (before[0] + wall, before[1] + cpu)
    if inspect.iscoroutinefunction(function):
        async def wrapper(*args, **kwargs):
            wall, cpu = clock(), time.process_time()
            try:
                return await function(*args, **kwargs)
            finally:
                add(clock() - wall, time.process_time() - cpu)
    else:
        def wrapper(*args, **kwargs):
            wall, cpu = clock(), time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                add(clock() - wall, time.process_time() - cpu)
    setattr(owner, name, functools.wraps(function)(wrapper))

for owner, name, label in [
    (api, "load_task", "load and validate the task"),
    (api, "catalog_for", "models file"),
    (local.TaskParts, "compile", "compile (node types, clients)"),
    (local, "check_before_calls", "preflight (first records' columns)"),
    (local.RunMonitor, "prepare", "prices (litellm's table)"),
    (local.TaskRun, "_items", "open the source"),
    (local.TaskParts, "sinks", "open the sinks"),
    (local.TaskRun, "_prepare", "prepare journal and sinks"),
    (local.TaskRun, "_run_engine", "the records (first call: the HTTP client)"),
    (local, "_finalize", "finalize the sinks"),
    (local, "write_summary", "summary and metrics.json"),
    (local.RunProvenance, "write", "provenance"),
    (local, "close_shared", "close the clients"),
]:
    timed(owner, name, label)
if cli:
    import grasp_core.cli.commands.run as command
    from grasp_core.cli import main
    timed(command, "_print_summary", "print the summary and its tables")
    args = ["run", sys.argv[1], "--mock-url", sys.argv[2], "--no-cache", "--overwrite"]
    with open("summary.txt", "w") as out:
        stdout, sys.stdout = sys.stdout, out
        try:
            assert main(args) == 0
        finally:
            sys.stdout = stdout
else:
    from grasp_core import RunOptions, run_task
    run_task(Path(sys.argv[1]), RunOptions(mock=sys.argv[2], cache=False, overwrite=True))
whole = (clock() - started, time.process_time() - cpu_started)
spent["garbage collection (inside the steps above)"] = (0.0, collecting["spent"])
spent["the whole process, from its first line"] = whole
print(json.dumps(spent))
"""


@dataclasses.dataclass(frozen=True)
class Children:
    """How the fresh interpreters run: where their bytecode goes, and what they run."""

    pycache: str
    cli: bool = False
    """``python -m grasp_core run`` rather than ``run_task`` (the phases: ``main``)."""
    bytecode: bool = True
    """False: ``PYTHONDONTWRITEBYTECODE=1`` and no bytecode folder of our own."""

    def env(self, src: str | None) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.pop("PYTHONPYCACHEPREFIX", None)
        if self.bytecode:
            env["PYTHONPYCACHEPREFIX"] = self.pycache
        else:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        # prices: not the user's cache
        env["XDG_CACHE_HOME"] = str(Path(self.pycache).parent / "xdg-cache")
        if src is not None:
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
        return env

    def argv(self, task: Path, url: str, code: str) -> list[str]:
        if self.cli and code is CHILD:
            args = [str(task), "--mock-url", url, "--no-cache", "--overwrite"]
            return [sys.executable, "-m", "grasp_core", "run", *args]
        return [sys.executable, "-c", code, str(task), url, "cli" if self.cli else "api"]


def run_cold(
    task: Path, url: str, src: str | None, children: Children, code: str = CHILD
) -> dict[str, Any]:
    """One run of ``task`` in a fresh interpreter (imports from ``src`` when given). A
    ``grasp run`` child is measured from outside: its wall time and CPU seconds."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        children.argv(task, url, code),
        capture_output=True,
        text=True,
        check=False,
        cwd=task.parent,
        env=children.env(src),
    )
    wall = time.perf_counter() - started
    if done.returncode:
        raise RuntimeError(f"the run failed:\n{done.stderr[-2000:]}")
    if children.cli and code is CHILD:
        now = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = now.ru_utime + now.ru_stime - used.ru_utime - used.ru_stime
        return {"wall": wall, "cpu": cpu}
    out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def phases(
    task: Path, url: str, sources: list[str | None], repeat: int, children: Children
) -> None:
    """Print the median wall and CPU milliseconds of each step of ``repeat`` cold runs."""
    runs: dict[str | None, list[dict[str, list[float]]]] = {src: [] for src in sources}
    for src in sources:
        run_cold(task, url, src, children, PHASES)  # compiles the bytecode
    for _ in range(repeat):
        for src in sources:
            runs[src].append(run_cold(task, url, src, children, PHASES))
    labels = list(runs[sources[-1]][0])
    names = ["before", "this tree"] if len(sources) == 2 else ["this tree"]
    what = "`grasp run`" if children.cli else "run_task"
    print(f"| {what}, 10 records, zero latency: median of {repeat}, ms wall / CPU | ", end="")
    print(" | ".join(names) + " |")
    print("|---|" + "---|" * len(sources))
    for label in labels:
        cells = []
        for src in sources:
            wall = statistics.median(run.get(label, [0.0, 0.0])[0] for run in runs[src])
            cpu = statistics.median(run.get(label, [0.0, 0.0])[1] for run in runs[src])
            cells.append(f"{1000 * wall:.0f} / {1000 * cpu:.0f}")
        print(f"| {label} | " + " | ".join(cells) + " |")


def main() -> None:
    from _mock_process import mock_process  # type: ignore[import-not-found]
    from bench_engine import prepare  # type: ignore[import-not-found]
    from bench_floor import floor  # type: ignore[import-not-found]

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; medians count")
    parser.add_argument("--before", metavar="SRC", help="alternate with this copy of src/")
    parser.add_argument("--phases", action="store_true", help="where a 10-record run's time goes")
    parser.add_argument("--cli", action="store_true", help="`grasp run`, not run_task")
    parser.add_argument(
        "--no-bytecode", action="store_true", help="compile GraSP's modules in every process"
    )
    args = parser.parse_args()
    sources = [None] if args.before is None else [args.before, None]
    small: dict[str | None, list[dict[str, Any]]] = {src: [] for src in sources}
    large: dict[str | None, list[dict[str, Any]]] = {src: [] for src in sources}
    with tempfile.TemporaryDirectory() as tmp:
        children = Children(str(Path(tmp) / "pycache"), args.cli, not args.no_bytecode)
        (Path(tmp) / "small").mkdir()
        (Path(tmp) / "large").mkdir()
        task_small = prepare(Path(tmp) / "small", 10, 64)
        task_large = prepare(Path(tmp) / "large", args.records, 64)
        with mock_process("0") as url:
            if args.phases:
                phases(task_small, url, sources, args.repeat, children)
                return
            for src in sources:
                run_cold(task_small, url, src, children)  # compiles the bytecode
            for _ in range(args.repeat):
                for src in sources:
                    small[src].append(run_cold(task_small, url, src, children))
        with mock_process("lognormal:0.05:0.5") as url:
            for _ in range(args.repeat):
                for src in sources:
                    large[src].append(run_cold(task_large, url, src, children))
    best = floor(args.records, 64, 0.05, sigma=0.5, calls=2)["floor"]

    def median(runs: list[dict[str, Any]], what: str) -> float:
        return float(statistics.median(run[what] for run in runs))

    header = " | ".join("before" if src else "this tree" for src in sources)
    what = "`grasp run`" if args.cli else "run_task"
    bytecode = "" if children.bytecode else ", no bytecode"
    print(f"| fresh interpreter ({what}{bytecode}), median of {args.repeat} | {header} |")
    print("|---|" + "---|" * len(sources))
    rows = [
        ("10 records, zero latency: wall", lambda s: f"{median(small[s], 'wall'):.3f} s"),
        ("10 records, zero latency: CPU", lambda s: f"{median(small[s], 'cpu'):.3f} s"),
        (
            f"{args.records} records, median 0.05 s, c64: wall",
            lambda s: f"{median(large[s], 'wall'):.2f} s",
        ),
        (
            f"  × floor (simulated, {best:.2f} s)",
            lambda s: f"{median(large[s], 'wall') / best:.2f}",
        ),
        (f"{args.records} records: CPU", lambda s: f"{median(large[s], 'cpu'):.2f} s"),
    ]
    for label, cell in rows:
        print(f"| {label} | " + " | ".join(cell(src) for src in sources) + " |")


if __name__ == "__main__":
    main()
