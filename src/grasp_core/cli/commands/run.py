"""``grasp run``: run a task and print what it did."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Literal

from grasp_core.cli.options import (
    EXIT_BUDGET,
    EXIT_FAILED_RECORDS,
    EXIT_INTERRUPTED,
    EXIT_OK,
    Commands,
    add_cache_arguments,
    cache_options,
    run_options,
)
from grasp_core.cli.rerun import command_line

__all__ = ["add_command", "interrupted_message", "run_command"]


def add_command(commands: Commands) -> None:
    """Register ``grasp run``."""
    run = commands.add_parser("run", help="run a task")
    run.add_argument(
        "task", type=Path, help="task file, or a folder holding task.yaml (or graph_config.yaml)"
    )
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
        "--retry-failures",
        action="store_true",
        help="run only the records the last run failed, again, under NAME.retry/ beside its "
        "output (the run's own files stay as they are; an earlier retry is replaced)",
    )
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
        "--ordered",
        action="store_true",
        help="write records in source order (finished ones wait, within --window, for "
        "earlier ones)",
    )
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
        "--no-post-process",
        action="store_true",
        help="skip the task's post_process steps (run them later with grasp curate)",
    )
    add_cache_arguments(run, refresh=True)
    run.add_argument(
        "--reuse-from",
        type=Path,
        metavar="RUN",
        help="an earlier run's journal (or its output folder) to take --reuse-nodes from",
    )
    run.add_argument(
        "--reuse-nodes",
        metavar="A,B",
        default="",
        help="keep these nodes' outputs from --reuse-from instead of running them again",
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


def run_command(args: argparse.Namespace) -> int:
    """Run the task; the exit code says how it ended."""
    from grasp_core.api import run_task

    options = run_options(
        args,
        output_dir=args.output_dir,
        force=args.force,
        seed=args.seed,
        oasst=True if args.oasst == "auto" else args.oasst,
        format=args.format,
        quality=args.quality,
        post_process=not args.no_post_process,
        **cache_options(args),
        reuse_from=args.reuse_from,
        reuse_nodes=args.reuse_nodes,
        ordered=args.ordered,
        progress=False if args.quiet else _PROGRESS_BY_LOG_FORMAT[args.log_format],
        progress_every=args.progress_every,
        max_cost=args.max_cost,
        max_tokens=args.max_tokens,
        executor=args.executor,
        num_shards=args.num_shards,
        ray_address=args.ray_address,
    )
    retry = args.retry_failures
    result = _retry_failures(args, options) if retry else run_task(args.task, options)
    if not args.quiet:
        _print_summary(result)
    if result.stopped_by_budget:
        print(
            f"grasp: budget reached ({result.metrics['budget']['reason']}); "
            f"{_committed(result)}. Continue with a higher cap:\n  {_higher_cap(args)}",
            file=sys.stderr,
        )
        return EXIT_BUDGET
    if result.interrupted:
        print(
            f"grasp: stopped early; {_committed(result)}. {_resume_hint(args)}",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    return EXIT_OK if result.ok else EXIT_FAILED_RECORDS


_NOT_WITH_RETRY = ("resume", "num_records", "start_index")
"""Flags ``--retry-failures`` refuses: it runs the failed records, all of them, from the
start (an earlier retry is replaced, never continued)."""


def _retry_failures(args: argparse.Namespace, options: Any) -> Any:
    """``grasp_core.retry_failures`` with the run's options, on this machine."""
    import anyio

    from grasp_core.errors import ConfigError
    from grasp_core.runs.retry import retry_failures

    given = [name for name in _NOT_WITH_RETRY if getattr(args, name) not in (None, False)]
    if args.executor != "local":
        given.append("executor")
    if given:
        flags = ", ".join("--" + name.replace("_", "-") for name in given)
        raise ConfigError(
            f"--retry-failures runs every failed record again, on this machine, from the "
            f"start; drop {flags}"
        )
    return anyio.run(retry_failures, args.task, options)


def interrupted_message(args: argparse.Namespace) -> str:
    """What ``grasp`` prints when Ctrl-C or SIGTERM lands outside the run itself (while it
    starts, or once it is over): what was committed is kept either way, and ``--resume``
    also starts a run that had not begun."""
    return f"grasp: interrupted. {_resume_hint(args)}"


