"""Progress shows batch mode: requests parked and batches by state, in the JSON fields and
on the live display; runs without batched models show neither."""

from __future__ import annotations

from rich.console import Console

from grasp_core.observe.metrics import RunMetrics
from grasp_core.observe.progress import ProgressSnapshot, _render
from grasp_nodes.clients.batch.stats import BatchStats


def _snapshot(batches: dict[str, object]) -> ProgressSnapshot:
    return ProgressSnapshot(
        done=1,
        failed=0,
        filtered=0,
        earlier=0,
        in_flight=3,
        total=4,
        elapsed=1.0,
        prompt_tokens=0,
        completion_tokens=0,
        cost_usd=0.0,
        batches=batches,
    )


def test_progress_shows_parked_requests_and_batches_by_state() -> None:
    """The stats' summary reaches the JSON fields and a `batches` line of the display."""
    stats = BatchStats(RunMetrics(), parked=3)
    stats.saw("batch_1", "in_progress")
    stats.saw("batch_2", "in_progress")
    stats.saw("batch_0", "completed")
    snapshot = _snapshot(stats.summary())
    assert snapshot.as_fields()["batches"] == {
        "parked": 3,
        "held": 0,
        "batches": {"completed": 1, "in_progress": 2},
    }
    console = Console(record=True, width=120)
    console.print(_render(snapshot))
    assert "parked 3  completed 1  in_progress 2" in console.export_text()


def test_a_run_without_batched_models_shows_no_batches() -> None:
    """No batched model: no `batches` field, no line."""
    snapshot = _snapshot({})
    assert "batches" not in snapshot.as_fields()
    console = Console(record=True, width=120)
    console.print(_render(snapshot))
    assert "batches" not in console.export_text()


def test_progress_shows_records_the_budget_holds_back() -> None:
    """Once the budget stops batching, records whose requests wait for a batch are `held`;
    before it, none are."""
    metrics = RunMetrics()
    stats = BatchStats(metrics, parked=3)
    stats.queued.update({"r1": 2, "r2": 1})
    assert stats.summary()["held"] == 0
    metrics.reserved.stop("cost reached --max-cost")
    assert stats.summary()["held"] == 2
    console = Console(record=True, width=120)
    console.print(_render(_snapshot(stats.summary())))
    assert "parked 3 (held 2)" in console.export_text()
