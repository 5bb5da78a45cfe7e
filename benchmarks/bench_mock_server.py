"""How many chat requests per second the mock server sustains on loopback.

The server runs in its own process (``serve_cli``) so that it has a core and a GIL to
itself; an aiohttp client keeps ``concurrency`` requests in flight. With a latency the
ideal rate is ``concurrency / latency``; the gap to it is the server's overhead.

    python benchmarks/bench_mock_server.py [--requests 5000] [--concurrency 1 16 64 256]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time

import aiohttp

_SERVER = "from grasp_core.mock_server import serve_cli; serve_cli(latency={latency!r})"


async def _measure(url: str, *, requests: int, concurrency: int) -> tuple[float, list[float]]:
    """Seconds for ``requests`` calls with ``concurrency`` in flight, and each call's latency."""
    connector = aiohttp.TCPConnector(limit=concurrency)
    remaining = requests
    durations: list[float] = []

    async def worker(session: aiohttp.ClientSession, worker_id: int) -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
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
        asyncio.run(_measure(url, requests=200, concurrency=8))  # warm up
        for concurrency in args.concurrency:
            seconds, durations = asyncio.run(
                _measure(url, requests=args.requests, concurrency=concurrency)
            )
            quantiles = statistics.quantiles(durations, n=100)
            rows.append(
                f"| {latency:>7} | {concurrency:>11} | {args.requests:>8} | "
                f"{args.requests / seconds:>9.0f} | {quantiles[49] * 1000:>6.1f} | "
                f"{quantiles[98] * 1000:>6.1f} |"
            )
    finally:
        process.terminate()
        process.wait(timeout=10)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000, help="requests per row")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64, 256])
    parser.add_argument("--latency", nargs="+", default=["0", "0.05"], help="server latencies")
    args = parser.parse_args()
    print("| latency | concurrency | requests | req/s     | p50 ms | p99 ms |")
    print("|---------|-------------|----------|-----------|--------|--------|")
    for latency in args.latency:
        for row in _run(latency, args):
            print(row, flush=True)


if __name__ == "__main__":
    main()
