"""The end-of-run tables: model calls per model and per node, with latency and cost."""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from grasp_core.models.pricing import format_dollars

__all__ = ["print_metrics_tables"]

_COLUMNS = ("calls", "retries", "errors", "tokens in/out", "p50/p95/p99/max s", "cost $")
_MIN_WIDTH = 120


def print_metrics_tables(metrics: Mapping[str, Any], file: IO[str]) -> None:
    """Print a table per model and per node (nodes without model calls are left out)."""
    from rich.console import Console

    console = Console(file=file, width=None if file.isatty() else _MIN_WIDTH)
    models = metrics.get("models", {})
    if models:
        console.print(_table("model", models, "calls"))
    nodes = {n: s for n, s in metrics.get("nodes", {}).items() if s.get("model_calls")}
    if nodes:
        console.print(_table("node", nodes, "model_calls"))
    totals = metrics.get("totals")
    if totals and totals.get("unpriced_models"):
        names = ", ".join(totals["unpriced_models"])
        console.print(f"no price known for {names}; add `cost:` to their models-file entries")


def _table(kind: str, rows: Mapping[str, Mapping[str, Any]], calls_key: str) -> Any:
    from rich.table import Table

    table = Table(title=f"model calls by {kind}", title_justify="left")
    table.add_column(kind)
    for column in _COLUMNS:
        table.add_column(column, justify="right", overflow="fold")
    for name, stats in rows.items():
        latency = stats["latency_s"]
        errors = ", ".join(f"{k}×{v}" for k, v in stats["errors"].items()) or "-"
        cost = stats.get("cost_usd")
        table.add_row(
            name,
            str(stats[calls_key]),
            str(stats["retries"]),
            errors,
            f"{stats['prompt_tokens']:,}/{stats['completion_tokens']:,}",
            "/".join(f"{latency[q]:.2f}" for q in ("p50", "p95", "p99", "max")),
            format_dollars(cost)[1:] if cost is not None else "?",
        )
    return table
