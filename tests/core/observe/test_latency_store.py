"""`Seconds`, the store behind the latency and queue percentiles: exact up to
`EXACT_LIMIT` values, then a sketch of bounded size within 1% of the true percentiles, so a
run of millions of calls neither grows nor sorts a list per call."""

from __future__ import annotations

import pickle
import random

from grasp_core.observe.latency import EXACT_LIMIT, Seconds, latency_summary, percentile


def _true(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {f"p{q}": percentile(ordered, q) for q in (50, 95, 99)}


def test_a_small_store_is_exact_and_sums_exactly() -> None:
    values = [0.1 * i for i in range(1, 1001)]
    store = Seconds(values)
    assert store.exact()
    assert len(store) == 1000
    assert store.summary() == latency_summary(values)
    assert store.summary()["p50"] == round(percentile(sorted(values), 50), 4)
    assert abs(store.total() - 50050.0) < 1e-6


def test_past_the_limit_the_store_is_bounded_and_within_one_percent() -> None:
    rng = random.Random(7)
    values = [rng.lognormvariate(-3, 0.5) for _ in range(3 * EXACT_LIMIT)]
    store = Seconds(values)
    assert not store.exact()
    assert len(store) == len(values)
    assert len(pickle.dumps(store)) < 100_000  # not 8 bytes a value: a few kilobytes
    summary, true = store.summary(), _true(values)
    for key, exact in true.items():
        assert abs(summary[key] - exact) <= 0.01 * exact + 1e-4, (key, summary[key], exact)
    assert summary["max"] == round(max(values), 4)
    assert abs(store.total() - sum(values)) < 1e-6 * sum(values)


def test_merged_stores_summarise_as_one_store_fed_every_value() -> None:
    """Shards' stores merge to what one process would have counted, on either side of the
    limit (a small into a big, a big into a small, two big)."""
    rng = random.Random(3)
    big = [rng.uniform(0.01, 2.0) for _ in range(EXACT_LIMIT + 10)]
    small = [rng.uniform(0.01, 2.0) for _ in range(500)]
    for parts in ([small, big], [big, small], [big, big], [small, small]):
        merged = Seconds()
        for part in parts:
            merged.merge(pickle.loads(pickle.dumps(Seconds(part))))  # as from a Ray shard
        whole = Seconds(v for part in parts for v in part)
        assert merged.summary() == whole.summary()
        assert len(merged) == len(whole)
        assert merged.exact() == whole.exact()
        assert abs(merged.total() - whole.total()) < 1e-6 * whole.total()


def test_an_empty_store_summarises_as_zeros() -> None:
    assert Seconds().summary() == {"p50": 0.0, "p95": 0.0, "p99": 0.0, "max": 0.0}
    assert Seconds().total() == 0.0
