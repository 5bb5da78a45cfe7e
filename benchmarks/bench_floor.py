"""The floor of a latency-bound run: the best wall time a scheduler could reach without knowing
a call's latency before it returns.

The ideal (records × calls × mean latency / concurrency) assumes perfect packing; the tail
(the last records still run a whole chain after the others finish) makes it unreachable. This
simulates records × a chain of calls on ``concurrency`` slots with lognormal latencies, under
a few non-clairvoyant policies, on the same draws; the best is the floor. A clairvoyant
policy (longest remaining chain first, knowing every latency) is shown for reference only.

The floor is a mean over seeds; one run meets one draw of latencies, whose own floor differs
from it (at concurrency 256, 1,000 records × 2 calls: 5.3 to 6.5 s for seeds 0 to 4, the mean
5.97 s: the tail decides). ``mock_floor`` is the floor of the very latencies the mock serves
a run: the mock draws one per request, in the order requests reach it, so a simulated policy
gives its k-th started call the k-th draw.

    python benchmarks/bench_floor.py [--records 1000] [--median 0.5] [--concurrency 64 256]
"""

from __future__ import annotations

import argparse
import heapq
import math
import random
import statistics
from collections.abc import Callable, Iterator
from dataclasses import dataclass

__all__ = ["POLICIES", "floor", "mock_floor", "simulate"]


@dataclass(frozen=True)
class Policy:
    """Which ready call a free slot starts, and how many records may be in progress."""

    name: str
    key: Callable[[int, int, float], tuple[float, ...]]
    """(record, call index, ready time) → sort key; the smallest starts first."""
    window: Callable[[int], int] | None = None
    """concurrency → records admitted at once (None: every record is ready at the start)."""


POLICIES = (
    Policy("FIFO (calls in the order they became ready)", lambda r, c, t: (t, r, c)),
    Policy("second calls first", lambda r, c, t: (-c, t, r)),
    Policy("records in order (lowest record first)", lambda r, c, t: (r, c)),
    Policy("window 2 × concurrency, FIFO", lambda r, c, t: (t, r, c), lambda k: 2 * k),
    Policy("window 1 × concurrency", lambda r, c, t: (t, r, c), lambda k: k),
)
"""Non-clairvoyant: none looks at a latency before the call returns."""


def simulate(
    latencies: list[list[float]],
    concurrency: int,
    policy: Policy,
    served: Iterator[float] | None = None,
) -> float:
    """Wall time to run every record's chain of calls (``latencies[record][call]``; with
    ``served``, each call started takes the next of those instead, as from the mock)."""
    records = len(latencies)
    window = records if policy.window is None else min(records, policy.window(concurrency))
    ready: list[tuple[tuple[float, ...], int, int]] = []
    for record in range(window):
        heapq.heappush(ready, (policy.key(record, 0, 0.0), record, 0))
    admitted = window
    running: list[tuple[float, int, int]] = []  # (finish time, record, call)
    now = 0.0
    while ready or running:
        while ready and len(running) < concurrency:
            _, record, call = heapq.heappop(ready)
            latency = latencies[record][call] if served is None else next(served)
            heapq.heappush(running, (now + latency, record, call))
        now, record, call = heapq.heappop(running)
        if call + 1 < len(latencies[record]):
            heapq.heappush(ready, (policy.key(record, call + 1, now), record, call + 1))
        elif admitted < records:
            heapq.heappush(ready, (policy.key(admitted, 0, now), admitted, 0))
            admitted += 1
    return now


def clairvoyant(latencies: list[list[float]], concurrency: int) -> float:
    """Longest remaining chain first, knowing every latency: a reference, not a floor."""
    policy = Policy("clairvoyant", lambda r, c, t: (-sum(latencies[r][c:]), r))
    return simulate(latencies, concurrency, policy)


def draws(records: int, calls: int, median: float, sigma: float, seed: int) -> list[list[float]]:
    rng = random.Random(seed)
    mu = math.log(median)
    return [[rng.lognormvariate(mu, sigma) for _ in range(calls)] for _ in range(records)]


def floor(
    records: int,
    concurrency: int,
    median: float,
    *,
    sigma: float = 0.5,
    calls: int = 2,
    seeds: int = 5,
) -> dict[str, float]:
    """Mean simulated wall (over ``seeds`` draws) of each policy, the ideal, the clairvoyant
    reference and the floor (the best non-clairvoyant policy), in seconds."""
    walls: dict[str, list[float]] = {p.name: [] for p in POLICIES}
    walls["clairvoyant"] = []
    for seed in range(seeds):
        latencies = draws(records, calls, median, sigma, seed)
        for policy in POLICIES:
            walls[policy.name].append(simulate(latencies, concurrency, policy))
        walls["clairvoyant"].append(clairvoyant(latencies, concurrency))
    out = {name: statistics.fmean(values) for name, values in walls.items()}
    out["ideal"] = records * calls * median * math.exp(sigma**2 / 2) / concurrency
    out["floor"] = min(out[p.name] for p in POLICIES)
    return out


def mock_floor(
    records: int,
    concurrency: int,
    median: float,
    *,
    sigma: float = 0.5,
    calls: int = 2,
    seed: int = 0,
) -> float:
    """The floor of the latencies a fresh mock (``--seed seed``) serves one run: the best
    policy's wall when the k-th call started takes the mock's k-th draw."""
    from grasp_core.mock_server import Latency

    latency, rng = Latency.lognormal(median, sigma), random.Random(seed)
    draws = [latency.sample(rng) for _ in range(records * calls)]
    shape = [[0.0] * calls for _ in range(records)]
    return min(simulate(shape, concurrency, p, iter(draws)) for p in POLICIES)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--calls", type=int, default=2)
    parser.add_argument("--sigma", type=float, default=0.5)
    parser.add_argument("--median", type=float, nargs="+", default=[0.5, 0.05])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    for median in args.median:
        for concurrency in args.concurrency:
            out = floor(
                args.records,
                concurrency,
                median,
                sigma=args.sigma,
                calls=args.calls,
                seeds=args.seeds,
            )
            ideal = out["ideal"]
            print(
                f"\n{args.records} records × {args.calls} calls, median {median}s, sigma "
                f"{args.sigma}, concurrency {concurrency}: ideal {ideal:.2f}s, floor "
                f"{out['floor']:.2f}s ({out['floor'] / ideal:.2f} × ideal)"
            )
            for name, wall in out.items():
                if name not in ("ideal", "floor"):
                    print(f"  {name:<46} {wall:7.2f}s  {wall / ideal:5.2f} × ideal")


if __name__ == "__main__":
    main()
