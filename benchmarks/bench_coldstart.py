"""A run's fixed cost in a fresh interpreter: imports, start-up, opening and finalising.

Each measurement is a new Python process that imports ``grasp_core`` and runs the 2-node llm
task of ``bench_engine.py`` (fast lane, no cache) against the mock server in its own
process: 10 records at zero latency (almost nothing but fixed cost), and the P1 workload
at median 0.05 s, concurrency 64, whose whole-run wall is compared with the floor
(``bench_floor.py``). Each child reports its wall and CPU seconds from its first line, so
the import of the node types and their HTTP clients counts. ``--before`` alternates the
runs with runs importing another copy of the source (``git archive HEAD src | tar -x -C
/tmp/before``), so both see the same load.

    python benchmarks/bench_coldstart.py [--records 1000] [--repeat 3] [--before OTHER/src]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

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


def run_cold(task: Path, url: str, src: str | None) -> dict[str, float]:
    """One run of ``task`` in a fresh interpreter (imports from ``src`` when given)."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(task), url],
        capture_output=True,
        text=True,
        check=False,
        cwd=task.parent,
        env=env,
    )
    if done.returncode:
        raise RuntimeError(f"the run failed:\n{done.stderr[-2000:]}")
    out: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def main() -> None:
    from _mock_process import mock_process  # type: ignore[import-not-found]
    from bench_engine import prepare  # type: ignore[import-not-found]
    from bench_floor import floor  # type: ignore[import-not-found]

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; medians count")
    parser.add_argument("--before", metavar="SRC", help="alternate with this copy of src/")
    args = parser.parse_args()
    sources = [None] if args.before is None else [args.before, None]
    small: dict[str | None, list[dict[str, float]]] = {src: [] for src in sources}
    large: dict[str | None, list[dict[str, float]]] = {src: [] for src in sources}
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "small").mkdir()
        (Path(tmp) / "large").mkdir()
        task_small = prepare(Path(tmp) / "small", 10, 64)
        task_large = prepare(Path(tmp) / "large", args.records, 64)
        with mock_process("0") as url:
            for _ in range(args.repeat):
                for src in sources:
                    small[src].append(run_cold(task_small, url, src))
        with mock_process("lognormal:0.05:0.5") as url:
            for _ in range(args.repeat):
                for src in sources:
                    large[src].append(run_cold(task_large, url, src))
    best = floor(args.records, 64, 0.05, sigma=0.5, calls=2)["floor"]

    def median(runs: list[dict[str, float]], what: str) -> float:
        return statistics.median(run[what] for run in runs)

    header = " | ".join("before" if src else "this tree" for src in sources)
    print(f"| fresh interpreter, median of {args.repeat} | {header} |")
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
