"""The end of a Ray run: the shards' parts merged into the task's sinks and their metrics
into the run's; or, for a run stopped early, what the shards had posted. Either way the
run's ``summary.json`` and ``metrics.json`` are written as a local run writes them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from grasp_core.executors.ray.layout import ShardLayout
from grasp_core.executors.ray.merge import concatenate, gather_media, merge_into
from grasp_core.observe.metrics import RunMetrics
from grasp_core.runs import RunResult, TaskParts, write_summary
from grasp_core.runs.curation import post_process_run_sync
from grasp_core.runs.monitor import RunMonitor, merge_batch_summaries
from grasp_core.runs.provenance import RunProvenance

__all__ = ["DriverRun", "ShardOutcome", "finish_run", "interrupted_run"]


@dataclass
class DriverRun:
    """The driver's side of a Ray run: the task's parts (its layout and sinks, which the
    shards' outputs merge into), the run's merged metrics, and its monitor (prices, the
    budget cap, ``metrics.json``)."""

    parts: TaskParts
    metrics: RunMetrics
    monitor: RunMonitor
    provenance: RunProvenance = field(init=False)
    """Started with the run (its start time), written beside the merged output."""

    def __post_init__(self) -> None:
        self.provenance = RunProvenance(self.parts, seed=self.parts.options.seed or 0)


@dataclass
class ShardOutcome:
    """One shard as the driver sees it."""

    index: int
    attempts: int = 0
    result: RunResult | None = None
    metrics: RunMetrics | None = None
    """The shard's raw metrics (latencies included), merged into the run's."""
    error: str | None = None


def finish_run(
    local: DriverRun,
    layout: ShardLayout,
    outcomes: dict[int, ShardOutcome],
    limits: dict[str, Any],
    budget: dict[str, Any],
    seconds: float,
) -> RunResult:
    """Merge every shard's output, failures and metrics; write the run's summary."""
    indexes = sorted(outcomes)
    finished = [(i, r) for i in indexes if (r := outcomes[i].result) is not None]
    shards = [r for _, r in finished]
    media_dir = local.parts.layout.media_dir
    shard_media = [layout.output(i).with_suffix(".media") for i in indexes]
    gather_media(shard_media, media_dir)  # before the sinks, which may embed the files
    relocate = (shard_media[0].name, media_dir.name) if shard_media else None
    for index in indexes:
        if (metrics := outcomes[index].metrics) is not None:
            local.metrics.merge(metrics)
    sinks = local.parts.sinks()
    local.provenance.describe(sinks.values(), local.metrics.summary())  # the hf sink's card
    sink_paths = merge_into(sinks, [layout.output(i) for i in indexes], media=relocate)
    concatenate([layout.failures(i) for i in indexes], local.parts.layout.failures_path)
    reasons: dict[str, int] = {}
    for shard in shards:
        for reason, n in shard.failure_reasons.items():
            reasons[reason] = reasons.get(reason, 0) + n
    interrupted = any(s.interrupted for s in shards)
    stopped_by_budget = bool(budget["stopped_by_budget"]) and interrupted  # as a local run
    batches = merge_batch_summaries(s.metrics.get("batches") for s in shards)
    result = RunResult.build(
        local.parts.layout,
        done=sum(s.done for s in shards),
        failed=sum(s.failed for s in shards),
        filtered=sum(s.filtered for s in shards),
        previously_done=sum(s.previously_done for s in shards),
        interrupted=interrupted,
        seconds=seconds,
        sink_paths=sink_paths,
        journal_path=layout.root,
        metrics={
            **local.metrics.summary(),
            "executor": "ray",
            "backends": limits,
            "shards": {
                str(i): {"done": s.done, "failed": s.failed, "seconds": round(s.seconds, 3)}
                for i, s in finished
            },
            **({"batches": batches} if batches is not None else {}),
            "budget": budget,
            "pricing": local.monitor.pricing_summary(),
        },
        failure_reasons=reasons,
        allowed_failures=shards[0].allowed_failures if shards else None,
        previously_failed=sum(s.previously_failed for s in shards),
        stopped_by_budget=stopped_by_budget,
    )
    write_summary(result, local.monitor)
    post_process_run_sync(local.parts, result, local.monitor)  # over the merged output
    if not result.interrupted:
        local.provenance.write(result)
    return result


def interrupted_run(
    local: DriverRun,
    layout: ShardLayout,
    posted: dict[int, dict[str, int]],
    limits: dict[str, Any],
    budget: dict[str, Any],
    seconds: float,
) -> RunResult:
    """The result of a run whose shards were cancelled (Ctrl-C, SIGTERM): the counts each
    shard ``posted`` last (up to a second old; the journals hold the exact ones), nothing
    merged. Its ``metrics.json`` keeps the spending, so a ``--resume`` counts it."""
    result = RunResult.build(
        local.parts.layout,
        done=_total(posted, "done"),
        failed=_total(posted, "failed"),
        filtered=_total(posted, "filtered"),
        previously_done=_total(posted, "earlier"),
        interrupted=True,
        seconds=seconds,
        sink_paths={},
        failures_path=layout.root,
        journal_path=layout.root,
        metrics={
            "executor": "ray",
            "backends": limits,
            "shards": {
                str(i): {"done": c.get("done", 0), "failed": c.get("failed", 0)}
                for i, c in sorted(posted.items())
            },
            "budget": budget,
        },
        stopped_by_budget=bool(budget["stopped_by_budget"]),
    )
    write_summary(result, local.monitor)
    return result


def _total(posted: dict[int, dict[str, int]], key: str) -> int:
    return sum(counts.get(key, 0) for counts in posted.values())
