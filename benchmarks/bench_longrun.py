"""A long run never slows: calls/s over the first and last tenth, peak memory, journal size,
and the time a resume of the finished run takes to skip every record.

Records × a 2-call llm chain (``bench_engine.py``'s task) at a fixed latency against the mock
server in its own process. Each run is a child process (its own peak RSS); a thread there
samples the mock's request counter, so the rates are the server's calls per second. The same
is run at a tenth of the records, for the memory ratio (the run's peak, taken before the
resume, whose peak is shown apart).

The machine's speed drifts by 10% and more over a minute here (other tenants of the host),
and the first and the last tenth meet different stretches of it. So two gauges of its speed
are read beside the run: the CPU time of a fixed piece of pure-Python work the sampler thread
does every 0.1 s, and the mock's own CPU per request (it does the same work for every call
and keeps nothing per call: an asyncio server's work, like the client's). The calls/s ratio
is shown as measured, and multiplied by each gauge's ratio (its CPU time in the last tenth
over the first), which takes the machine's drift out of it. The fixed work sees the CPU's
speed only; the mock also sees what slows memory and the network stack, as the client does.

    python benchmarks/bench_longrun.py                    (200,000 records: the full run)
    python benchmarks/bench_longrun.py --records 20000    (a smaller scale, same figures)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from _mock_process import mock_process  # type: ignore[import-not-found]
from bench_engine import prepare  # type: ignore[import-not-found]

HERE = Path(__file__).parent

CHILD = """
import json, os, resource, sys, threading, time, urllib.request
from pathlib import Path
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
from grasp_core import RunOptions, run_task

url, task = sys.argv[1], Path(sys.argv[2])
samples = []  # (seconds since start, requests the mock answered, our CPU s, the mock's CPU s)
done = threading.Event()

def mock():
    with urllib.request.urlopen(url + "/_mock/stats", timeout=10) as reply:
        stats = json.loads(reply.read())
    return stats["requests"], stats["cpu_seconds"]

base = mock()[0]

def peak_mb():
    # VmHWM, not ru_maxrss: Linux keeps ru_maxrss across exec (the parent's peak)
    hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0]
    return int(hwm.split()[1]) / 1024

def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime

work = [0.0, 0]  # the fixed work's CPU seconds, and how many times it ran

def fixed_work():
    at = time.thread_time()
    sum(i * i for i in range(5000))
    work[0] += time.thread_time() - at
    work[1] += 1

def sample():
    while not done.wait(0.1):
        fixed_work()
        answered, mock_cpu = mock()
        samples.append(
            (time.perf_counter() - started, answered - base, cpu(), mock_cpu, *work)
        )

