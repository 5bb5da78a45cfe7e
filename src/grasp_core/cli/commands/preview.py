"""``grasp preview``: run a task on a few records, show what each node did, and estimate
the full run (``--json`` prints :meth:`Preview.to_dict` for tools)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grasp_core.cli.options import EXIT_OK, Commands, add_cache_arguments, cache_options

if TYPE_CHECKING:
    from rich.console import Console

    from grasp_core.runs.estimate import Estimate, Range
    from grasp_core.runs.preview import Preview
    from grasp_core.runs.preview_data import CallView, NodeRun, RecordPreview

__all__ = ["add_command", "run_command"]


def add_command(commands: Commands) -> None:
    """Register ``grasp preview``."""
    cmd = commands.add_parser(
        "preview",
        help="run a task on a few records, show each node's prompt and reply, estimate the run",
    )
    cmd.add_argument(
        "task", type=Path, help="task file, or a folder holding task.yaml (or graph_config.yaml)"
    )
    cmd.add_argument("-n", type=int, default=5, metavar="N", help="records to run (default 5)")
    cmd.add_argument(
        "--records", metavar="ID,…", help="run these records (by id) instead of the first N"
    )
    cmd.add_argument("--node", metavar="NAME", help="show only this node's runs")
    cmd.add_argument("--json", action="store_true", help="print the preview as JSON")
    cmd.add_argument(
        "--models",
        type=Path,
        help="models file (default: $GRASP_MODELS, then models.yaml beside the task)",
    )
    cmd.add_argument(
        "--mock",
        action="store_true",
        help="start the bundled mock LLM server and route every model to it",
    )
    cmd.add_argument("--mock-url", help="route every model to an already running mock server")
    cmd.add_argument(
        "--num-records", type=int, help="the full run's records, for the estimate (data-less)"
    )
    cmd.add_argument("--start-index", type=int, help="skip this many source records first")
    cmd.add_argument("--seed", type=int, help="seed for random choices (default 0, as a run)")
    cmd.add_argument(
        "--batch",
        action="store_true",
        help="send batched models' requests through their batch API, as a run does (default: "
        "call them live; a batch can take hours)",
    )
    add_cache_arguments(cmd, refresh=False)


def run_command(args: argparse.Namespace) -> int:
    """Preview the task; nothing is written where its output goes."""
    from grasp_core.runs import RunOptions
    from grasp_core.runs.preview import preview_task

    options = RunOptions(
        num_records=args.num_records,
        start_index=args.start_index,
        models=args.models,
        mock=args.mock_url or args.mock,
        seed=args.seed,
        **cache_options(args),
        hints="cli",
    )
    wanted = [r.strip() for r in (args.records or "").split(",") if r.strip()]
    shown = preview_task(
        args.task, options, sample=args.n, records=wanted, node=args.node, batch=args.batch
    )
    if args.json:
        json.dump(shown.to_dict(), sys.stdout, indent=2, ensure_ascii=False)
        print()
    else:
        print_preview(shown)
    return EXIT_OK


def print_preview(shown: Preview) -> None:
    """The preview, readable on a terminal."""
    from rich.console import Console

    console = Console(highlight=False, soft_wrap=True)
    where = " (mock server)" if shown.mock else ""
    console.print(f"[bold]grasp preview[/bold] {_escape(shown.task)}{where}")
    for record in shown.records:
        _print_record(console, record)
    _print_estimate(console, shown.estimate)
    cached = [
        f"{record.record_id}/{run.node}#{run.iteration}"
        for record in shown.records
        for run in record.nodes
        for call in run.calls
        if call.cached
    ]
    if cached:
        console.print(f"answered from the response cache: {_escape(', '.join(cached))}")


def _print_record(console: Console, record: RecordPreview) -> None:
    console.rule(f"record {_escape(record.record_id)}", align="left")
    console.print(f"[dim]input[/dim]  {_escape(_json(record.input))}")
    for run in record.nodes:
        _print_node(console, run)
    if record.failure is not None:
        failure = record.failure
        console.print(
            f"[red]failed[/red] at {_escape(str(failure['node'] or '-'))}: "
            f"{_escape(str(failure['reason']))}"
        )
    elif record.output is None:
        console.print("[dim]output[/dim] none: the output map filtered the record out")
    else:
        console.print(f"[dim]output[/dim] {_escape(_json(record.output))}")


def _print_node(console: Console, run: NodeRun) -> None:
    loop = f" (pass {run.iteration + 1})" if run.iteration else ""
    console.print(f"[bold cyan]▸ {_escape(run.node)}[/bold cyan]{loop}")
    for call in run.calls:
        console.print(f"  [dim]call[/dim] {_escape(_call_line(call))}")
        for message in call.messages:
            console.print(f"    [dim]{_escape(str(message.get('role')))}:[/dim]", end=" ")
            console.print(_escape(_content(message.get("content"))))
        console.print("    [dim]reply:[/dim]", end=" ")
        console.print(_escape(call.response or _json(call.tool_calls)))
    for key, value in run.update.items():
        shown = f"+{len(value)} turns" if key == "messages" and isinstance(value, list) else None
        console.print(f"  [dim]{_escape(key)} =[/dim] {_escape(shown or _json(value))}")


def _call_line(call: CallView) -> str:
    from grasp_core.models.pricing import format_dollars

    cost = "unpriced" if call.cost_usd is None else format_dollars(call.cost_usd)
    parts = [
        call.model,
        f"{call.prompt_tokens:,} in / {call.completion_tokens:,} out tokens",
        f"{call.seconds:.2f}s",
        cost,
    ]
    if call.attempts > 1:
        parts.append(f"{call.attempts} attempts")
    if call.cached:
        parts.append("from the cache")
    return " · ".join(parts)


def _content(content: Any) -> str:
    if not isinstance(content, list):
        return str(content)
    return " ".join(
        str(part.get("text")) if part.get("type") == "text" else f"[{part.get('media')}]"
        for part in content
        if isinstance(part, dict)
    )


def _print_estimate(console: Console, estimate: Estimate) -> None:
    from rich.table import Table

    from grasp_core.models.pricing import format_dollars

    records = "an unknown number of" if estimate.records is None else f"{estimate.records:,}"
    console.rule(f"estimate for the full run: {records} records", align="left")
    table = Table(box=None, pad_edge=False)
    for column in ("", "per record", "full run", "range"):
        table.add_column(column, justify="left" if not column else "right")
    labels = {
        "calls": ("model calls", "{:,.1f}"),
        "prompt_tokens": ("prompt tokens", "{:,.0f}"),
        "completion_tokens": ("completion tokens", "{:,.0f}"),
        "seconds": ("model seconds", "{:,.2f}"),
    }
    for key, (label, form) in labels.items():
        if key in estimate.per_record:
            table.add_row(label, *_cells(estimate, key, form.format))
    if "cost_usd" in estimate.per_record:
        table.add_row("cost", *_cells(estimate, "cost_usd", format_dollars))
    console.print(table)
    if estimate.unpriced_models:
        console.print(f"cost: unknown, no price for {', '.join(estimate.unpriced_models)}")
    elif estimate.mock:
        routes = ", ".join(sorted(set(estimate.priced_as.values()))) or "no"
        console.print(f"cost: an estimate at {routes} prices (mock run: nothing was billed)")
    if estimate.wall_seconds is not None:
        wall = estimate.wall_seconds
        console.print(
            f"wall time: about {_duration(wall.value)} ({_duration(wall.low)} to "
            f"{_duration(wall.high)}), bound by {estimate.bound_by}"
        )
    sampled = f"{estimate.sample} sampled record{'' if estimate.sample == 1 else 's'}"
    console.print(f"[dim]from {sampled}: {estimate.method}[/dim]")


def _cells(estimate: Estimate, key: str, form: Any) -> list[str]:
    per, total = estimate.per_record[key], estimate.total.get(key)
    if total is None:
        return [form(per.value), "-", "-"]
    return [form(per.value), form(total.value), _span(total, form)]


def _span(value: Range, form: Any) -> str:
    return f"{form(value.low)} – {form(value.high)}"


def _duration(seconds: float) -> str:
    if seconds < 10:
        return f"{seconds:.2f} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=repr)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
