"""The full run's estimate from sampled records: per-record means times the record count,
a range of ± 2 standard errors, and a wall time bound by the tightest limit; media in a
shown prompt become a placeholder with type and size."""

from __future__ import annotations

import base64
import math

import pytest

from grasp_core.models.backends import Backend
from grasp_core.runs.estimate import Range, estimate_run
from grasp_core.runs.preview_data import CallView, NodeRun, RecordPreview, media_placeholder


def call(
    model: str = "m", *, tokens: int = 10, seconds: float = 1.0, cached: bool = False
) -> CallView:
    return CallView(
        model=model,
        messages=[],
        response="",
        tool_calls=[],
        finish_reason="stop",
        prompt_tokens=tokens,
        completion_tokens=tokens,
        seconds=seconds,
        cost_usd=tokens * 2 * 1e-6,
        cached=cached,
        attempts=1,
    )


def record(*calls: CallView) -> RecordPreview:
    return RecordPreview("r", {}, nodes=[NodeRun("n", 0, {}, list(calls))])


def test_totals_are_the_sample_mean_times_the_count_with_two_standard_errors() -> None:
    """Records of 1, 2 and 3 calls: 2 a record, ± 2·(1/√3), times 1,000 records."""
    sample = [record(*[call()] * n) for n in (1, 2, 3)]
    backends = {"m": Backend("b", max_concurrency=10)}
    estimate = estimate_run(
        sample, count=1000, backends=backends, window=64, mock=False, priced_as={}
    )
    margin = 2 * 1 / math.sqrt(3)
    calls = estimate.total["calls"]
    assert (calls.value, calls.low, calls.high) == pytest.approx(
        (2000, 2000 - 1000 * margin, 2000 + 1000 * margin)
    )
    assert estimate.total["prompt_tokens"].value == pytest.approx(20_000)
    assert estimate.total["cost_usd"].value == pytest.approx(1000 * 2 * 20 * 1e-6)


def test_one_record_has_no_spread_and_an_unknown_count_has_no_totals() -> None:
    """A single sampled record gives its value as the range; without a record count only
    per-record figures are given, and no wall time."""
    estimate = estimate_run(
        [record(call(), call())],
        count=None,
        backends={"m": Backend("b", max_concurrency=1)},
        window=8,
        mock=False,
        priced_as={},
    )
    assert estimate.per_record["calls"] == Range(2, 2, 2)
    assert estimate.total == {}
    assert estimate.wall_seconds is None


def test_the_wall_time_is_bound_by_the_tightest_limit() -> None:
    """100 records of two 1-second calls: 200 call-seconds over a backend of 4 slots is 50 s,
    unless its rpm (60 a minute: 200 s) or the record window (2 records: 100 s) is tighter."""
    sample = [record(call(), call()) for _ in range(3)]

    def wall(backend: Backend, window: int) -> tuple[float, str | None]:
        est = estimate_run(
            sample, count=100, backends={"m": backend}, window=window, mock=False, priced_as={}
        )
        assert est.wall_seconds is not None
        return est.wall_seconds.value, est.bound_by

    assert wall(Backend("b", max_concurrency=4), window=64) == (50.0, "backend b")
    assert wall(Backend("b", max_concurrency=4, rpm=60), window=64) == (200.0, "backend b rpm")
    assert wall(Backend("b", max_concurrency=4), window=2) == (100.0, "the record window")


def test_cached_calls_are_timed_at_the_fresh_calls_latency() -> None:
    """A cached call is estimated as if it reached the backend: at its model's mean latency
    over the calls that did, with its tokens counted."""
    sample = [record(call(seconds=2.0), call(seconds=0.0, cached=True))]
    estimate = estimate_run(
        sample,
        count=10,
        backends={"m": Backend("b", max_concurrency=100)},
        window=64,
        mock=True,
        priced_as={"m": "openai/gpt-4o-mini"},
    )
    assert estimate.per_record["seconds"].value == pytest.approx(4.0)
    assert estimate.total["prompt_tokens"].value == pytest.approx(200)
    assert estimate.to_dict()["priced_as"] == {"m": "openai/gpt-4o-mini"}


def test_media_parts_become_a_placeholder_with_type_and_size() -> None:
    """Data URLs and base64 audio show their MIME type and decoded size; a remote URL
    shows itself."""
    png = base64.b64encode(b"\x89PNG" + bytes(2044)).decode()
    image = {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{png}"}}
    audio = {"type": "input_audio", "input_audio": {"data": png, "format": "wav"}}
    remote = {"type": "image_url", "image_url": {"url": "https://example.org/cat.jpg"}}
    assert media_placeholder(image) == "image/png, 2,048 bytes"
    assert media_placeholder(audio) == "audio/wav, 2,048 bytes"
    assert media_placeholder(remote) == "image_url, https://example.org/cat.jpg"
