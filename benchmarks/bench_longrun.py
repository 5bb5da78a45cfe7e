"""A long run never slows: calls/s over the first and last tenth, peak memory, journal size,
and the time a resume of the finished run takes to skip every record.

Records × a 2-call llm chain (``bench_engine.py``'s task) at a fixed latency against the mock
server in its own process. Each run is a child process (its own peak RSS); a thread there
samples the mock's request counter, so the rates are the server's calls per second. The same
is run at a tenth of the records, for the memory ratio (the run's peak, taken before the
resume, whose peak is shown apart).

    python benchmarks/bench_longrun.py                    (200,000 records: the full run)
    python benchmarks/bench_longrun.py --records 20000    (a smaller scale, same figures)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from _mock_process import mock_process  # type: ignore[import-not-found]

HERE = Path(__file__).parent

CHILD = """
import json, os, resource, sys, tempfile, threading, time, urllib.request
from pathlib import Path
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
from bench_engine import prepare
from grasp_core import RunOptions, run_task

url, records, concurrency = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
samples = []  # (seconds since start, requests the mock has answered, process CPU seconds)
done = threading.Event()

def requests():
    with urllib.request.urlopen(url + "/_mock/stats", timeout=10) as reply:
        return json.loads(reply.read())["requests"]

base = requests()

def peak_mb():
    # VmHWM, not ru_maxrss: Linux keeps ru_maxrss across exec (the parent's peak)
    hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0]
    return int(hwm.split()[1]) / 1024

def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime

def sample():
    while not done.wait(0.1):
        samples.append((time.perf_counter() - started, requests() - base, cpu()))

with tempfile.TemporaryDirectory() as tmp:
    task = prepare(Path(tmp), records, concurrency)
    started = time.perf_counter()
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    result = run_task(task, RunOptions(mock=url, cache=False))
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    samples.append((wall, requests() - base, cpu()))
    journal = sum(p.stat().st_size for p in Path(tmp).rglob("*.journal.jsonl"))
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
    done = subprocess.run(
        [sys.executable, "-c", CHILD, url, str(records), str(concurrency)],
        stdout=subprocess.PIPE,
        text=True,
        check=True,
        cwd=HERE,
    )
    out: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def when(samples: list[list[float]], calls: float, column: int = 0) -> float:
    """The time (``column`` 0) or the process CPU seconds (2) when the mock had answered
    ``calls`` requests, linear between samples."""
    previous = (0.0, 0.0, samples[0][2])
    for sample in samples:
        if sample[1] >= calls:
            span = sample[1] - previous[1]
            share = (calls - previous[1]) / span if span else 1.0
            return previous[column] + share * (sample[column] - previous[column])
        previous = (sample[0], sample[1], sample[2])
    return samples[-1][column]


def tenths(samples: list[list[float]], total: int, column: int = 0) -> tuple[float, float]:
    """Seconds (``column`` 0) or CPU seconds (2) per call over the first and the last tenth
    of the calls (from the first answered call: start-up is the run's fixed cost)."""
    tenth = total / 10
    first = (when(samples, tenth, column) - when(samples, 1, column)) / tenth
    last = (when(samples, total, column) - when(samples, total - tenth, column)) / tenth
    return first, last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--latency", type=float, default=0.005, help="seconds, fixed")
    args = parser.parse_args()
    calls = 2
    with mock_process(str(args.latency)) as url:
        big = run(url, args.records, args.concurrency)
        small = run(url, args.records // 10, args.concurrency)
    samples = big["samples"]
    assert isinstance(samples, list)
    total = args.records * calls
    first, last = (1 / seconds for seconds in tenths(samples, total))
    cpu_first, cpu_last = tenths(samples, total, column=2)
    assert big["done"] == args.records, big
    assert big["resumed_done"] == 0, big
    print(
        f"\n{args.records:,} records × {calls} llm calls at {args.latency * 1000:g} ms, "
        f"concurrency {args.concurrency}: {big['wall']:.1f}s\n"
    )
    print("| measure | value | target |")
    print("|---|---|---|")
    print(f"| calls/s, first tenth of the calls | {first:,.0f} | |")
    print(f"| calls/s, last tenth | {last:,.0f} ({last / first:.2f} × the first) | ≥ 0.9 × |")
    print(
        f"| CPU per call, first tenth → last tenth | {cpu_first * 1e6:.0f} µs → "
        f"{cpu_last * 1e6:.0f} µs ({cpu_last / cpu_first:.2f} ×) | ≈ 1 × (holds on a busy "
        "machine) |"
    )
    ratio = float(big["peak_mb"]) / float(small["peak_mb"])  # type: ignore[arg-type]
    print(
        f"| peak RSS | {big['peak_mb']:.0f} MB ({ratio:.2f} × the {args.records // 10:,}-record "
        f"run's {small['peak_mb']:.0f} MB) | ≤ 1.2 × |"
    )
    journal = float(big["journal"])  # type: ignore[arg-type]
    print(f"| journal | {journal / 1e6:.1f} MB ({journal / args.records:.0f} bytes a record) | |")
    print(
        f"| resume of the finished run (skips {big['resumed_earlier']:,} records) | "
        f"{big['resume']:.2f}s ({big['resume_cpu']:.2f} s of CPU: the figure that holds on a "
        f"busy machine), peak RSS {big['resume_peak_mb']:.0f} MB | < 5 s at 200,000 |"
    )


if __name__ == "__main__":
    main()
