"""The end-of-run tables: model calls per model and per node, with latency and cost."""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from grasp_core.models.pricing import format_dollars

__all__ = ["print_metrics_tables"]

_COLUMNS = (
    "calls",
    "retries",
    "errors",
    "cut/empty",
    "tokens in/out",
    "wire p50/p95/p99/max s",
    "queue p50/max/total s",
    "cost $",
)
_MIN_WIDTH = 120


def print_metrics_tables(metrics: Mapping[str, Any], file: IO[str]) -> None:
    """Print a table per model and per node (nodes without model calls are left out), then
    a line naming the nodes whose replies were cut off at ``max_tokens`` or empty."""
    from rich.console import Console

    console = Console(file=file, width=None if file.isatty() else _MIN_WIDTH)
    models = metrics.get("models", {})
    if models:
        console.print(_table("model", models, "calls"))
    nodes = {n: s for n, s in metrics.get("nodes", {}).items() if s.get("model_calls")}
    if nodes:
        console.print(_table("node", nodes, "model_calls"))
    for line in _defect_lines(nodes):
        console.print(line, highlight=False)
    totals = metrics.get("totals")
    if totals and (cached := _cache_line(totals.get("cache"), metrics.get("nodes", {}))):
        console.print(cached, highlight=False)
    if totals and totals.get("unpriced_models"):
        names = ", ".join(totals["unpriced_models"])
        console.print(f"no price known for {names}; add `cost:` to their models-file entries")


def _cache_line(
    cache: Mapping[str, Any] | None, nodes: Mapping[str, Mapping[str, Any]]
) -> str | None:
    """``response cache: 8 hits (first ×4, second ×4), 0 misses, saved $0.0012``; None
    when the cache was off or never asked."""
    if not cache or not (cache["hits"] or cache["misses"]):
        return None
    by_node = {n: s["cache"]["hits"] for n, s in nodes.items() if s.get("cache", {}).get("hits")}
    where = f" ({', '.join(f'{n} ×{c}' for n, c in by_node.items())})" if by_node else ""
    saved = format_dollars(cache["saved_cost_usd"])
    return f"response cache: {cache['hits']} hits{where}, {cache['misses']} misses, saved {saved}"


def _defect_lines(nodes: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """``3 replies cut off at max_tokens: answer ×3 (see on_truncated)``, and the same for
    empty replies."""
    lines = []
    for key, before, after, setting in (
        ("truncated_replies", "", " cut off at max_tokens", "on_truncated"),
        ("empty_replies", "empty ", "", "on_empty"),
    ):
        counts = {name: stats[key] for name, stats in nodes.items() if stats[key]}
        if counts:
            total = sum(counts.values())
            replies = "reply" if total == 1 else "replies"
            where = ", ".join(f"{name} ×{count}" for name, count in counts.items())
            lines.append(f"{total} {before}{replies}{after}: {where} (see {setting})")
    return lines


def _table(kind: str, rows: Mapping[str, Mapping[str, Any]], calls_key: str) -> Any:
    from rich.table import Table

    table = Table(title=f"model calls by {kind}", title_justify="left")
    table.add_column(kind)
    for column in _COLUMNS:
        table.add_column(column, justify="right", overflow="fold")
    for name, stats in rows.items():
        latency = stats["latency_s"]
        queue = stats["queue_s"]
        errors = ", ".join(f"{k}×{v}" for k, v in stats["errors"].items()) or "-"
        cost = stats.get("cost_usd")
        table.add_row(
            name,
            str(stats[calls_key]),
            str(stats["retries"]),
            errors,
            f"{stats['truncated_replies']}/{stats['empty_replies']}",
            f"{stats['prompt_tokens']:,}/{stats['completion_tokens']:,}",
            "/".join(f"{latency[q]:.2f}" for q in ("p50", "p95", "p99", "max")),
            "/".join(f"{queue[q]:.2f}" for q in ("p50", "max", "total")),
            format_dollars(cost)[1:] if cost is not None else "?",
        )
    return table
