"""``grasp``: a thin shell over the Python API. Heavy imports happen inside commands."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Literal

from grasp_core.cli_common import run_options
from grasp_core.cli_filter import add_filter_command, run_filter_command
from grasp_core.cli_graph import add_graph_command, run_graph_command
from grasp_core.cli_tag import add_tag_command, run_tag_command

__all__ = ["main"]

EXIT_OK, EXIT_FAILED_RECORDS, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_BUDGET = 3
"""The run reached --max-cost or --max-tokens; `--resume` with a higher cap continues."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="grasp",
        description="Generate synthetic datasets from a graph of LLM calls and Python steps.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser.add_argument(
        "--log-format",
        choices=["auto", "json", "console"],
        default="auto",
        help="log rendering (default: console on a terminal, JSON lines otherwise)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run a task")
    run.add_argument("task", type=Path, help="task file (or a folder holding task.yaml)")
    run.add_argument("--num-records", type=int, help="most records (data-less: how many)")
    run.add_argument("--start-index", type=int, help="skip this many source records first")
    run.add_argument("--output-dir", type=Path, help="folder that relative sink paths use")
    run.add_argument(
        "--models",
        type=Path,
        help="models file (default: $GRASP_MODELS, then models.yaml beside the task)",
    )
    run.add_argument(
        "--mock",
        action="store_true",
        help="start the bundled mock LLM server and route every model to it",
    )
    run.add_argument("--mock-url", help="route every model to an already running mock server")
    run.add_argument("--resume", action="store_true", help="continue an interrupted run")
    run.add_argument(
        "--force",
        action="store_true",
        help="with --resume: resume even though the task file changed",
    )
    run.add_argument(
        "--overwrite",
        action="store_true",
        help="delete an earlier run's output and journal, then start over",
    )
    run.add_argument("--window", type=int, help="most records in flight at once")
    run.add_argument(
        "--allowed-failures",
        type=float,
        help="failure budget: a count, or a fraction below 1 (exit 0 within it)",
    )
    run.add_argument(
        "--seed",
        type=int,
        help="seed for random choices (default 0; a resume reuses the journal's)",
    )
    run.add_argument(
        "--oasst",
        nargs="?",
        const="auto",
        default=False,
        choices=["sft", "dpo", "auto"],
        help="write OpenAssistant message rows (type from output_config.oasst_mapper, else sft)",
    )
    run.add_argument(
        "--format",
        metavar="NAME",
        help="write rows of a registered format: sft (TRL messages), dpo (TRL preference)...",
    )
    run.add_argument("--quiet", action="store_true", help="print no summary and no progress")
    run.add_argument(
        "--quality",
        nargs="?",
        const="heuristics",
        metavar="TASKS",
        help="tag every output record under `quality`: heuristics (default) and/or judge",
    )
    run.add_argument(
        "--max-cost",
        type=float,
        metavar="USD",
        help=f"stop admitting records at this spend (exit {EXIT_BUDGET}; --resume continues)",
    )
    run.add_argument(
        "--max-tokens",
        type=int,
        metavar="N",
        help=f"stop admitting records at this many tokens (exit {EXIT_BUDGET})",
    )
    run.add_argument(
        "--executor",
        choices=["local", "ray"],
        default="local",
        help='where to run: this process (default) or a Ray cluster (pip install "grasp-sdg[ray]")',
    )
    run.add_argument(
        "--num-shards",
        type=int,
        metavar="N",
        help="with --executor ray: split the input into N shards (default: the cluster's CPUs)",
    )
    run.add_argument(
        "--ray-address",
        metavar="ADDR",
        help="with --executor ray: the cluster to join (default: $RAY_ADDRESS, else a local one)",
    )
    run.add_argument(
        "--progress-every",
        type=float,
        metavar="SECONDS",
        help="seconds between progress reports (default 0.25 on a terminal, 10 in logs)",
    )

    validate = commands.add_parser("validate", help="check a task file and compile its graph")
    validate.add_argument("task", type=Path)
    validate.add_argument("--models", type=Path, help="models file to check model names against")

    add_graph_command(commands)
    add_tag_command(commands)
    add_filter_command(commands)

    mock = commands.add_parser("mock-server", help="serve the bundled OpenAI-compatible mock")
    mock.add_argument("--port", type=int, default=8000)
    mock.add_argument("--host", default="127.0.0.1", help="loopback addresses only")
    mock.add_argument(
        "--latency", default="0", help="seconds, 'fixed:S' or 'lognormal:MEDIAN:SIGMA' (default 0)"
    )
    mock.add_argument("--reply-mode", choices=["echo", "lorem"], default="echo")
    mock.add_argument("--fault-rate", type=float, default=0.0)
    mock.add_argument("--faults", default="429,500", help="comma-separated fault kinds")
    mock.add_argument("--seed", type=int, default=0)
    mock.add_argument(
        "--max-seconds", type=float, default=3600.0, help="stop by itself after this long"
    )
    mock.add_argument("--request-log", type=Path, help="append every request as a JSON line")
    return parser


_OPTIONAL_VALUES = {"--oasst": ("auto", {"sft", "dpo", "auto"}), "--quality": ("heuristics", None)}
"""Flags whose value is optional: flag → (value when bare, accepted values or None)."""


