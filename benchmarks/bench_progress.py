"""Cost of live progress to the engine: the same CPU-bound run with progress off, as JSON
lines and as the rich display (forced to render as on a terminal, into /dev/null).

20,000 data-less records through one inline lambda node, so the engine itself is the
bottleneck and any time the reporter takes shows. Reports the best of ``--repeat`` runs each.

    python benchmarks/bench_progress.py [--records 20000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from pathlib import Path

from grasp_core import RunOptions, Task, run_task


def task(folder: Path, records: int) -> Task:
    return Task.from_dict(
        {
            "data_config": {"num_records": records},
            "graph_config": {
                "nodes": {"n": {"node_type": "lambda", "lambda": _step, "output_keys": "x"}},
                "edges": [{"from": "START", "to": "n"}, {"from": "n", "to": "END"}],
            },
        },
        task_dir=folder,
    )


async def _step(state: dict[str, object]) -> int:
    return 1


@contextlib.contextmanager
def stderr_to_devnull() -> object:
    saved = os.dup(2)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def timed(records: int, progress: str | bool, interval: float | None) -> float:
    with tempfile.TemporaryDirectory() as tmp, stderr_to_devnull():
        started = time.perf_counter()
        run_task(
            task(Path(tmp), records),
            RunOptions(output_dir=tmp, progress=progress, progress_every=interval),  # type: ignore[arg-type]
        )
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.environ["TTY_COMPATIBLE"] = "1"  # rich renders as on a terminal
    modes = {"off": (False, None), "json/0.25s": ("json", 0.25), "rich/0.25s": ("rich", 0.25)}
    best = {name: float("inf") for name in modes}
    for _ in range(args.repeat):
        for name, (progress, interval) in modes.items():
            best[name] = min(best[name], timed(args.records, progress, interval))
    for name, seconds in best.items():
        extra = (seconds / best["off"] - 1) * 100
        print(f"{name:<11} {seconds:6.2f} s  {args.records / seconds:8.0f} rec/s  {extra:+5.1f}%")
    for mode in ("rich", "json"):
        print(f"one {mode} report: {report_cost(mode) * 1e3:.3f} ms of CPU")
    sys.stdout.flush()


def report_cost(mode: str, reports: int = 200) -> float:
    """Seconds one report takes (a snapshot with two backends), rendered into /dev/null."""
    from grasp_core.observe.progress import ProgressReporter, ProgressSnapshot

    snapshot = ProgressSnapshot(
        done=1234, failed=3, filtered=0, earlier=0, in_flight=64, total=10_000, elapsed=12.0,
        prompt_tokens=123_456, completion_tokens=65_432, cost_usd=0.123,
        backends={"a": {"in_flight": 32, "limit": 64}, "b": {"in_flight": 32, "limit": 32}},
    )  # fmt: skip
    with stderr_to_devnull():
        reporter = ProgressReporter(mode, lambda _elapsed: snapshot)  # type: ignore[arg-type]
        started = time.process_time()
        for _ in range(reports):
            reporter.display.show(reporter.read(0.0), final=False)
        spent = time.process_time() - started
        reporter.display.close()
    return spent / reports


if __name__ == "__main__":
    main()