def _resume_hint(args: argparse.Namespace) -> str:
    """The command that continues the run: the flags it was given (the same models or mock,
    output folder, row format, executor...) with ``--resume``, not ``--overwrite``."""
    if args.retry_failures:  # a retry starts over: the same command runs it again
        return f"Retry again with:\n  {command_line(args, add_command, without=_NOT_AGAIN)}"
    again = command_line(args, add_command, first=["--resume"], without=_NOT_AGAIN)
    return f"Continue with:\n  {again}"


def _higher_cap(args: argparse.Namespace) -> str:
    """The command that continues a run stopped by its budget, with a cap left to raise."""
    without = {*_NOT_AGAIN, "--max-cost", "--max-tokens"}
    first = [] if args.retry_failures else ["--resume"]  # a retry starts over
    again = command_line(args, add_command, first=first, without=without)
    return f"{again} --max-cost USD (or --max-tokens N)"


_NOT_AGAIN = frozenset({"--resume", "--overwrite"})
"""Flags the command that continues a run leaves out: it says ``--resume`` first itself."""


def _committed(result: Any) -> str:
    """``N records committed (M by this run)``: earlier runs of the journal included."""
    return f"{result.finished_total} records committed ({_this_run(result)} by this run)"


def _this_run(result: Any) -> int:
    """Records this run finished (written, filtered or failed)."""
    return int(result.done + result.failed + result.filtered)


_PROGRESS_BY_LOG_FORMAT: dict[str, Literal["auto", "rich", "json"]] = {
    "auto": "auto",
    "console": "rich",
    "json": "json",
}


def _print_summary(result: Any) -> None:
    from grasp_core.models.pricing import format_dollars
    from grasp_core.observe.report import print_metrics_tables

    rows = [
        ("written", result.done),
        ("failed", result.failed),
        ("filtered", result.filtered),
        ("finished earlier", result.previously_done),
        ("failed earlier", result.previously_failed),
        ("finished in all", f"{result.finished_total} ({_this_run(result)} by this run)"),
        ("seconds", f"{result.seconds:.2f}"),
    ]
    print(f"grasp run {result.task}")
    for label, value in rows:
        print(f"  {label:<17}{value}")
    totals = result.metrics.get("totals", {})
    pricing = result.metrics.get("pricing", {})
    if totals.get("model_calls"):
        tokens = f"{totals['prompt_tokens']:,} in, {totals['completion_tokens']:,} out"
        cost = format_dollars(totals["cost_usd"])
        if not pricing.get("mock"):
            print(f"  {'tokens':<17}{tokens}, cost {cost}")
        else:  # the mock bills nothing: what the calls would cost at the named models' prices
            routes = ", ".join(sorted(set(pricing.get("priced_as", {}).values())))
            estimate = f"estimated at {routes} prices: {cost}" if routes else "no price known"
            print(f"  {'tokens':<17}{tokens}")
            print(f"  {'cost':<17}{estimate} (mock run: nothing was billed)")
    for name, backend in result.metrics.get("backends", {}).items():
        print(
            f"  backend {name}: limit {backend['current_limit']}/{backend['max_concurrency']}, "
            f"{backend['rate_limited_429']} × 429, circuit opened {backend['circuit_opened']}×"
        )
    for path in result.output_paths:
        print(f"  output           {path}")
    for path in result.unfinished_outputs:
        print(f"  output           {path} (unfinished: --resume completes it)")
    curated = result.metrics.get("post_process", {})
    if curated.get("outputs") or curated.get("removed_report"):
        print(f"  post-process     kept {curated['kept']} of {curated['read']}")
        for path in [*curated["outputs"], curated["removed_report"], *curated["files"]]:
            print(f"    {path}")
        for step in curated.get("steps", []):
            if step.get("results", {}).get("headline"):
                print(f"    {step['step']}: {step['results']['headline']}")
    if result.failed:
        print(f"  failures         {result.failures_path}")
        for reason, count in sorted(result.failure_reasons.items(), key=lambda kv: -kv[1])[:5]:
            print(f"    {count} × {reason}")
    print(f"  summary          {result.summary_path}")
    provenance = result.summary_path.with_name(
        result.summary_path.name.removesuffix(".summary.json") + ".provenance.json"
    )
    if provenance.is_file():
        print(f"  provenance       {provenance}")
    if result.metrics_path is not None:
        print(f"  metrics          {result.metrics_path}")
    sys.stdout.flush()
    print_metrics_tables(result.metrics, sys.stdout)
