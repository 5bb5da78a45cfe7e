"""How many chat requests per second the mock server sustains on loopback.

The server runs in its own process (``serve_cli``) so that it has a core and a GIL to
itself; an aiohttp client keeps ``concurrency`` requests in flight. With a latency the
ideal rate is ``concurrency / latency``; the gap to it is the server's overhead.

    python benchmarks/bench_mock_server.py [--seconds 2] [--concurrency 1 16 64 256]

"server cpu" is the share of one core the server process used (Linux only): near 100%
means the server is the bottleneck, lower means the client is.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time

import aiohttp

_SERVER = "from grasp_core.mock_server import serve_cli; serve_cli(latency={latency!r})"


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds used so far by process ``pid``; None off Linux."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _measure(url: str, *, seconds: float, concurrency: int) -> tuple[float, list[float]]:
    """Keep ``concurrency`` calls in flight for ``seconds``; elapsed time, per-call latencies."""
    connector = aiohttp.TCPConnector(limit=concurrency)
    durations: list[float] = []
    deadline = time.perf_counter() + seconds

    async def worker(session: aiohttp.ClientSession, worker_id: int) -> None:
        while time.perf_counter() < deadline:
            body = {"model": "m", "messages": [{"role": "user", "content": f"w{worker_id} hi"}]}
            started = time.perf_counter()
            async with session.post(url + "/v1/chat/completions", json=body) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"unexpected status {response.status}")
            durations.append(time.perf_counter() - started)

    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        await asyncio.gather(*(worker(session, i) for i in range(concurrency)))
        return time.perf_counter() - started, durations


def _run(latency: str, args: argparse.Namespace) -> list[str]:
    code = _SERVER.format(latency=latency)
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    rows = []
    try:
        assert process.stdout is not None
        url = process.stdout.readline().split()[-1]
        asyncio.run(_measure(url, seconds=0.3, concurrency=8))  # warm up
        for concurrency in args.concurrency:
            cpu_before = _cpu_seconds(process.pid)
            seconds, durations = asyncio.run(
                _measure(url, seconds=args.seconds, concurrency=concurrency)
            )
            cpu_after = _cpu_seconds(process.pid)
            cpu = "n/a"
            if cpu_before is not None and cpu_after is not None:
                cpu = f"{(cpu_after - cpu_before) / seconds:.0%}"
            quantiles = statistics.quantiles(durations, n=100)
            rows.append(
                f"| {latency:>7} | {concurrency:>11} | {len(durations):>8} | "
                f"{len(durations) / seconds:>7.0f} | {quantiles[49] * 1000:>6.1f} | "
                f"{quantiles[98] * 1000:>6.1f} | {cpu:>10} |"
            )
    finally:
        process.terminate()
        process.wait(timeout=10)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="duration of each row")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64, 256])
    parser.add_argument("--latency", nargs="+", default=["0", "0.05"], help="server latencies")
    args = parser.parse_args()
    print("| latency | concurrency | requests |   req/s | p50 ms | p99 ms | server cpu |")
    print("|---------|-------------|----------|---------|--------|--------|------------|")
    for latency in args.latency:
        for row in _run(latency, args):
            print(row, flush=True)


if __name__ == "__main__":
    main()