# the task's folder and data were written by the parent: the child's peak is the run's
started = time.perf_counter()
sampler = threading.Thread(target=sample, daemon=True)
sampler.start()
result = run_task(task, RunOptions(mock=url, cache=False))
wall = time.perf_counter() - started
done.set()
sampler.join()
answered, mock_cpu = mock()
samples.append((wall, answered - base, cpu(), mock_cpu, *work))
journal = sum(p.stat().st_size for p in task.parent.rglob("*.journal.jsonl"))
run_peak = peak_mb()
resumed_at, resumed_cpu = time.perf_counter(), cpu()
resumed = run_task(task, RunOptions(mock=url, cache=False, resume=True))
resume = time.perf_counter() - resumed_at
resume_cpu = cpu() - resumed_cpu
print(json.dumps({
    "done": result.done, "wall": wall, "samples": samples, "journal": journal,
    "resume": resume, "resume_cpu": resume_cpu,
    "resumed_done": resumed.done, "resumed_earlier": resumed.previously_done,
    "peak_mb": run_peak, "resume_peak_mb": peak_mb(),
}))
"""


def run(url: str, records: int, concurrency: int) -> dict[str, object]:
    """One run in a child process. Its data file is written here, not in the child: a
    file of 200,000 rows built in memory would be the child's peak, not the run's."""
    with tempfile.TemporaryDirectory() as tmp:
        task = prepare(Path(tmp), records, concurrency)
        done = subprocess.run(
            [sys.executable, "-c", CHILD, url, str(task)],
            stdout=subprocess.PIPE,
            text=True,
            check=True,
            cwd=HERE,
        )
    out: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def when(samples: list[list[float]], calls: float, column: int = 0) -> float:
    """The time (``column`` 0), our process's CPU seconds (2) or the mock's (3) when the mock
    had answered ``calls`` requests, linear between samples."""
    previous = [0.0, 0.0, *samples[0][2:]]
    for sample in samples:
        if sample[1] >= calls:
            span = sample[1] - previous[1]
            share = (calls - previous[1]) / span if span else 1.0
            return previous[column] + share * (sample[column] - previous[column])
        previous = list(sample)
    return samples[-1][column]


def tenths(samples: list[list[float]], total: int, column: int = 0) -> tuple[float, float]:
    """Seconds (``column`` 0) or CPU seconds (2: ours, 3: the mock's) per call over the first
    and the last tenth of the calls (from the first answered call: start-up is the run's
    fixed cost)."""
    tenth = total / 10
    first = (when(samples, tenth, column) - when(samples, 1, column)) / tenth
    last = (when(samples, total, column) - when(samples, total - tenth, column)) / tenth
    return first, last


CALLS = 2
"""Calls a record makes (``bench_engine.py``'s chain)."""


def measure(records: int, concurrency: int, latency: float) -> dict[str, float]:
    """Run ``records`` and a tenth of them, each in a child process; the long run's figures."""
    with mock_process(str(latency)) as url:
        big = run(url, records, concurrency)
        small = run(url, records // 10, concurrency)
    samples = big["samples"]
    assert isinstance(samples, list)
    assert big["done"] == records, big
    assert big["resumed_done"] == 0, big
    total = records * CALLS
    first, last = (1 / seconds for seconds in tenths(samples, total))
    cpu_first, cpu_last = tenths(samples, total, column=2)
    mock_first, mock_last = tenths(samples, total, column=3)
    work_first, work_last = tenths(samples, total, column=4)
    runs_first, runs_last = tenths(samples, total, column=5)
    figures = {"work_first": work_first / runs_first, "work_last": work_last / runs_last}
    figures |= {"first": first, "last": last, "cpu_first": cpu_first, "cpu_last": cpu_last}
    figures |= {"mock_first": mock_first, "mock_last": mock_last}
    figures["small_peak_mb"] = float(small["peak_mb"])  # type: ignore[arg-type]
    for name in ("wall", "peak_mb", "journal", "resume", "resume_cpu", "resume_peak_mb"):
        figures[name] = float(big[name])  # type: ignore[arg-type]
    figures["resumed_earlier"] = float(big["resumed_earlier"])  # type: ignore[arg-type]
    figures["pace"] = last / first  # calls/s, last tenth over first
    figures["mock_gauge"] = mock_last / mock_first  # the machine's slowdown, by the mock
    figures["work_gauge"] = figures["work_last"] / figures["work_first"]  # by the fixed work
    figures["peak_ratio"] = figures["peak_mb"] / figures["small_peak_mb"]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--latency", type=float, default=0.005, help="seconds, fixed")
    args = parser.parse_args()
    got = measure(args.records, args.concurrency, args.latency)
    first, last, cpu_first, cpu_last = got["first"], got["last"], got["cpu_first"], got["cpu_last"]
    pace, gauge, work = got["pace"], got["mock_gauge"], got["work_gauge"]
    print(
        f"\n{args.records:,} records × {CALLS} llm calls at {args.latency * 1000:g} ms, "
        f"concurrency {args.concurrency}: {got['wall']:.1f}s\n"
    )
    print("| measure | value | target |")
    print("|---|---|---|")
    print(f"| calls/s, first tenth of the calls | {first:,.0f} | |")
    print(f"| calls/s, last tenth | {last:,.0f} ({pace:.2f} × the first) | ≥ 0.9 × |")
    print(
        f"| CPU per call, first tenth → last tenth | {cpu_first * 1e6:.0f} µs → "
        f"{cpu_last * 1e6:.0f} µs ({cpu_last / cpu_first:.2f} ×) | ≈ 1 × (holds on a busy "
        "machine) |"
    )
    print(
        f"| the machine's speed: the mock's CPU per request, first tenth → last tenth | "
        f"{got['mock_first'] * 1e6:.0f} µs → {got['mock_last'] * 1e6:.0f} µs ({gauge:.2f} ×) "
        "| (the same work every call) |"
    )
    print(
        f"| the machine's speed: a fixed piece of work in our sampler thread | "
        f"{got['work_first'] * 1e6:.0f} µs → {got['work_last'] * 1e6:.0f} µs ({work:.2f} ×) | |"
    )
    print(
        f"| calls/s, last tenth / first, at the machine's speed (× each gauge's ratio) | "
        f"{pace * gauge:.2f} (the mock's), {pace * work:.2f} (the fixed work's) "
        "| ≥ 0.9 × |"
    )
    ratio = got["peak_ratio"]
    print(
        f"| peak RSS | {got['peak_mb']:.0f} MB ({ratio:.2f} × the {args.records // 10:,}-record "
        f"run's {got['small_peak_mb']:.0f} MB) | ≤ 1.2 × |"
    )
    journal = got["journal"]
    print(f"| journal | {journal / 1e6:.1f} MB ({journal / args.records:.0f} bytes a record) | |")
    print(
        f"| resume of the finished run (skips {got['resumed_earlier']:,.0f} records) | "
        f"{got['resume']:.2f}s ({got['resume_cpu']:.2f} s of CPU: the figure that holds on a "
        f"busy machine), peak RSS {got['resume_peak_mb']:.0f} MB | < 5 s at 200,000 |"
    )


if __name__ == "__main__":
    main()