def _bare_optional_values(argv: list[str]) -> list[str]:
    """``--oasst task.yaml`` means the bare flag then the task, not ``--oasst=task.yaml``:
    a bare optional-value flag followed by something that is not one of its values gets its
    default written in (``--oasst=auto``) so argparse leaves the next word alone."""
    fixed: list[str] = []
    for index, word in enumerate(argv):
        spec = _OPTIONAL_VALUES.get(word)
        following = argv[index + 1] if index + 1 < len(argv) else None
        if spec is not None and following is not None and not _is_value(following, spec[1]):
            word = f"{word}={spec[0]}"
        fixed.append(word)
    return fixed


def _is_value(word: str, accepted: set[str] | None) -> bool:
    if word.startswith("-"):
        return False
    if accepted is not None:
        return word in accepted
    return all(part.strip() in {"heuristics", "judge"} for part in word.split(","))


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``grasp`` console script; returns the exit code."""
    args = _parser().parse_args(_bare_optional_values(sys.argv[1:] if argv is None else argv))
    from grasp_core.errors import GraspError
    from grasp_core.logs import configure_logging

    configure_logging(fmt=args.log_format, level="debug" if args.debug else "warning")
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "graph":
            return run_graph_command(args)
        if args.command == "tag":
            return run_tag_command(args)
        if args.command == "filter":
            return run_filter_command(args)
        if args.command == "validate":
            return _validate(args)
        return _mock_server(args)
    except GraspError as exc:
        if args.debug:
            raise
        print(f"grasp: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("grasp: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _run(args: argparse.Namespace) -> int:
    from grasp_core.runner import run_task

    options = run_options(
        args,
        output_dir=args.output_dir,
        force=args.force,
        seed=args.seed,
        oasst=True if args.oasst == "auto" else args.oasst,
        format=args.format,
        quality=args.quality,
        progress=False if args.quiet else _PROGRESS_BY_LOG_FORMAT[args.log_format],
        progress_every=args.progress_every,
        max_cost=args.max_cost,
        max_tokens=args.max_tokens,
        executor=args.executor,
        num_shards=args.num_shards,
        ray_address=args.ray_address,
    )
    result = run_task(args.task, options)
    if not args.quiet:
        _print_summary(result)
    if result.stopped_by_budget:
        print(
            f"grasp: budget reached ({result.metrics['budget']['reason']}); "
            f"{result.done} records committed. Continue with a higher cap:\n"
            f"  grasp run {args.task} --resume --max-cost USD (or --max-tokens N)",
            file=sys.stderr,
        )
        return EXIT_BUDGET
    if result.interrupted:
        print(
            f"grasp: stopped early; {result.done} records committed. Continue with:\n"
            f"  grasp run {args.task} --resume",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    return EXIT_OK if result.ok else EXIT_FAILED_RECORDS


_PROGRESS_BY_LOG_FORMAT: dict[str, Literal["auto", "rich", "json"]] = {
    "auto": "auto",
    "console": "rich",
    "json": "json",
}


def _print_summary(result: Any) -> None:
    from grasp_core.pricing import format_dollars
    from grasp_core.report import print_metrics_tables

    rows = [
        ("written", result.done),
        ("failed", result.failed),
        ("filtered", result.filtered),
        ("finished earlier", result.previously_done),
        ("failed earlier", result.previously_failed),
        ("seconds", f"{result.seconds:.2f}"),
    ]
    print(f"grasp run {result.task}")
    for label, value in rows:
        print(f"  {label:<17}{value}")
    totals = result.metrics.get("totals", {})
    if totals.get("model_calls"):
        print(
            f"  {'tokens':<17}{totals['prompt_tokens']:,} in, "
            f"{totals['completion_tokens']:,} out, cost {format_dollars(totals['cost_usd'])}"
        )
    for name, backend in result.metrics.get("backends", {}).items():
        print(
            f"  backend {name}: limit {backend['current_limit']}/{backend['max_concurrency']}, "
            f"{backend['rate_limited_429']} × 429, circuit opened {backend['circuit_opened']}×"
        )
    for path in result.output_paths:
        print(f"  output           {path}")
    if result.failed:
        print(f"  failures         {result.failures_path}")
        for reason, count in sorted(result.failure_reasons.items(), key=lambda kv: -kv[1])[:5]:
            print(f"    {count} × {reason}")
    print(f"  summary          {result.summary_path}")
    if result.metrics_path is not None:
        print(f"  metrics          {result.metrics_path}")
    sys.stdout.flush()
    print_metrics_tables(result.metrics, sys.stdout)


def _validate(args: argparse.Namespace) -> int:
    import anyio

    from grasp_core.models_file import catalog_for_checking
    from grasp_core.runner import check_task
    from grasp_core.task import Task

    task = Task.load(args.task)
    catalog = catalog_for_checking(args.models, task.task_dir)

    async def check() -> int:
        graph = await check_task(task, catalog)
        print(f"{args.task}: ok ({len(graph.nodes)} nodes, {len(graph.edges)} edges)")
        return EXIT_OK

    return anyio.run(check)


def _mock_server(args: argparse.Namespace) -> int:
    from grasp_core.mock_server import Latency, serve_cli

    serve_cli(
        host=args.host,
        port=args.port,
        latency=Latency.parse(args.latency),
        reply_mode=args.reply_mode,
        fault_rate=args.fault_rate,
        faults=tuple(f for f in args.faults.split(",") if f),
        seed=args.seed,
        max_seconds=args.max_seconds,
        request_log_path=args.request_log,
    )
    return EXIT_OK
